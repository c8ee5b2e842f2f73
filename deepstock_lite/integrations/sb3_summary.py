"""The Stable-Baselines3 study's results, as Chapter 13 reads them: the committed file, its
summary per (library, algorithm, decoding, instance), as text and as a table. The study itself
(training both libraries' agents) is the lab's: ``python -m lab sb3-study``."""
from __future__ import annotations

import numpy as np

from ..core import results_store as store

__all__ = ["RESULTS", "LIBS", "ALGOS", "REGS", "LIB_NAMES", "summarize", "format_table",
           "summary_table", "efficiency", "format_efficiency", "end_differences"]

#: the committed results file the appendix chapter loads
RESULTS = store.RESULTS / "sb3_study.json"
#: the libraries: Stable-Baselines3, the book's agents as the chapters configure them, and the
#: book's PPO with orthogonal initial weights (``PPOConfig(ortho_init=True)``, SB3's choice)
LIBS, ALGOS, REGS = ("sb3", "book", "book_ortho"), ("ppo", "ddpg"), ("none", "base")
#: the (library, algorithm) pairs the study runs: the orthogonal initialization is PPO's option
PAIRS = tuple((lib, algo) for lib in LIBS for algo in ALGOS
              if not (lib == "book_ortho" and algo != "ppo"))


def summarize(data):
    """Rows ``(lib, algo, reg, instance, mean final gap, worst final gap, mean best gap,
    median CPU s to 5% (None if a seed never got there), seeds)`` of a results dict."""
    if not isinstance(data, dict) or not isinstance(data.get("runs"), dict):
        raise TypeError("data must be the sb3 study's results dict (with a 'runs' mapping)")
    groups = {}
    for r in data["runs"].values():
        groups.setdefault((r["lib"], r["algo"], r["reg"], r["instance"]), []).append(r)
    rows = []
    for lib in LIBS:
        for algo in ALGOS:
            for reg in REGS:
                for inst in ("a", "b"):
                    rs = groups.get((lib, algo, reg, inst))
                    if not rs:
                        continue
                    t5 = [r["cpu_to_5pct_s"] for r in rs]
                    rows.append((lib, algo, reg, inst,
                                 float(np.mean([r["final_gap"] for r in rs])),
                                 float(np.max([r["final_gap"] for r in rs])),
                                 float(np.mean([r["best_gap"] for r in rs])),
                                 None if any(t is None for t in t5) else float(np.median(t5)),
                                 len(rs)))
    return rows


def format_table(data):
    """The summary as a small text table."""
    lines = [f"{'library':10} {'algo':5} {'decoding':8} {'inst':4} {'final gap':>10} "
             f"{'worst':>7} {'best gap':>9} {'CPU s to 5%':>12} {'seeds':>5}"]
    for lib, algo, reg, inst, g, w, bg, t5, n in summarize(data):
        lines.append(f"{lib:10} {algo:5} {reg:8} {inst:4} {g:10.1%} {w:7.1%} {bg:9.1%} "
                     f"{'never' if t5 is None else f'{t5:.0f}':>12} {n:5d}")
    return "\n".join(lines)


LIB_NAMES = {"sb3": "Stable-Baselines3", "book": "the book's agents (from scratch)",
             "book_ortho": "the book's PPO, orthogonal initial weights"}


def summary_table(data):
    """The summary as a :class:`~deepstock_lite.tables.Table` (an HTML table in a notebook):
    the numbers of :func:`format_table`, one section per library, the agent in one column so
    that the table fits a phone."""
    from ..tables import Table

    table = Table(["agent", "final gap", "worst", "best gap", "CPU s to 5%", "seeds"],
                  notes=["gaps: mean (worst) over the seeds of the final policy, mean of the "
                         "best on validation; CPU s to 5%: median over the seeds"])
    lib = None
    for row_lib, algo, reg, inst, g, w, bg, t5, n in summarize(data):
        if row_lib != lib:
            lib = row_lib
            table.add_section(LIB_NAMES.get(lib, lib))
        table.add_row(f"{algo.upper()} + {reg.capitalize()}, ({inst})", f"{g:.1%}",
                      f"{w:.1%}", f"{bg:.1%}", "never" if t5 is None else f"{t5:.0f}",
                      f"{n:d}")
    return table


def _first_within(run, share):
    """Training CPU seconds until the validation cost first came within ``share`` of the
    optimum (``inf``: never)."""
    for _, cpu, cost in run["evals"]:
        if cost <= (1.0 + share) * run["optimum"]:
            return float(cpu)
    return float("inf")


def efficiency(data, reg="base"):
    """Sample efficiency and end quality per (algorithm, instance, library) under decoding
    ``reg``: rows ``(algo, instance, lib, median CPU s to 5%, median CPU s to 3%, median final
    gap, median best-on-validation gap, seeds)``, medians over the seeds (a seed that never
    got there counts as infinitely late, so a median is ``inf`` when half of them never
    did)."""
    if not isinstance(data, dict) or not isinstance(data.get("runs"), dict):
        raise TypeError("data must be the sb3 study's results dict (with a 'runs' mapping)")
    rows = []
    for algo in ALGOS:
        for inst in ("a", "b"):
            for lib in LIBS:
                rs = [r for r in data["runs"].values()
                      if (r["lib"], r["algo"], r["reg"], r["instance"]) == (lib, algo, reg, inst)]
                if rs:
                    rows.append((algo, inst, lib,
                                 float(np.median([_first_within(r, 0.05) for r in rs])),
                                 float(np.median([_first_within(r, 0.03) for r in rs])),
                                 float(np.median([r["final_gap"] for r in rs])),
                                 float(np.median([r["best_gap"] for r in rs])), len(rs)))
    return rows


def format_efficiency(data, reg="base"):
    """:func:`efficiency` as a text table."""
    lines = [f"{'algo':5} {'inst':4} {'library':10} {'to 5% (s)':>9} {'to 3% (s)':>9} "
             f"{'final gap':>9} {'best gap':>9} {'seeds':>5}"]
    for algo, inst, lib, t5, t3, fg, bg, n in efficiency(data, reg):
        lines.append(f"{algo:5} {inst:4} {lib:10} {t5:9.1f} {t3:9.1f} {fg:9.1%} {bg:9.1%} "
                     f"{n:5d}")
    return "\n".join(lines)


def end_differences(data, reg="base"):
    """Where each of the book's agents ends against Stable-Baselines3's, under decoding
    ``reg``: rows ``(algo, instance, lib, key, mean difference, low, high)`` for ``key`` in
    ``("best_gap", "final_gap")``: the book's mean test gap minus SB3's over the seeds of the
    same algorithm and instance, with Welch's 95% interval (independent runs:
    :func:`scipy.stats.ttest_ind` with ``equal_var=False``, as Chapter 13 computes it; the
    bounds are NaN with fewer than two seeds on a side or no spread)."""
    from scipy import stats

    if not isinstance(data, dict) or not isinstance(data.get("runs"), dict):
        raise TypeError("data must be the sb3 study's results dict (with a 'runs' mapping)")
    groups = {}
    for r in data["runs"].values():
        if r["reg"] == reg:
            groups.setdefault((r["algo"], r["instance"], r["lib"]), []).append(r)
    rows = []
    for algo in ALGOS:
        for inst in ("a", "b"):
            sb3 = groups.get((algo, inst, "sb3"))
            for lib in LIBS[1:]:
                book = groups.get((algo, inst, lib))
                if not sb3 or not book:
                    continue
                for key in ("best_gap", "final_gap"):
                    x, y = [r[key] for r in book], [r[key] for r in sb3]
                    low = high = float("nan")
                    if min(len(x), len(y)) >= 2 and (np.ptp(x) > 0 or np.ptp(y) > 0):
                        ci = stats.ttest_ind(x, y, equal_var=False).confidence_interval(0.95)
                        low, high = float(ci.low), float(ci.high)
                    rows.append((algo, inst, lib, key, float(np.mean(x) - np.mean(y)), low,
                                 high))
    return rows
