"""The Stable-Baselines3 study's results, as Chapter 13 reads them: the committed file, its
summary per (library, algorithm, decoding, instance), as text and as a table. The study itself
(training both libraries' agents) is the lab's: ``python -m lab sb3-study``."""
from __future__ import annotations

import numpy as np

from ..core import results_store as store

__all__ = ["RESULTS", "LIBS", "ALGOS", "REGS", "LIB_NAMES", "summarize", "format_table",
           "summary_table"]

#: the committed results file the appendix chapter loads
RESULTS = store.RESULTS / "sb3_study.json"
LIBS, ALGOS, REGS = ("sb3", "book"), ("ppo", "ddpg"), ("none", "base")


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
    lines = [f"{'library':8} {'algo':5} {'decoding':8} {'inst':4} {'final gap':>10} "
             f"{'worst':>7} {'best gap':>9} {'CPU s to 5%':>12} {'seeds':>5}"]
    for lib, algo, reg, inst, g, w, bg, t5, n in summarize(data):
        lines.append(f"{lib:8} {algo:5} {reg:8} {inst:4} {g:10.1%} {w:7.1%} {bg:9.1%} "
                     f"{'never' if t5 is None else f'{t5:.0f}':>12} {n:5d}")
    return "\n".join(lines)


LIB_NAMES = {"sb3": "Stable-Baselines3", "book": "the book's agents (from scratch)"}


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
