r"""DS, the differentiable simulator (Madeka et al. 2022; Alvo, Russo & Kanoria 2023).

Unroll the inventory dynamics in torch for a batch :math:`\mathcal B` of demand trajectories,
with the policy's orders inside the graph, and descend the *whole trajectory's* average cost
by backpropagation (the pathwise gradient):

.. math:: J(\theta) = \frac{1}{|\mathcal B|\,|\mathcal T|}\sum_{i \in \mathcal B}
   \sum_{t\in\mathcal T} c_t\bigl(x_t, q_t = \pi_\theta(o_t); D_{i,t}\bigr).

The dynamics are :meth:`InventorySystem.step`'s, written with torch operations, the serving
of demand and its cost in :func:`torch_serve_demand` (the torch copy of
:func:`~deepstock_lite.core.simulator.serve_demand`; :func:`ds_rollout` is tested against the
numpy simulator period by period): the costs are
piecewise linear in the orders, so the gradient exists almost everywhere. It is exactly zero
at some kinks: an order-up-to order clamped at zero (target below the position), the stock
left after a lost-sales stock-out, rounded orders. ``DSConfig(surrogate=...)`` replaces only
the *backward* pass there (leaky or straight-through); the simulated cost stays exact. The
policy's output is decoded by the same :class:`~deepstock_lite.core.decoding.Regularization` as
the RL methods use, inside the differentiated forward pass. Training follows the paper: an
MLP with ELU activations, batches of a few trajectories, Adam, ``ReduceLROnPlateau`` on the
validation cost, and early stopping that keeps the best validation model (Chapter 9's
Algorithm DS names the steps of :func:`train_ds`).
"""
# Longer than 400 lines: DS whole (config, policy, the differentiable rollout, the
# training loop) in one file read top to bottom, as each RL algorithm is.
from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from ..core.simulator import InventorySystem
from ..core.validation import (MAX_COUNT, MAX_QUANTITY, check_array, check_bool, check_demand,
                               check_int, check_real)
from ..core.decoding import (SURROGATES, Regularization, check_surrogate, initial_bias_logit,
                           relu_surrogate)
from ..rl.evaluation import KeepBest, TrainingDivergedError, TrainingResult, check_parameters
from ..rl.networks import MAX_OBS_DIM, MAX_WIDTH, mlp

__all__ = ["DSConfig", "DSPolicy", "ds_rollout", "train_ds", "SURROGATES",
           "config_dict", "round_surrogate", "torch_serve_demand"]


@dataclass
class DSConfig:
    """Every hyperparameter of DS training (validated on creation)."""
    hidden: tuple = (64, 64)
    lr: float = 3e-3
    batch_size: int = 10          # trajectories per gradient step
    epochs: int = 300
    patience: int = 40            # epochs without validation improvement before stopping
    lr_factor: float = 0.5        # ReduceLROnPlateau
    lr_patience: int = 10
    grad_clip: float = 10.0
    initial_bias: float = 0.5     # untrained output at this fraction of its range
    seed: int = 0
    # backward pass of the kinks (order clamp, lost sales): "exact", "leaky" or
    # "straight-through"; the simulated cost (forward pass) is exact in every case
    surrogate: str = "exact"
    leak: float = 0.1             # slope of the "leaky" gradient below a kink
    integer_orders: bool = False  # round the orders inside the simulated (forward) pass

    def __post_init__(self):
        self.hidden = _check_hidden(self.hidden)
        check_real("lr", self.lr, low=0.0, low_open=True)
        check_int("batch_size", self.batch_size, low=1)
        check_int("epochs", self.epochs, low=1)
        check_int("patience", self.patience, low=1)
        check_real("lr_factor", self.lr_factor, low=0.0, high=1.0, low_open=True, high_open=True)
        check_int("lr_patience", self.lr_patience, low=0)
        check_real("grad_clip", self.grad_clip, low=0.0, low_open=True)
        check_real("initial_bias", self.initial_bias, low=0.0, high=1.0, low_open=True,
                   high_open=True)
        check_int("seed", self.seed, low=0)
        self.surrogate, self.leak = check_surrogate(self.surrogate, self.leak)
        self.integer_orders = check_bool("integer_orders", self.integer_orders)


def _check_hidden(hidden):
    """Layer widths: a sequence (tuple, list, 1-D array) of integers in [1, MAX_WIDTH]."""
    if isinstance(hidden, np.ndarray) and hidden.ndim == 1:
        hidden = hidden.tolist()
    if isinstance(hidden, (str, bytes, dict, set, np.ndarray)) \
            or not hasattr(hidden, "__iter__"):
        raise TypeError(f"hidden must be a sequence of layer widths (integers in "
                        f"[1, {MAX_WIDTH}]), got {type(hidden).__name__}")
    return tuple(check_int("hidden", h, low=1, high=MAX_WIDTH) for h in hidden)


def _obs_vector(name, value, obs_dim):
    """A positive (``obs_scale``) or any finite (``obs_shift``) scalar or ``obs_dim`` vector."""
    if torch.is_tensor(value):
        value = value.detach().cpu().numpy()
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a number or an array of {obs_dim} numbers, got "
                        f"{type(value).__name__}")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as e:
        raise TypeError(f"{name} must be a number or an array of {obs_dim} numbers ({e})") \
            from None
    if arr.ndim == 0:
        arr = check_array(name, arr.reshape(1)).reshape(())
    else:
        arr = check_array(name, arr, ndim=1)
        if arr.shape != (obs_dim,):
            raise ValueError(f"{name} must be a number or an array of {obs_dim} numbers "
                             f"(one per observation column), got shape {arr.shape}")
    if name == "obs_scale" and np.any(arr <= 0):
        raise ValueError(f"obs_scale must be positive (> 0), got minimum {arr.min()}")
    return torch.as_tensor(arr, dtype=torch.float32)


def round_surrogate(q, surrogate="exact"):
    r"""Round orders to integers. The exact derivative of rounding is zero almost everywhere;
    every other ``surrogate`` passes the gradient straight through (derivative 1)."""
    if not torch.is_tensor(q):
        raise TypeError(f"q must be a torch tensor, got {type(q).__name__}")
    surrogate, _ = check_surrogate(surrogate, 0.1)
    if surrogate == "exact":
        return torch.round(q)
    return q + (torch.round(q) - q).detach()


class DSPolicy(nn.Module):
    """MLP (ELU) → sigmoid outputs ``u ∈ [0,1]^k`` → ``regularization(u, obs)`` = order.

    The network sees ``(obs − obs_shift) / obs_scale`` (inventory levels are tens to hundreds
    of units, features have their own scales); the decoder sees the raw observation.
    ``surrogate``/``leak`` choose the backward pass of the decoding's clamp (the orders are the
    same with every choice; see :func:`~deepstock_lite.core.decoding.relu_surrogate`);
    ``integer_orders`` rounds the orders (:func:`round_surrogate`).
    """

    def __init__(self, obs_dim, regularization, hidden=(64, 64), obs_scale=1.0,
                 initial_bias=0.5, obs_shift=0.0, surrogate="exact", leak=0.1,
                 integer_orders=False):
        super().__init__()
        obs_dim = check_int("obs_dim", obs_dim, low=1, high=MAX_OBS_DIM)
        if not isinstance(regularization, Regularization):
            raise TypeError(f"regularization must be a Regularization, got "
                            f"{type(regularization).__name__}")
        hidden = _check_hidden(hidden)
        if hidden and obs_dim * hidden[0] > MAX_COUNT:
            raise ValueError(f"obs_dim * hidden[0] (first-layer weights) must be at most "
                             f"{MAX_COUNT}, got obs_dim={obs_dim}, hidden={hidden}")
        initial_bias = check_real("initial_bias", initial_bias, low=0.0, high=1.0,
                                  low_open=True, high_open=True)
        self.surrogate, self.leak = check_surrogate(surrogate, leak)
        self.integer_orders = check_bool("integer_orders", integer_orders)
        self.reg = regularization
        self.obs_dim = obs_dim
        self.net = mlp(obs_dim, regularization.n_outputs, hidden, activation="elu",
                       out_gain=0.01)
        with torch.no_grad():
            self.net[-1].bias.fill_(initial_bias_logit(initial_bias))
        self.register_buffer("obs_scale", _obs_vector("obs_scale", obs_scale, obs_dim))
        self.register_buffer("obs_shift", _obs_vector("obs_shift", obs_shift, obs_dim))

    def forward(self, obs):
        if not torch.is_tensor(obs):
            raise TypeError(f"obs must be a torch tensor, got {type(obs).__name__} "
                            "(use act_numpy for numpy arrays)")
        if obs.ndim < 1 or obs.shape[-1] != self.obs_dim:
            raise ValueError(f"obs must have {self.obs_dim} columns in its last axis, got "
                             f"shape {tuple(obs.shape)}")
        u = torch.sigmoid(self.net((obs - self.obs_shift) / self.obs_scale))
        q = self.reg(u, obs, self.surrogate, self.leak)
        return round_surrogate(q, self.surrogate) if self.integer_orders else q

    @torch.no_grad()
    def act_numpy(self, obs):
        """Orders for a numpy batch of observations (for the environments)."""
        obs = check_array("obs", obs)
        return self(torch.as_tensor(obs, dtype=torch.float32)).numpy().astype(float)


def torch_serve_demand(x0, demand, *, h, b, backlog, surrogate="exact", leak=0.1):
    r""":func:`~deepstock_lite.core.simulator.serve_demand` in torch, differentiable: serve
    ``demand`` from the net inventory ``x0`` and return ``(end, cost)``, the end-of-period net
    inventory and cost (DS needs no sales or unmet demand, so they are not computed).

    Lost sales: sales :math:`\min(D, x_0^+)`, the numpy operations one for one (equal bit for
    bit in float64). ``surrogate``/``leak`` choose the backward pass of that clamp (see
    :func:`~deepstock_lite.core.decoding.relu_surrogate`); the forward value is the same.
    Backlog: the cost is written :math:`h\,\text{end}^+ + b\,(-\text{end})^+`, the same cost as
    numpy's :math:`(h+b)\,\text{end}^+ - b\,\text{end}` up to rounding (equal on integer
    quantities); DS has always computed it so, and its training results are kept bit for bit.
    """
    if backlog:
        end = x0 - demand
        return end, h * end.clamp(min=0) + b * (-end).clamp(min=0)
    if surrogate == "exact":
        sales = torch.minimum(demand, x0.clamp(min=0))
    else:
        # the same values: min(D, x) = x - (x - D)^+ for x >= 0, with a surrogate gradient
        # where the exact one is cut (a stock-out forgets the past stock)
        stock = relu_surrogate(x0, surrogate, leak)
        sales = stock - relu_surrogate(stock - demand, surrogate, leak)
    end = x0 - sales
    return end, h * end + b * (demand - sales)


def ds_rollout(policy, system, demand, *, features=None, n_history=0, on_hand=0.0, warmup=0,
               surrogate="exact", leak=0.1):
    r"""Simulate ``system`` in torch under ``policy`` (a callable ``obs -> orders``).

    ``demand``: tensor ``(B, T)``; ``features``: optional tensor ``(B, T, F)`` appended to the
    observation of period ``t``. The observation is the environments' layout
    ``[on_hand, pipeline (L−1), last n_history demands, features]``. No order is placed in the
    first ``warmup`` periods. Returns the per-period cost tensor ``(B, T)`` (differentiable).

    Under lost sales the end-of-period stock is :math:`(x - D)^+` with :math:`x \ge 0` the
    stock on hand, i.e. sales :math:`\min(D, x)`; ``surrogate``/``leak`` choose the backward
    pass of that clamp (the forward value is exact; see :func:`torch_serve_demand` and
    :func:`~deepstock_lite.core.decoding.relu_surrogate`). The policy's own decoding clamp is
    the policy's business (:class:`DSPolicy` takes the same arguments).
    """
    if not isinstance(system, InventorySystem):
        raise TypeError(f"system must be an InventorySystem, got {type(system).__name__}")
    if not callable(policy):
        raise TypeError(f"policy must be callable (obs -> orders), got {type(policy).__name__}")
    if not torch.is_tensor(demand) or demand.ndim != 2 or demand.numel() == 0:
        raise ValueError("demand must be a non-empty 2-D torch tensor (trajectories, periods)")
    if not torch.is_floating_point(demand):
        raise TypeError(f"demand must be a floating-point tensor, got {demand.dtype}")
    B, T = demand.shape
    if features is not None:
        if not torch.is_tensor(features) or features.ndim != 3 \
                or tuple(features.shape[:2]) != (B, T):
            raise ValueError(f"features must be a torch tensor of shape ({B}, {T}, F) "
                             "matching demand")
    n_history = check_int("n_history", n_history, low=0, high=MAX_OBS_DIM)
    on_hand = check_real("on_hand", on_hand, low=-MAX_QUANTITY, high=MAX_QUANTITY)
    warmup = check_int("warmup", warmup, low=0)
    surrogate, leak = check_surrogate(surrogate, leak)
    L, h, b = system.L, system.h, system.b
    x0 = torch.full((B,), float(on_hand), dtype=demand.dtype)
    pipe = [torch.zeros(B, dtype=demand.dtype) for _ in range(L)]  # slot k: arrives t+1+k
    zeros = torch.zeros(B, dtype=demand.dtype)
    costs = []
    for t in range(T):
        q = zeros
        if t >= warmup and system.is_review(t):
            parts = [x0[:, None]] + [p[:, None] for p in pipe[:max(L - 1, 0)]]
            if n_history:
                hist = demand[:, max(t - n_history, 0):t]
                pad = torch.zeros(B, n_history - hist.shape[1], dtype=demand.dtype)
                parts.append(torch.cat([pad, hist], 1))
            if features is not None:
                parts.append(features[:, t])
            q = policy(torch.cat(parts, 1))
        if L == 0:
            x0 = x0 + q
        else:
            pipe[L - 1] = q
        end, cost = torch_serve_demand(x0, demand[:, t], h=h, b=b, backlog=system.backlog,
                                       surrogate=surrogate, leak=leak)
        if system.c:
            cost = cost + system.c * q
        if system.K:
            cost = cost + system.K * (q > 0).to(cost.dtype)  # no gradient through a jump
        costs.append(cost)
        if L > 0:
            x0 = end + pipe[0]
            pipe = pipe[1:] + [zeros]
        else:
            x0 = end
    return torch.stack(costs, 1)


#: what a diverged DS training should change
_DS_REMEDY = "Lower the learning rate (DSConfig.lr) or the gradient clip (DSConfig.grad_clip)."


def train_ds(system, regularization, train, val, *, config=None, features=None,
             n_history=0, on_hand=0.0, warmup=0, cost_start=0, obs_scale=None, verbose=False):
    """Train a :class:`DSPolicy` by backpropagating the average cost of periods
    ``cost_start…T−1`` through :func:`ds_rollout` (the book's Algorithm DS, Chapter 9).

    ``train``/``val``: demand arrays ``(n, T)``; ``features``: optional dict with ``"train"`` and
    ``"val"`` arrays ``(n, T, F)``. Returns a :class:`~deepstock_lite.rl.TrainingResult`
    holding the best validation policy (``best_step``: its epoch): the first epoch whose
    validation cost beats the best so far by more than 1e-9 is kept, and training stops after
    ``config.patience`` epochs in a row without one. Training stops with
    :class:`~deepstock_lite.rl.TrainingDivergedError` if the loss or a parameter becomes
    NaN/inf.
    """
    config, n_history, on_hand, warmup, verbose = _check_train_arguments(
        system, regularization, config, n_history, on_hand, warmup, verbose)
    Dtr, Dva, Ftr, Fva, cost_start = _check_train_data(train, val, features, warmup, cost_start)
    obs_dim, obs_shift, obs_scale = _observation_scaling(system, n_history, Dtr, Ftr, obs_scale)
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    policy = DSPolicy(obs_dim, regularization, config.hidden, obs_scale, config.initial_bias,
                      obs_shift, surrogate=config.surrogate, leak=config.leak,
                      integer_orders=config.integer_orders)
    opt = torch.optim.Adam(policy.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=config.lr_factor,
                                                       patience=config.lr_patience)
    kw = dict(n_history=n_history, on_hand=on_hand, warmup=warmup,
              surrogate=config.surrogate, leak=config.leak)

    def loss_on(D, F):
        return ds_rollout(policy, system, D, features=F, **kw)[:, cost_start:].mean()

    def batch_loss(idx):
        return loss_on(Dtr[idx], None if Ftr is None else Ftr[idx])

    def snapshot():
        return copy.deepcopy(policy.state_dict())

    no_order = (f"no order placed from period warmup={warmup} on reaches the costs counted "
                f"from cost_start={cost_start} within T={Dtr.shape[1]} periods (lead time "
                f"L={system.L}): lower warmup or cost_start")
    history, stopped_early = [], False
    keep = KeepBest(config.patience, min_delta=1e-9)
    keep.offer(math.inf, -1, snapshot)   # the untrained policy, until an epoch beats it
    for epoch in range(config.epochs):
        batches = torch.randperm(Dtr.shape[0], generator=gen).split(config.batch_size)
        train_loss = _train_epoch(policy, opt, batch_loss, batches, config.grad_clip, epoch,
                                  no_order)
        check_parameters("DS", f"epoch {epoch}", {"": policy}, _DS_REMEDY)
        with torch.no_grad():
            v = loss_on(Dva, Fva).item()
        sched.step(v)
        history.append({"epoch": epoch, "train": train_loss, "val": v,
                               "lr": opt.param_groups[0]["lr"]})
        keep.offer(v, epoch, snapshot)
        if keep.stop:
            stopped_early = True
            break
        if verbose and epoch % 20 == 0:
            print(f"epoch {epoch:4d}  train {train_loss:.4f}  val {v:.4f}")
    policy.load_state_dict(keep.best["state"])
    return TrainingResult.from_keep(policy, history, keep, stopped_early)


def _train_epoch(policy, opt, batch_loss, batches, grad_clip, epoch, no_order):
    """One pass over the training ``batches`` (index tensors): a clipped Adam step on each
    ``batch_loss(idx)``. Returns the mean loss."""
    losses = []
    for batch, idx in enumerate(batches):
        loss = batch_loss(idx)
        if not loss.requires_grad:
            raise ValueError(no_order)
        if not torch.isfinite(loss):
            raise TrainingDivergedError(f"DS training diverged at epoch {epoch}, batch {batch}: "
                                        f"the loss is {loss.item()}. {_DS_REMEDY}")
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(policy.parameters(), grad_clip)
        opt.step()
        losses.append(loss.item())
    return float(np.mean(losses))


def _check_train_arguments(system, regularization, config, n_history, on_hand, warmup,
                           verbose):
    """:func:`train_ds`'s arguments other than the data, checked (``config``: default)."""
    if not isinstance(system, InventorySystem):
        raise TypeError(f"system must be an InventorySystem, got {type(system).__name__}")
    if not isinstance(regularization, Regularization):
        raise TypeError(f"regularization must be a Regularization, got "
                        f"{type(regularization).__name__}")
    config = DSConfig() if config is None else config
    if not isinstance(config, DSConfig):
        raise TypeError(f"config must be a DSConfig, got {type(config).__name__}")
    return (config, check_int("n_history", n_history, low=0, high=MAX_OBS_DIM),
            check_real("on_hand", on_hand, low=-MAX_QUANTITY, high=MAX_QUANTITY),
            check_int("warmup", warmup, low=0), check_bool("verbose", verbose))


def _check_train_data(train, val, features, warmup, cost_start):
    """:func:`train_ds`'s demand (and feature) arrays as float32 tensors ``Dtr, Dva, Ftr,
    Fva`` (features ``None`` if absent), and ``cost_start`` checked against their horizon."""
    Dtr = torch.as_tensor(check_demand("train", train), dtype=torch.float32)
    Dva = torch.as_tensor(check_demand("val", val), dtype=torch.float32)
    T = Dtr.shape[1]
    if Dva.shape[1] != T:
        raise ValueError(f"val must have {T} periods like train, got {Dva.shape[1]}")
    if warmup > T - 1:
        raise ValueError(f"warmup must be in [0, {T - 1}] (T - 1: at least one order is "
                         f"placed), got {warmup}")
    cost_start = check_int("cost_start", cost_start, low=0, high=T - 1)
    if features is None:
        return Dtr, Dva, None, None, cost_start
    if not isinstance(features, dict) or not {"train", "val"} <= set(features):
        raise TypeError("features must be a dict with 'train' and 'val' arrays (n, T, F)")
    Ftr = torch.as_tensor(check_array("features['train']", features["train"], ndim=3),
                          dtype=torch.float32)
    Fva = torch.as_tensor(check_array("features['val']", features["val"], ndim=3),
                          dtype=torch.float32)
    if Ftr.shape[:2] != Dtr.shape or Fva.shape[:2] != Dva.shape \
            or Ftr.shape[2] != Fva.shape[2]:
        raise ValueError("features must have shape (n, T, F) matching the demand arrays")
    return Dtr, Dva, Ftr, Fva, cost_start


def _observation_scaling(system, n_history, Dtr, Ftr, obs_scale):
    """``(obs_dim, obs_shift, obs_scale)`` of the policy's observations (inventory, demand
    history, then features). ``obs_scale=None`` scales the inventory and demand history by the
    mean training demand over the protection interval ``L + P``, and standardizes the features
    with their training mean and standard deviation."""
    n_inv = 1 + max(system.L - 1, 0) + n_history
    obs_dim = n_inv + (0 if Ftr is None else Ftr.shape[2])
    obs_shift = torch.zeros(obs_dim)
    if obs_scale is None:
        obs_scale = torch.full((obs_dim,), float(Dtr.mean()) * (system.L + system.P) + 1e-6)
        if Ftr is not None:
            flat = Ftr.reshape(-1, Ftr.shape[2])
            obs_shift[n_inv:] = flat.mean(0)
            obs_scale[n_inv:] = flat.std(0) + 1e-6
    return obs_dim, obs_shift, obs_scale


def config_dict(config):
    """Plain-type view of a config (for results files)."""
    if not isinstance(config, DSConfig):
        raise TypeError(f"config must be a DSConfig, got {type(config).__name__}")
    d = asdict(config)
    d["hidden"] = list(d["hidden"])
    return d
