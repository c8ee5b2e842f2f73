r"""Action decoding: how the actor's output becomes an order, in one place.

The seam between an algorithm and the inventory structure: every agent calls
``decoder(a, obs) -> q`` on *raw* (unnormalized) observations, and learns over :math:`a`; the
critic never sees :math:`q`. DeepStock's policy regularizations (None / Base / Coeff / Both,
Xie et al. 2026) are decoders, so they plug into DDPG, PPO, distributional SAC and the
differentiable simulator without touching an algorithm.

* :class:`IdentityDecoder` (DeepStock's *None*): :math:`q = a`.
* :class:`BaseStockDecoder` (DeepStock's *Base*): :math:`q = \max(a - \mathrm{tot}(I), 0)`, the
  output is a target inventory position and
  :math:`\mathrm{tot}(I) = x_0 + \sum_{l=1}^{L-1} x_l` = ``obs[..., 0] + obs[..., 1:L].sum(-1)``.
* :class:`Regularization`: the four DeepStock decodings of a network output
  :math:`u \in [0, 1]^k` (a sigmoid head):

  - ``"none"``:  :math:`q = u\,q_{\max}`, the network outputs the order;
  - ``"base"``:  :math:`q = (u\,y_{\max} - \mathrm{tot}(I))^+`, the network outputs a target
    inventory position :math:`y`; every order :math:`q \ge 0` is still reachable (take
    :math:`y = \mathrm{tot}(I) + q`), so the policy class is re-shaped, not restricted;
  - ``"coeff"``: :math:`q = M\sum_i u_i f_i + u_0 B` with coefficients
    :math:`u_i \in [0,1]` (the components of :math:`u`, the last one the bias's :math:`u_0`),
    demand features :math:`f_i` (per-period rates) read from the observation, :math:`M` days
    of cover (28 in the authors' code) and :math:`B` the bias scale (the largest bias, in
    units);
  - ``"both"``:  :math:`q = (M\sum_i u_i f_i + u_0 B - \mathrm{tot}(I))^+`.

A decoder is any callable with that signature; to be saved in a checkpoint it also needs
``to_dict()`` returning plain types, which :func:`make_decoder` (the one factory: a kind
name, a saved description or a built decoder) rebuilds.

A decoder may instead declare ``unit_actions = True`` and ``n_outputs = k``: the agent then
gives it :math:`u \in [0, 1]^k` of shape ``(n, k)`` (its actor has ``k`` outputs). That is how
:class:`Regularization` plugs into the RL agents.

Decoders work on numpy arrays and on torch tensors. For the differentiable simulator the
clamp :math:`(\cdot)^+` of the order-up-to decoding may use a *surrogate gradient*
(:func:`relu_surrogate`): the forward value is exact, only the backward pass differs.

This is the one home of every decoding, in the package's lowest layer, so that the
environments' wrappers, the agents, the differentiable simulator and the retail code all use
it without an import running up the layers. It imports no torch: torch is needed only for
tensor inputs, which exist only once torch is loaded (see ``torch`` below).
"""
# Longer than 400 lines: every decoding (None, Base, Coeff, Both, and Part II's identity
# and base-stock decoders) has this one home, by design; the file is their whole definition.
from __future__ import annotations

import sys

import numpy as np

from .validation import check_int, check_name, check_real


class _TorchOnUse:
    """``torch`` for this module without importing it here: ``torch.is_tensor(x)`` is false
    while torch is not loaded (nothing can be a tensor then); any other ``torch.<name>`` is
    reached only for tensor inputs, so torch is already loaded and this returns its
    attribute."""

    @staticmethod
    def is_tensor(x):
        torch = sys.modules.get("torch")
        return torch is not None and torch.is_tensor(x)

    def __getattr__(self, name):
        import torch
        return getattr(torch, name)


torch = _TorchOnUse()

__all__ = ["IdentityDecoder", "BaseStockDecoder", "Regularization", "KINDS", "SURROGATES",
           "make_decoder", "register_decoder", "inventory_position", "order_up_to",
           "relu_surrogate", "initial_bias_logit"]

KINDS = ("none", "base", "coeff", "both")
SURROGATES = ("exact", "leaky", "straight-through")


def check_surrogate(surrogate, leak):
    """Validate a surrogate-gradient choice; returns ``(surrogate, leak)``."""
    surrogate = check_name("surrogate", surrogate, SURROGATES)
    leak = check_real("leak", leak, low=0.0, high=1.0, low_open=True)
    return surrogate, leak


def relu_surrogate(x, surrogate="exact", leak=0.1):
    r""":math:`x^+ = \max(x, 0)` whose *backward* pass may differ from the exact one.

    The forward value is always exactly ``max(x, 0)``. The derivative is
    :math:`\mathbb 1[x > 0] + s\,\mathbb 1[x \le 0]` with ``s = 0`` for ``"exact"``,
    ``s = leak`` for ``"leaky"`` and ``s = 1`` for ``"straight-through"``: where the exact
    gradient vanishes (an order clamped at zero, sales capped by demand) a surrogate still
    tells the parameters which way the cost would move. Numpy inputs are clamped (no gradient).
    """
    if not torch.is_tensor(x):
        return np.maximum(np.asarray(x, np.float64), 0.0)
    if surrogate == "exact":
        return torch.clamp(x, min=0.0)
    s = 1.0 if surrogate == "straight-through" else float(leak)
    if s == 0.0:
        return torch.clamp(x, min=0.0)
    # below the kink: value s*x - s*x = 0 exactly, derivative s
    sx = s * x
    return torch.where(x > 0, x, sx - sx.detach())


def inventory_position(obs, L):
    """``on_hand + sum(pipeline)`` from raw observations ``[..., on_hand, pipeline(L-1), …]``."""
    L = check_int("L", L, low=0)
    m = max(L - 1, 0)
    if not torch.is_tensor(obs):
        if isinstance(obs, (str, bytes)) or obs is None:
            raise TypeError(f"obs must be an array of observations, got {type(obs).__name__}")
        try:
            obs = np.asarray(obs, np.float64)
        except (ValueError, TypeError) as e:
            raise TypeError(f"obs must be a rectangular array of numbers ({e})") from None
    if obs.ndim < 1 or obs.shape[-1] < 1 + m:
        raise ValueError(f"obs must have at least {1 + m} columns (on-hand and L-1 = {m} "
                         f"pipeline values) in its last axis, got shape {tuple(obs.shape)}")
    position = _position(obs, m)
    if not torch.is_tensor(position) and not np.all(np.isfinite(position)):
        raise ValueError(f"obs must be finite (no NaN or inf, no overflow) in its first "
                         f"{1 + m} columns (on-hand and pipeline)")
    return position


def _position(obs, m):
    """The inventory position, unchecked: on hand plus the ``m = L - 1`` pipeline values."""
    return obs[..., 0] + _sum_last(obs[..., 1:1 + m])


def _sum_last(x):
    """``x.sum(-1)``, bit for bit, faster on a float64 array of one or two columns: numpy
    adds a short axis one value after the other, starting from 0.0 (so -0.0 sums to 0.0), and
    on thousands of rows its reduction costs more than those additions (tensors: ``sum``)."""
    if torch.is_tensor(x) or x.dtype != np.float64 or x.shape[-1] > 2:
        return x.sum(-1)
    total = np.zeros(x.shape[:-1])
    for j in range(x.shape[-1]):
        total += x[..., j]
    return total


def _check_finite(name, x, what):
    """Numbers and numpy arrays must be finite (one vectorized check per call). Torch tensors
    pass unchecked: they come from the networks and the differentiable simulator, where a
    check would synchronize the device on every step."""
    if torch.is_tensor(x):
        return
    try:
        ok = bool(np.isfinite(x).all())
    except (TypeError, ValueError):
        raise TypeError(f"{name} ({what}) must be numbers (a float, a numpy array or a torch "
                        f"tensor), got {type(x).__name__}") from None
    if not ok:
        raise ValueError(f"{name} ({what}) must be finite (no NaN or inf)")


def _check_order(q, names):
    """The decoded order of numpy inputs must be finite (inputs too large overflow)."""
    if not torch.is_tensor(q) and not np.isfinite(q).all():
        raise ValueError(f"{names} give a non-finite order (NaN or inf): obs must be finite "
                         f"and both small enough that the order does not overflow")
    return q


def order_up_to(target, position, surrogate="exact", leak=0.1):
    r"""The base-stock decoding :math:`q = (y - \mathrm{tot}(I))^+` (numpy or torch).

    ``surrogate``/``leak``: the backward pass of the clamp (see :func:`relu_surrogate`)."""
    if torch.is_tensor(target) or torch.is_tensor(position):
        return relu_surrogate(target - position, surrogate, leak)
    return np.maximum(np.asarray(target, np.float64) - position, 0.0)


def _row_sum(values):
    """``np.sum`` of a list of floats, bit for bit, without numpy for short lists: numpy adds
    fewer than 8 terms one after the other to 0.0 (so that -0.0 + -0.0 sums to 0.0), and
    longer rows pairwise (those are left to numpy)."""
    if len(values) >= 8:
        return float(np.sum(np.array(values, np.float64)))
    s = 0.0
    for v in values:
        s += v
    return s


def initial_bias_logit(fraction):
    """Bias of a sigmoid output unit so that an untrained network starts at ``fraction`` of
    its range (the paper's *initial action bias*, searched in [0.2, 0.7])."""
    f = check_real("fraction", fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    return float(np.log(f / (1.0 - f)))


class IdentityDecoder:
    """Order what the actor outputs: ``q = a``."""

    name = "identity"

    def __call__(self, a, obs):
        _check_finite("a", a, "the actor's output")
        return a

    def to_dict(self):
        return {"name": self.name}

    def __repr__(self):
        return "IdentityDecoder()"


class BaseStockDecoder:
    """Order up to the actor's output: ``q = max(a - position(obs), 0)`` (lead time ``L``)."""

    name = "base"

    def __init__(self, L):
        self.L = check_int("L", L, low=0)

    def __call__(self, a, obs):
        _check_finite("a", a, "the target inventory position")
        position = inventory_position(obs, self.L)
        try:
            q = order_up_to(a, position)
        except ValueError as e:  # numpy shapes that do not broadcast
            raise ValueError(f"a must be a number or match the inventory positions of obs, "
                             f"shape {tuple(position.shape)}, got shape {np.shape(a)} "
                             f"({e})") from None
        return _check_order(q, "a and obs")

    def to_dict(self):
        return {"name": self.name, "L": self.L}

    def __repr__(self):
        return f"BaseStockDecoder(L={self.L})"


class Regularization:
    r"""One of DeepStock's four decodings (see the module docstring).

    Parameters
    ----------
    kind : ``"none"``, ``"base"``, ``"coeff"`` or ``"both"``.
    L : lead time, to read the inventory position from the observation.
    a_max : the top of the decoded range, :math:`a = a_{\max} u`: the largest order
        (:math:`q_{\max}`) for ``none``, the largest target (:math:`y_{\max}`) for ``base``;
        the same name as the RL agents' raw-action range.
    feature_index : for ``coeff``/``both``, the observation columns holding the demand
        features :math:`f_i` (per-period demand rates).
    days : days of cover :math:`M` multiplying the coefficients (28 in the paper's code).
    bias_scale : :math:`B`, the largest bias term (units).
    """

    def __init__(self, kind, L=0, a_max=None, feature_index=(), days=28.0, bias_scale=0.0):
        self.kind = check_name("kind", kind, KINDS)
        self.L = check_int("L", L, low=0)
        if isinstance(feature_index, (str, bytes)) or not hasattr(feature_index, "__iter__"):
            raise TypeError(f"feature_index must be a sequence of column indices, got "
                            f"{type(feature_index).__name__}")
        self.feature_index = tuple(check_int("feature_index", i, low=0) for i in feature_index)
        self.days = check_real("days", days, low=0.0, low_open=True)
        self.bias_scale = check_real("bias_scale", bias_scale, low=0.0)
        if kind in ("none", "base"):
            if a_max is None:
                raise ValueError(f"a_max (the largest {'order' if kind == 'none' else 'target'})"
                                 f" is required for kind={kind!r}")
            self.a_max = check_real("a_max", a_max, low=0.0, low_open=True)
        else:
            self.a_max = None
            if not self.feature_index:
                raise ValueError(f"feature_index must name at least one feature for {kind!r}")
        first_free = 1 + max(self.L - 1, 0)
        if any(i < first_free for i in self.feature_index):
            raise ValueError(f"feature_index must point past the inventory columns "
                             f"(>= {first_free}), got {self.feature_index}")

    # the RL agents hand a Regularization u in [0, 1]^k
    unit_actions = True

    @property
    def n_outputs(self):
        """Width of the network's output :math:`u`."""
        return 1 if self.kind in ("none", "base") else len(self.feature_index) + 1

    @property
    def n_columns(self):
        """How many observation columns the decoding reads (on hand, pipeline, features)."""
        return max(self.feature_index + (max(self.L - 1, 0),)) + 1

    def _check_inputs(self, u, obs):
        for name, v in (("u", u), ("obs", obs)):
            if not (torch.is_tensor(v) or isinstance(v, np.ndarray)):
                raise TypeError(f"{name} must be a numpy array or a torch tensor, got "
                                f"{type(v).__name__}")
        if u.ndim < 1 or u.shape[-1] != self.n_outputs:
            raise ValueError(f"u must have {self.n_outputs} value(s) in its last axis for "
                             f"kind={self.kind!r}, got shape {tuple(u.shape)}")
        need = self.n_columns
        if obs.ndim < 1 or obs.shape[-1] < need:
            raise ValueError(f"obs must have at least {need} columns in its last axis, got "
                             f"shape {tuple(obs.shape)}")
        _check_finite("u", u, "the network's output")

    def target(self, u, obs, check=True):
        """The target position (Base, Both) or the order itself (None, Coeff); ``check=False``
        skips the checks of the inputs (:meth:`order_array`)."""
        if check:
            self._check_inputs(u, obs)
        if self.kind in ("none", "base"):
            return u[..., 0] * self.a_max
        f = obs[..., list(self.feature_index)]
        return self.days * (u[..., :-1] * f).sum(-1) + self.bias_scale * u[..., -1]

    def __call__(self, u, obs, surrogate="exact", leak=0.1):
        r"""Order :math:`q \ge 0` for outputs ``u`` (``(..., n_outputs)``) and raw
        ``obs``. ``surrogate``/``leak``: the backward pass of the clamp
        (:func:`relu_surrogate`; torch only, the value is the same)."""
        y = self.target(u, obs)
        if self.kind in ("base", "both"):
            y = order_up_to(y, inventory_position(obs, self.L), surrogate, leak)
        return _check_order(y, "u and obs")

    def order_array(self, u, obs):
        """``__call__`` on numpy arrays without its checks: ``u`` float64 ``(..., n_outputs)``
        and ``obs`` float64 with at least ``n_columns`` columns.

        The vector environments' fast path (``RegularizedVectorAction``): the checks cost more
        than the decoding on small batches. The same operations as ``__call__`` (through the
        same :meth:`target` and :func:`order_up_to`), so the same bits; the caller checks
        that the inputs and the order are finite, where ``__call__`` would raise.
        """
        y = self.target(u, obs, check=False)
        if self.kind in ("base", "both"):
            y = order_up_to(y, _position(obs, max(self.L - 1, 0)))
        return y

    def order_one(self, u, obs):
        """The order of one SKU in plain Python floats: ``scalar_decoder()(u, obs)``."""
        return self.scalar_decoder()(u, obs)

    def scalar_decoder(self):
        """A function ``(u, obs) -> order`` of one SKU in plain Python floats: ``u`` a list of
        ``n_outputs`` floats in [0, 1], ``obs`` a list of at least ``n_columns`` floats.

        The single environment's fast path (``RegularizedAction``): numpy costs microseconds
        per call on arrays of one or two values, plain floats a fraction of that, and a
        function built once for this decoding skips the choices of kind and shape at every
        step. The result is bit-identical to ``__call__`` on the same arrays, because every
        operation is the one numpy performs, in the same order (sums through
        :func:`_row_sum`). No checks: the caller validates ``u``, and a non-finite result,
        where ``__call__`` raises, is returned as it is. Built from the decoding's present
        attributes (a later change of them is not seen).
        """
        a_max, days, bias = self.a_max, self.days, self.bias_scale
        fi = self.feature_index
        coefficients = self.kind in ("coeff", "both")
        one_feature = len(fi) == 1
        f0 = fi[0] if fi else None
        clamp = self.kind in ("base", "both")
        m = max(self.L - 1, 0)          # pipeline values in the position

        def order(u, obs):
            if not coefficients:
                y = u[0] * a_max
            elif one_feature:           # numpy's sums start from 0.0
                y = days * (0.0 + u[0] * obs[f0]) + bias * u[1]
            else:
                y = days * _row_sum([c * obs[i] for c, i in zip(u, fi)]) + bias * u[-1]
            if not clamp:
                return y
            # the position: on hand + numpy's sum of the m pipeline values (0.0 for none)
            position = obs[0] + (0.0 if m == 0 else 0.0 + obs[1] if m == 1
                                 else _row_sum(obs[1:1 + m]))
            d = y - position
            return 0.0 if d <= 0.0 else d    # np.maximum(d, 0.0), NaN included
        return order

    def to_dict(self):
        return {"name": "regularization", "kind": self.kind, "L": self.L, "a_max": self.a_max,
                "feature_index": list(self.feature_index), "days": self.days,
                "bias_scale": self.bias_scale}

    @classmethod
    def from_dict(cls, d):
        if not isinstance(d, dict):
            raise TypeError(f"d must be a dict from Regularization.to_dict(), got "
                            f"{type(d).__name__}")
        if "scale" in d and "a_max" not in d:    # written before a_max had this one name
            d = {**d, "a_max": d["scale"]}
        missing = {"kind", "L", "a_max", "feature_index", "days", "bias_scale"} - set(d)
        if missing:
            raise ValueError(f"d lacks the keys {sorted(missing)} of Regularization.to_dict()")
        return cls(d["kind"], d["L"], d["a_max"], d["feature_index"], d["days"],
                   d["bias_scale"])

    def __repr__(self):
        extra = f"a_max={self.a_max:g}" if self.a_max else f"features={self.feature_index}"
        return f"Regularization({self.kind!r}, L={self.L}, {extra})"


_REGISTRY = {"identity": lambda d: IdentityDecoder(),
             "base": lambda d: BaseStockDecoder(d["L"]),
             "regularization": Regularization.from_dict}


def register_decoder(name, rebuild):
    """Let :func:`make_decoder` rebuild the decoders saved (by their ``to_dict()``) under
    ``name``: ``rebuild(description) -> decoder``."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string, got {name!r}")
    if not callable(rebuild):
        raise TypeError(f"rebuild must be callable, got {type(rebuild).__name__}")
    _REGISTRY[name] = rebuild


def make_decoder(spec, **kwargs):
    """The one factory of decoders: ``spec`` is

    - a kind name (``"none"``, ``"base"``, ``"coeff"``, ``"both"``) with the keyword
      arguments of :class:`Regularization` (``L`` required);
    - a description saved by a decoder's ``to_dict()`` (a checkpoint's), rebuilt by the
      function registered under its ``"name"`` (:func:`register_decoder`);
    - a decoder already built (any callable ``(a, obs) -> order``), returned as it is.

    Keyword arguments go with a kind name only."""
    if isinstance(spec, str):
        check_name("regularization kind", spec, KINDS)
        return Regularization(spec, **kwargs)
    if kwargs:
        raise TypeError(f"keyword arguments {sorted(kwargs)} are only accepted with a kind "
                        f"name, not with a {type(spec).__name__}")
    if isinstance(spec, dict):
        if not isinstance(spec.get("name"), str) or spec["name"] not in _REGISTRY:
            raise ValueError(f"unknown decoder description {spec!r}; known: "
                             f"{sorted(_REGISTRY)} (pass decoder= when loading a checkpoint "
                             "with a custom decoder)")
        return _REGISTRY[spec["name"]](spec)
    if not callable(spec):
        raise TypeError(f"spec must be a kind name {KINDS}, a saved description (dict) or a "
                        f"decoder (a callable (a, obs) -> order), got {type(spec).__name__}")
    return spec
