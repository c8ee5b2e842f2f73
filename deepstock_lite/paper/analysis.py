"""What the chapters compute from the paper experiments' results files.

The lab's commands (``python -m lab paper``, ``paper-draws``, ``paper-risk``) train and write
the files; this module reads them: Base against None paired over data draws and training seeds
with t-intervals (:func:`paired_differences`, :func:`summary`), the check that draw 0 repeats the
committed sweep (:func:`sweep_check`), and the tail measures of the risk study (:func:`cvar`,
:func:`optimal_z`).
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from ..core import results_store as store
from ..core.statistics import t_interval

__all__ = ["METHODS", "DRAW_SETTINGS", "paired_differences", "summary", "sweep_check", "cvar",
           "optimal_z"]

#: the paper's four methods, in the order of the book's tables
METHODS = ("ds", "ddpg", "ppo", "dsac")
#: the settings re-run over several data draws
DRAW_SETTINGS = ("2", "3")


# -- paired differences over data draws ------------------------------------------------------
def paired_differences(results, setting, method, level=0.95):
    """Base − None of ``method`` on Setting ``setting`` of a data-draws results dict
    (``load_results("paper_draws")``), paired by (draw, seed): the gap difference in
    percentage points (``diff_pp``) and the
    relative cost ``test_base / test_none − 1`` (``rel_cost``), each pair and their mean with a
    ``level`` t-interval.

    The pairs of one draw share its data, so they are not independent draws of the data:
    ``by_draw`` gives the same intervals over the per-draw mean differences (``n`` = draws),
    the interval that speaks to data-draw variance. Also the per-draw gaps of each decoding
    (``gaps``: seed means and the seeds' values) and of the heuristic (``heuristic_gaps``),
    and the pairs left out because one half diverged or is missing (``unpaired``)."""
    setting = str(setting)
    runs = {(r["draw"], r["seed"], r["reg"]): r for r in results.get("rows", [])
            if r["setting"] == setting and r["method"] == method}
    pairs, unpaired = [], []
    for d, s in sorted({(d, s) for d, s, _ in runs}):
        none, base = runs.get((d, s, "none")), runs.get((d, s, "base"))
        if none is None or base is None or none["test"] is None or base["test"] is None:
            unpaired.append({"draw": d, "seed": s})
            continue
        pairs.append({"draw": d, "seed": s, "gap_none": none["gap"], "gap_base": base["gap"],
                      "diff_pp": 100 * (base["gap"] - none["gap"]),
                      "rel_cost": base["test"] / none["test"] - 1})
    draws = sorted({p["draw"] for p in pairs})
    per_draw = {f: [np.mean([p[f] for p in pairs if p["draw"] == d]) for d in draws]
                for f in ("diff_pp", "rel_cost")}
    return {"setting": setting, "method": method, "pairs": pairs, "unpaired": unpaired,
            **{f: t_interval([p[f] for p in pairs], level) for f in ("diff_pp", "rel_cost")},
            "by_draw": {f: t_interval(v, level) for f, v in per_draw.items()},
            "gaps": _draw_gaps(runs), "heuristic_gaps": {
                r["draw"]: r["gap"] for r in results.get("heuristic", [])
                if r["setting"] == setting}}


def _draw_gaps(runs):
    """``{reg: {draw: {"mean": seed mean, "seeds": [gap of each seed]}}}`` (finished runs)."""
    out = {}
    for (d, s, reg), r in sorted(runs.items()):
        if r["gap"] is not None:
            out.setdefault(reg, {}).setdefault(d, []).append(r["gap"])
    return {reg: {d: {"mean": float(np.mean(g)), "seeds": g} for d, g in by.items()}
            for reg, by in out.items()}


def summary(results, level=0.95):
    """:func:`paired_differences` of every (setting, method) the results hold, as a list."""
    present = {(r["setting"], r["method"]) for r in results.get("rows", [])}
    return [paired_differences(results, k, m, level) for k in DRAW_SETTINGS for m in METHODS
            if (k, m) in present]


def sweep_check(results, setting):
    """Draw 0 is the sweep's data: each draw-0 row beside the committed sweep's re-run of the
    same configuration and training seed (``rerun_test``), with the difference (0 when the
    run reproduces the sweep bit for bit); and the draw-0 benchmark beside the sweep's."""
    setting = str(setting)
    sweep = store.load_results(f"paper_setting{setting}")
    by_pair = {(r["method"], r["reg"]): r for r in sweep["rows"]}
    out = []
    for r in results.get("rows", []):
        if r["setting"] != setting or r["draw"] != 0 or (r["method"], r["reg"]) not in by_pair:
            continue
        row = by_pair[r["method"], r["reg"]]
        if r["params"] != row["params"] or r["seed"] not in sweep["seeds"]:
            continue
        theirs = row["rerun_test"][sweep["seeds"].index(r["seed"])]
        out.append({"method": r["method"], "reg": r["reg"], "seed": r["seed"],
                    "test": r["test"], "sweep_test": theirs,
                    "difference": None if r["test"] is None else r["test"] - theirs})
    bench = [b["benchmark"] for b in results.get("benchmarks", [])
             if b["setting"] == setting and b["draw"] == 0]
    return {"runs": out, "benchmark": bench[0] if bench else None,
            "sweep_benchmark": sweep["benchmark"]}


# -- tail measures of the risk study ------------------------------------------------------
def cvar(x, share):
    """Mean of the worst (largest) ``share`` of the costs ``x`` (at least one value)."""
    x = np.sort(np.asarray(x, np.float64).ravel())
    return float(x[-max(1, int(round(share * x.size))):].mean())


def optimal_z(h, b, level, gamma, n_paths=100_000, horizon=40, seed=0):
    """Safety factors that minimize each objective exactly, for normal demand and base stock
    (the cost scales with :math:`\\sigma`, so each optimum holds for every SKU):

    * ``mean``: the newsvendor's critical fractile :math:`\\Phi^{-1}(b/(h+b))`;
    * ``cvar_period``: the CVaR at ``level`` of one period's cost
      :math:`h(z-\\varepsilon)^+ + b(\\varepsilon-z)^+`, :math:`\\varepsilon \\sim N(0,1)`
      (by quadrature on a fine grid of levels);
    * ``cvar_return``: the CVaR at ``level`` of the discounted cost
      :math:`\\sum_t \\gamma^t c_t` of a stationary base stock (what the risk-averse actor's
      critic estimates), by simulation with ``n_paths`` paths of ``horizon`` periods.
    """
    grid = np.linspace(0.0, 3.0, 151)           # steps of 0.02
    u = (np.arange(200_000) + 0.5) / 200_000
    eps = stats.norm.ppf(u)

    def one_period(z):
        return h * np.maximum(z - eps, 0.0) + b * np.maximum(eps - z, 0.0)

    per = [cvar(one_period(z), level) for z in grid]
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((n_paths, horizon)).astype(np.float32)
    disc = (gamma ** np.arange(horizon)).astype(np.float32)
    ret = []
    for z in grid:
        c = h * np.maximum(z - e, 0.0) + b * np.maximum(e - z, 0.0)
        ret.append(cvar(c @ disc, level))
    return {"mean": float(stats.norm.ppf(b / (h + b))),
            "cvar_period": float(grid[int(np.argmin(per))]),
            "cvar_return": float(grid[int(np.argmin(ret))]),
            "level": level, "gamma": gamma}
