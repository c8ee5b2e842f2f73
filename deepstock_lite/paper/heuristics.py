"""Simple order-up-to rules on the paper's four synthetic settings, tuned and selected the way
the learned methods are (Chapter 10's heuristic baseline).

Every rule orders up to a target on the inventory position, exactly as Base decoding does::

    target_t = clip(a + k * x_t, 0, q_max),     q_t = max(target_t - position_t, 0),

where ``x_t`` is the rule's *signal*, built only from what the learned policies of the setting
see or could compute from their training data (:data:`FAMILIES`):

* ``base_stock``: no signal (``k = 0``): the classical constant base-stock level ``a``;
* ``yesterday`` (Settings 2–3): yesterday's demand, the feature of the learned policies;
* ``forecast`` (Setting 1): the training paths' mean demand of the days the order must cover
  (days ``t … t+L+P−1``: the day index is the learned policies' feature);
* ``sigma`` (Setting 4): the SKU's σ, the learned policies' feature.

A rule's loss is the setting's loss (:meth:`~.settings.PaperSetting.loss_of_costs`: the mean
cost over the costed days), simulated with :class:`~deepstock_lite.core.simulator.InventorySystem`'s
own ``step`` on the same paths, start and review days as the learned policies' scores
(:meth:`~.settings.PaperSetting.evaluate`). :func:`rule_costs` evaluates a whole grid of
``(a, k)`` at once, path by path, so any selection rule (on training, on validation, on a
resampled subset of paths) is an ``argmin`` over averages of its rows.

The protocol of :func:`tune` (the learned methods': parameters fitted on the training paths,
the choice among fitted models made on the validation paths, the test paths only scored):

1. for each family of the setting, fit ``(a, k)`` by grid search on the **training** loss;
2. keep the family whose fitted rule has the lowest **validation** loss;
3. report that rule's **test** loss.
"""
from __future__ import annotations

import numpy as np

from ..core.validation import check_choice
from .settings import PaperSetting

__all__ = ["FAMILIES", "SETTING_FAMILIES", "default_grid", "rule_signal", "rule_costs",
           "grid_losses", "tune", "ar1_fit"]

#: the rule families: what the target's slope ``k`` multiplies
FAMILIES = {
    "base_stock": "a constant order-up-to level a (the classical base-stock policy)",
    "yesterday": "order up to a + k x yesterday's demand",
    "forecast": "order up to a + k x the training mean demand of the days the order covers",
    "sigma": "order up to a + k x the SKU's sigma",
}
#: the families tried on each setting (the base-stock rule first)
SETTING_FAMILIES = {"1": ("base_stock", "forecast"), "2": ("base_stock", "yesterday"),
                    "3": ("base_stock", "yesterday"), "4": ("base_stock", "sigma")}
#: grid steps of ``a`` and ``k`` (``coarse``: the smoke-test grid)
_STEPS = {"fine": (0.5, 0.05), "coarse": (2.0, 0.25)}
#: grid ranges per (setting, family): (a_low, a_high, k_low, k_high)
_RANGES = {
    ("1", "base_stock"): (0.0, 100.0, 0.0, 0.0), ("1", "forecast"): (-20.0, 40.0, 0.0, 2.0),
    ("2", "base_stock"): (0.0, 100.0, 0.0, 0.0), ("2", "yesterday"): (0.0, 60.0, 0.0, 4.0),
    ("3", "base_stock"): (0.0, 100.0, 0.0, 0.0), ("3", "yesterday"): (0.0, 60.0, 0.0, 4.0),
    ("4", "base_stock"): (50.0, 200.0, 0.0, 0.0), ("4", "sigma"): (80.0, 120.0, 0.0, 3.0),
}
#: most simulated rows at once (paths x grid points), to bound memory
_CHUNK = 400_000


def _check_setting_key(key):
    return check_choice("key", str(key), set(SETTING_FAMILIES))


def default_grid(key, family, resolution="fine"):
    """``(a, k)``: flat arrays of every grid point of ``family`` on Setting ``key``."""
    key = _check_setting_key(key)
    family = check_choice("family", family, set(SETTING_FAMILIES[key]))
    resolution = check_choice("resolution", resolution, set(_STEPS))
    da, dk = _STEPS[resolution]
    a0, a1, k0, k1 = _RANGES[(key, family)]
    a = np.round(np.arange(a0, a1 + da / 2, da), 6)
    k = np.round(np.arange(k0, k1 + dk / 2, dk), 6) if k1 > k0 else np.zeros(1)
    A, K = np.meshgrid(a, k, indexing="ij")
    return A.ravel(), K.ravel()


def rule_signal(S, split, family, fit_split="train"):
    """The signal ``x_t`` of ``family`` on ``split``'s paths, shape ``(n, T)`` (``x_t`` is read
    on review day ``t``). ``forecast`` is built from ``fit_split``'s paths."""
    if not isinstance(S, PaperSetting):
        raise TypeError(f"S must be a PaperSetting, got {type(S).__name__}")
    family = check_choice("family", family, set(FAMILIES))
    D = S.demand(split)
    n, T = D.shape
    if family == "base_stock":
        return np.zeros((n, T))
    if family == "yesterday":              # what the observation shows (zero before day 1)
        x = np.zeros((n, T))
        x[:, 1:] = D[:, :-1]
        return x
    if family == "forecast":
        cover = S.system.L + S.system.P    # days t .. t+L+P-1 (Base must cover day t too)
        m = S.demand(fit_split).mean(0)
        per_day = np.array([m[t:min(t + cover, T)].sum() for t in range(T)])
        return np.broadcast_to(per_day, (n, T)).copy()
    sig = S.data.info.get(f"{split}_sigma")
    if sig is None or S.features is None:    # Setting 4: the policies' feature is the σ
        raise ValueError(f"family 'sigma' needs the SKU's sigma as the policies' feature "
                         f"({S.name} has none)")
    return np.broadcast_to(np.asarray(sig, float)[:, None], (n, T)).copy()


def rule_costs(S, split, family, a, k, *, signal=None):
    """Per-path loss of every rule ``(a[g], k[g])`` of ``family`` on ``split``: an array
    ``(n_paths, G)``, each entry the mean cost of one path over the setting's costed days.
    ``signal`` (``(n, T)``) replaces :func:`rule_signal`'s (e.g. another split's forecast)."""
    a = np.atleast_1d(np.asarray(a, float))
    k = np.atleast_1d(np.asarray(k, float))
    if a.shape != k.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"a and k must be 1-D arrays of the same length, got shapes "
                         f"{a.shape} and {k.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(k))):
        raise ValueError("a and k must be finite")
    D = S.demand(split)
    x = rule_signal(S, split, family) if signal is None else np.asarray(signal, float)
    if x.shape != D.shape:
        raise ValueError(f"signal must have shape {D.shape}, got {x.shape}")
    n, T = D.shape
    G = a.size
    per = max(1, _CHUNK // n)
    out = np.empty((n, G))
    for g0 in range(0, G, per):
        g = slice(g0, min(g0 + per, G))
        m = g.stop - g.start
        rows_a, rows_k = np.tile(a[g], n), np.tile(k[g], n)       # row i*m + j: path i, rule j
        Dr, xr = np.repeat(D, m, axis=0), np.repeat(x, m, axis=0)
        state = S.system.initial_state(n * m, on_hand=S.on_hand)
        total = np.zeros(n * m)
        zero = np.zeros(n * m)
        for t in range(T):
            if S.system.is_review(t):
                target = np.clip(rows_a + rows_k * xr[:, t], 0.0, S.q_max)
                q = np.maximum(target - state.position, 0.0)
            else:
                q = zero
            rec = S.system.step(state, q, np.ascontiguousarray(Dr[:, t]))
            if t >= S.cost_start:
                total += rec.cost
        out[:, g] = (total / (T - S.cost_start)).reshape(n, m)
    return out


def grid_losses(S, key, family, resolution="fine", splits=("train", "val", "test")):
    """``(a, k, {split: per-path losses (n, G)})`` of ``family``'s grid on ``splits``."""
    a, k = default_grid(key, family, resolution)
    return a, k, {sp: rule_costs(S, sp, family, a, k) for sp in splits}


def tune(S, key, resolution="fine"):
    """The protocol of the module docstring on Setting ``key``'s data ``S``: per family, the
    rule fitted on training and its train/val/test losses; the family chosen on validation;
    and, for reference, the best rule of the grid on each split (``oracle_test``: chosen on
    the test paths themselves, an in-sample bound for the families)."""
    key = _check_setting_key(key)
    fams, oracle = {}, np.inf
    for fam in SETTING_FAMILIES[key]:
        a, k, L = grid_losses(S, key, fam, resolution)
        mean = {sp: v.mean(0) for sp, v in L.items()}
        g = int(np.argmin(mean["train"]))
        gv = int(np.argmin(mean["val"]))
        fams[fam] = {"a": float(a[g]), "k": float(k[g]),
                     **{sp: float(mean[sp][g]) for sp in mean},
                     "val_chosen": {"a": float(a[gv]), "k": float(k[gv]),
                                    **{sp: float(mean[sp][gv]) for sp in mean}},
                     "oracle_test": float(mean["test"].min())}
        oracle = min(oracle, float(mean["test"].min()))
    chosen = min(fams, key=lambda f: fams[f]["val"])
    return {"families": fams, "chosen": chosen, "test": fams[chosen]["test"],
            "val": fams[chosen]["val"], "train": fams[chosen]["train"],
            "oracle_test": oracle}


def ar1_fit(D):
    """Per path, the least-squares AR(1) fit ``D_t = c + phi D_{t-1} + e``: arrays ``phi``,
    ``mean`` (``c / (1 - phi)``) and ``sigma`` (residual standard deviation)."""
    D = np.asarray(D, float)
    if D.ndim != 2 or D.shape[1] < 4:
        raise ValueError(f"D must be (paths, days) with at least 4 days, got {D.shape}")
    phi, mean, sigma = [], [], []
    for d in D:
        X = np.column_stack([np.ones(d.size - 1), d[:-1]])
        (c, p), *_ = np.linalg.lstsq(X, d[1:], rcond=None)
        resid = d[1:] - X @ np.array([c, p])
        phi.append(p)
        mean.append(c / (1 - p) if abs(1 - p) > 1e-9 else np.nan)
        sigma.append(resid.std(ddof=2))
    return {"phi": np.array(phi), "mean": np.array(mean), "sigma": np.array(sigma)}
