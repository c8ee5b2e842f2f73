"""Solve the 16 cells of Zipkin's (2008) lost-sales table exactly; print time and memory.

Poisson(5) demand, h = 1, b in {4, 9, 19, 39}, lead time L = 1..4. For each cell: the optimal
cost by relative value iteration and the four heuristics (best base stock, best capped base
stock, myopic-1, best constant order), each evaluated exactly. Prints the table; with
``--write`` it also writes the results to ``deepstock_lite/data/zipkin_table.json`` (the
committed data file, which only the full table of 16 cells may replace), or to ``--out PATH``.
The file is written atomically, and a file that is not a table of this script, or holds other
cells, is replaced only with ``--force``; every option and the destination are checked before
anything is solved.

    python benchmarks/dp.py                  # all 16 cells, print only
    python benchmarks/dp.py --L 1 2          # some lead times only
    python benchmarks/dp.py --write          # regenerate the committed data file
"""
from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
from pathlib import Path

from deepstock_lite.classical import DiscreteDemand, lost_sales_heuristics, solve_lost_sales
from deepstock_lite.core import results_store as store

ZIPKIN = {4: (4.04, 4.40, 4.60, 4.73), 9: (5.44, 6.09, 6.53, 6.84),
          19: (6.68, 7.66, 8.36, 8.89), 39: (7.84, 9.11, 10.04, 10.79)}
OUT = store.ZIPKIN_TABLE
IDENTITY = {"source": "benchmarks/dp.py", "demand": "Poisson(5)", "h": 1.0}


def solve_cell(L, b, mean=5.0, h=1.0):
    tracemalloc.start()
    t0 = time.perf_counter()
    law = DiscreteDemand.poisson(mean)
    opt = solve_lost_sales(law, L=L, h=h, b=b)
    t1 = time.perf_counter()
    heur = lost_sales_heuristics(law, L=L, h=h, b=b)
    t2 = time.perf_counter()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "L": L, "b": b, "h": h, "mean": mean,
        "published_optimal": ZIPKIN.get(int(b), (None,) * 4)[L - 1] if mean == 5 else None,
        "optimal_cost": opt.cost, "lower": opt.lower, "upper": opt.upper,
        "max_position": opt.max_position, "n_states": int(len(opt.orders)),
        "iterations": opt.iterations,
        "heuristics": {k: {"cost": v.cost, "params": v.params} for k, v in heur.items()},
        "seconds_optimal": t1 - t0, "seconds_heuristics": t2 - t1,
        "peak_memory_mb": peak / 2**20,
    }


def _positive_b(text):
    try:
        b = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not 0 < b < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return b


def destination(ap, args):
    """The file to write (``None``: print only), checked before anything is solved."""
    if not args.write:
        if args.out is not None:
            print(f"--out {args.out} without --write: printing only")
        return None
    path = Path(args.out) if args.out is not None else Path(store.ZIPKIN_TABLE)
    if path.suffix != ".json":
        ap.error(f"--out must name a .json file, got {args.out}")
    cells = {(L, float(b)) for L in args.L for b in args.b}
    full = {(L, float(b)) for L in (1, 2, 3, 4) for b in ZIPKIN}
    if store.is_committed(path) and cells != full:
        ap.error(f"{store.describe(path)} is the committed table: only all 16 cells (no --L, "
                 "--b) may replace it; write a subset elsewhere with --out PATH")
    try:
        old = store.check_replace(path, IDENTITY, force=args.force)
        if old is not None and not args.force:
            have = {(c.get("L"), float(c.get("b"))) for c in old.get("cells", [])}
            if have != cells:
                raise store.ResultsError(
                    f"{store.describe(path)} holds {len(have)} other cells; pass --force to "
                    "replace it, or write elsewhere with --out PATH")
        store.check_writable(path, "--out" if args.out is not None else "--write")
    except (store.ResultsError, TypeError, ValueError, AttributeError) as e:
        ap.error(str(e))
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--L", type=store.int_at_least(1, 8), nargs="+", default=[1, 2, 3, 4])
    ap.add_argument("--b", type=_positive_b, nargs="+", default=[4, 9, 19, 39])
    ap.add_argument("--write", action="store_true",
                    help=f"write the results to the committed {OUT.name} (all 16 cells only)")
    ap.add_argument("--out", type=Path, default=None,
                    help="with --write: write the results to this .json file instead")
    ap.add_argument("--force", action="store_true",
                    help="replace a file that holds other cells or is not a table of this "
                         "script")
    args = ap.parse_args(argv)
    path = destination(ap, args)
    rows = []
    print(f"{'L':>2} {'b':>4} {'S_bo':>4} {'states':>7} {'optimal':>8} {'publ.':>6} "
          f"{'base':>6} {'capped':>6} {'myop1':>6} {'const':>6} {'t_opt s':>8} "
          f"{'t_heur s':>8} {'peak MB':>8}")
    start = time.perf_counter()
    for L in args.L:
        for b in args.b:
            r = solve_cell(L, b)
            rows.append(r)
            hc = {k: v["cost"] for k, v in r["heuristics"].items()}
            pub = r["published_optimal"]
            print(f"{L:>2} {b:>4g} {r['max_position']:>4} {r['n_states']:>7} "
                  f"{r['optimal_cost']:>8.4f} {pub if pub else float('nan'):>6.2f} "
                  f"{hc['base stock']:>6.3f} {hc['capped base stock']:>6.3f} "
                  f"{hc['myopic-1']:>6.3f} {hc['constant order']:>6.3f} "
                  f"{r['seconds_optimal']:>8.2f} {r['seconds_heuristics']:>8.2f} "
                  f"{r['peak_memory_mb']:>8.1f}", flush=True)
    total = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"total {total:.1f} s (optimal only {sum(r['seconds_optimal'] for r in rows):.1f} s); "
          f"process peak RSS {rss:.0f} MB")
    if path is not None:
        payload = {"source": "benchmarks/dp.py", "demand": "Poisson(5)", "h": 1.0,
                   "cells": rows}
        store.write_json(path, payload, newline=True)
        print(f"wrote {store.describe(path)}")
    return rows


if __name__ == "__main__":
    main()
