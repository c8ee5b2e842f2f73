"""DeepStock on the catalogue: :class:`RetailEnv`'s dynamics in torch, differentiable in the
orders (:func:`retail_rollout_torch`), and :func:`train_ds_retail`, one policy for every SKU
trained by backpropagation through them."""
from __future__ import annotations

import copy
import math
import time

import numpy as np
import torch
from torch import nn

from ..core.validation import check_bool, check_int, check_real
from ..core.decoding import Regularization
from ..rl.evaluation import KeepBest, TrainingDivergedError, TrainingResult, check_parameters
from .differentiable_simulator import DSConfig, DSPolicy
from .retail_env import RING_DAYS, SHORT_WINDOW, LONG_WINDOW, RetailEnv, check_skus
from .retail_metrics import daily_cost
from .retail_policies import forecast_base_stock

__all__ = ["retail_rollout_torch", "train_ds_retail", "retail_ds_config", "RETAIL_DS_DEFAULTS",
           "observation_stats"]


def retail_rollout_torch(policy, env, skus=None, *, tau_units=0.5, tau_rel=0.1, relaxed=True,
                         dtype=torch.float32, return_trajectory=False):
    r""":class:`RetailEnv`'s dynamics in torch for ``skus`` (catalogue indices of ``env``'s
    pool; default all), differentiable in the policy's orders.

    ``policy`` maps the observation tensor (same layout and normalization as the env) to
    normalized orders ``(n,)``; orders are clipped to ``[0, q_max]`` days of cover and **not
    rounded**. Returns the per-SKU *surrogate* objective (the negated sum of the dense rewards)

    .. math:: \tilde J_i = \frac{1}{|\mathcal T|}\sum_{t\in\mathcal T}
              \bigl(100\,\tilde o_{it} + w\,e_{it}/\hat s_i\bigr),\qquad
              \tilde o_{it} = \sigma\!\Bigl(\frac{D_{it} - x_{it} + 1/2}{\tau_i}\Bigr),

    where :math:`x_{it}` is the on-hand stock before demand: the exact indicator
    :math:`1[e_{it} = 0] = 1[D_{it} \ge x_{it}]` is a step in the stock, with zero gradient; the
    sigmoid of width :math:`\tau_i = \text{tau\_units} + \text{tau\_rel}\cdot\hat s_i` units
    (about the demand noise of the SKU) spreads it, centred half a unit below equality so that
    integer :math:`D = x` counts as a stockout. ``relaxed=False`` uses the exact indicator.
    With ``return_trajectory``, also returns a dict of ``(n, T)`` tensors ``on_hand`` (before
    demand), ``sales``, ``end``, ``order``.
    """
    tau_units, tau_rel, relaxed, pos = _check_rollout(policy, env, skus, tau_units, tau_rel,
                                                      relaxed)
    kw = dict(dtype=dtype)
    T, S, n = env.T, env.n_slots, pos.size
    s_np = env._scale[pos]
    s = torch.as_tensor(s_np, **kw)
    inv_s = 1.0 / s
    Lc, Pc = env._L[pos], env._P[pos]
    Dall = torch.as_tensor(env._demand[:, pos], **kw)                    # (T, n)
    Xall = torch.as_tensor(env._exo[:, pos], **kw)                       # (T, n, 4)
    dow = torch.as_tensor(env._dow, **kw)
    lead = np.ascontiguousarray(np.broadcast_to(Lc, (T, n)) if env._lead is None
                                else env._lead[:, pos])
    onehot = torch.zeros(T, n, S + 1, **kw)
    onehot.scatter_(2, torch.as_tensor(lead, dtype=torch.int64)[:, :, None], 1.0)
    day_idx = np.arange(T)[:, None]
    phase = day_idx % Pc[None, :]
    review = torch.as_tensor(phase == 0, **kw)
    static = torch.as_tensor(np.stack([Lc, Pc], 1), **kw)
    next_rev = torch.as_tensor(Pc[None, :] - phase, **kw)
    tau = tau_units + tau_rel * s
    log_s = torch.log(s)
    pre = env._pre[:, pos]                                               # days d0-28 … d0-1
    hist = [torch.as_tensor(pre[k], **kw) for k in range(RING_DAYS)]
    sum7, sum28 = sum(hist[-SHORT_WINDOW:]), sum(hist)
    x = torch.as_tensor(np.rint(s_np * (Lc + Pc)), **kw)
    pipe = torch.zeros(n, S, **kw)                                       # slot k+1 at column k
    zero_col = torch.zeros(n, 1, **kw)
    total = torch.zeros(n, **kw)
    traj = {k: [] for k in ("on_hand", "sales", "end", "order")}
    for t in range(T):
        obs = torch.cat([(x * inv_s)[:, None], pipe * inv_s[:, None],
                         (sum7 * inv_s / SHORT_WINDOW)[:, None],
                         (sum28 * inv_s / LONG_WINDOW)[:, None],
                         Xall[t], dow[t].expand(n, 2), static, review[t][:, None],
                         next_rev[t][:, None], log_s[:, None]], 1)
        a = policy(obs).reshape(n)
        q = a.clamp(0.0, env.q_max) * s * review[t]
        add = onehot[t] * q[:, None]
        x = x + add[:, 0]
        pipe = pipe + add[:, 1:]
        D = Dall[t]
        sales = torch.minimum(D, x)     # RetailEnv.step's (why not torch_serve_demand: there)
        end = x - sales
        if t >= env.burn_in:
            so = (torch.sigmoid((D - x + 0.5) / tau) if relaxed
                  else (D >= x).to(dtype))
            total = total + daily_cost(env, so, end, D - sales, inv_s)
        if return_trajectory:
            for key, v in (("on_hand", x), ("sales", sales), ("end", end), ("order", q)):
                traj[key].append(v)
        sum7 = sum7 + sales - hist[-SHORT_WINDOW]
        sum28 = sum28 + sales - hist[0]
        hist = hist[1:] + [sales]
        x = end + (pipe[:, 0] if S else 0.0)
        pipe = torch.cat([pipe[:, 1:], zero_col], 1) if S else pipe
    if return_trajectory:
        return total, {k: torch.stack(v, 1) for k, v in traj.items()}
    return total


def _check_rollout(policy, env, skus, tau_units, tau_rel, relaxed):
    """The arguments of :func:`retail_rollout_torch`, checked: ``(tau_units, tau_rel, relaxed,
    pos)``, ``pos`` the positions of ``skus`` in ``env``'s pool (default: the whole pool)."""
    if not isinstance(env, RetailEnv):
        raise TypeError(f"env must be a RetailEnv, got {type(env).__name__}")
    if not callable(policy):
        raise TypeError("policy must be callable: obs tensor -> orders")
    tau_units = check_real("tau_units", tau_units, low=0.0, low_open=True)
    tau_rel = check_real("tau_rel", tau_rel, low=0.0)
    relaxed = check_bool("relaxed", relaxed)
    if skus is None:
        pos = np.arange(env.skus.size)
    else:
        idx = check_skus("skus", skus, env.catalogue.n_skus)
        pos = env._pos[idx]
        if (pos < 0).any():
            raise ValueError("skus must be SKUs of env's pool (env.skus)")
    return tau_units, tau_rel, relaxed, pos


def observation_stats(env):
    """Mean and standard deviation of the observation columns under a forecast base stock
    (for the network's input standardization)."""
    pol = forecast_base_stock(env, 1.0)
    obs, _ = env.reset(seed=0)
    rows = []
    for _ in range(env.T):
        rows.append(obs[:: max(1, obs.shape[0] // 512)])
        obs = env.step(pol(obs))[0]
    X = np.concatenate(rows).astype(float)
    mean, std = X.mean(0), X.std(0)
    std[std < 1e-3] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


#: what a diverged training of :func:`train_ds_retail` should change
_REMEDY = "Lower lr or grad_clip."


#: retail DS's defaults (DSConfig fields): 30 epochs over the training SKUs in batches of 256
#: SKUs (``batch_size``: trajectories, here SKUs, per gradient step), the learning rate halved
#: after 3 epochs without a better validation objective, the untrained policy's output at a
#: tenth of its range
RETAIL_DS_DEFAULTS = dict(hidden=(64, 64), epochs=30, batch_size=256, lr=3e-3, seed=0,
                          initial_bias=0.1, lr_patience=3, grad_clip=10.0)
#: DSConfig fields the retail trainer does not read (it trains every epoch, keeping the best on
#: validation, and smooths the stock-out indicator instead of a surrogate gradient): a config
#: that sets one of them to other than DSConfig's default is refused, not silently ignored
_UNUSED = ("patience", "surrogate", "leak", "integer_orders")


def retail_ds_config(**fields):
    """A :class:`~.differentiable_simulator.DSConfig` with retail DS's defaults
    (:data:`RETAIL_DS_DEFAULTS`) and ``fields`` changed, e.g.
    ``retail_ds_config(epochs=25, initial_bias=0.2)``."""
    return DSConfig(**{**RETAIL_DS_DEFAULTS, **fields})


def train_ds_retail(env_train, env_val, regularization, config=None, *, tau_units=0.5,
                    tau_rel=0.1, time_limit=None, quiet=True, num_threads=1):
    r"""Train one :class:`~.differentiable_simulator.DSPolicy` for all SKUs of ``env_train``
    by backpropagating :func:`retail_rollout_torch`'s surrogate objective.

    ``config`` is a :class:`~.differentiable_simulator.DSConfig` (default
    :func:`retail_ds_config`: retail DS's defaults). Each epoch shuffles the training pool into
    batches of ``config.batch_size`` SKUs, one Adam step per batch (gradient norm clipped at
    ``config.grad_clip``); after each epoch the policy is scored by the exact numpy
    :meth:`RetailEnv.rollout` on ``env_val`` (its catalogue objective), which drives
    ``ReduceLROnPlateau`` (factor ``config.lr_factor``, patience ``config.lr_patience``) and
    keep-best: the untrained policy is scored first (epoch ``-1``) and an epoch replaces the
    kept policy only with a strictly lower objective. ``tau_units``/``tau_rel``: the widths of
    the smoothed stock-out indicator (:func:`retail_rollout_torch`); ``time_limit`` (seconds)
    stops early. Returns a :class:`~deepstock_lite.rl.TrainingResult` that unpacks as
    ``policy, history``: the kept policy, and one dict per epoch (``train`` surrogate, ``val``
    objective, ``lr``, ``seconds``). A non-finite loss or
    parameter raises :class:`~deepstock_lite.rl.TrainingDivergedError`.
    Torch runs on ``num_threads`` threads meanwhile (one is fastest for these small batches:
    more threads mostly add synchronization); the previous setting is restored.
    """
    for name, e in (("env_train", env_train), ("env_val", env_val)):
        if not isinstance(e, RetailEnv):
            raise TypeError(f"{name} must be a RetailEnv, got {type(e).__name__}")
    if env_val.obs_dim != env_train.obs_dim:
        raise ValueError("env_train and env_val must come from catalogues with the same "
                         "observation layout")
    if not isinstance(regularization, Regularization):
        raise TypeError("regularization must be a Regularization")
    config = retail_ds_config() if config is None else config
    if not isinstance(config, DSConfig):
        raise TypeError(f"config must be a DSConfig (e.g. retail_ds_config(epochs=10)), got "
                        f"{type(config).__name__}")
    defaults = DSConfig()
    unused = [f for f in _UNUSED if getattr(config, f) != getattr(defaults, f)]
    if unused:
        raise ValueError(f"retail DS does not use DSConfig's {', '.join(unused)}: leave "
                         f"{'it' if len(unused) == 1 else 'them'} at the default")
    tau_units = check_real("tau_units", tau_units, low=0.0, low_open=True)
    tau_rel = check_real("tau_rel", tau_rel, low=0.0)
    quiet = check_bool("quiet", quiet)
    if time_limit is not None:
        time_limit = check_real("time_limit", time_limit, low=0.0, low_open=True)
    num_threads = check_int("num_threads", num_threads, low=1)
    old_threads = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        return _train_ds(env_train, env_val, regularization, config, quiet, time_limit,
                         tau_units, tau_rel)
    finally:
        torch.set_num_threads(old_threads)


def _train_ds(env_train, env_val, regularization, config, quiet, time_limit, tau_units, tau_rel):
    start = time.perf_counter()
    hidden, epochs, batch_skus, lr, seed = (config.hidden, config.epochs, config.batch_size,
                                            config.lr, config.seed)
    torch.manual_seed(seed)
    gen = np.random.default_rng(seed)
    mean, std = observation_stats(env_train)
    policy = DSPolicy(env_train.obs_dim, regularization, hidden, torch.as_tensor(std),
                      config.initial_bias, torch.as_tensor(mean))
    opt = torch.optim.Adam(policy.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=config.lr_factor,
                                                       patience=config.lr_patience)
    act = policy.act_numpy

    def snapshot():
        return copy.deepcopy(policy.state_dict())

    keep = KeepBest()
    keep.offer(env_val.rollout(act), -1, snapshot)     # the untrained policy
    history = [{"epoch": -1, "train": math.nan, "val": keep.best["eval_cost"], "lr": lr,
                "seconds": time.perf_counter() - start}]
    pool = env_train.skus
    for epoch in range(epochs):
        perm = gen.permutation(pool)
        losses = []
        for b in range(0, perm.size, batch_skus):
            loss = retail_rollout_torch(policy, env_train, perm[b:b + batch_skus],
                                        tau_units=tau_units, tau_rel=tau_rel).mean()
            if not torch.isfinite(loss):
                raise TrainingDivergedError(
                    f"Retail DS training diverged at epoch {epoch}, batch {b // batch_skus}: "
                    f"the surrogate loss is {loss.item()}. {_REMEDY}")
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(policy.parameters(), config.grad_clip)
            opt.step()
            losses.append(loss.item())
            if time_limit is not None and time.perf_counter() - start > time_limit:
                break
        check_parameters("Retail DS", f"epoch {epoch}", {"": policy}, _REMEDY)
        v = env_val.rollout(act)
        sched.step(v)
        history.append({"epoch": epoch, "train": float(np.mean(losses)), "val": v,
                        "lr": opt.param_groups[0]["lr"],
                        "seconds": time.perf_counter() - start})
        keep.offer(v, epoch, snapshot)
        if not quiet:
            print(f"epoch {epoch:3d}  train {history[-1]['train']:.3f}  val {v:.3f}  "
                  f"lr {history[-1]['lr']:.1e}  {history[-1]['seconds']:.1f}s")
        if time_limit is not None and time.perf_counter() - start > time_limit:
            break
    policy.load_state_dict(keep.best["state"])
    return TrainingResult.from_keep(policy, history, keep,
                                    stopped_early=len(history) - 1 < epochs)
