"""Solve the 16 cells of Zipkin's (2008) lost-sales table exactly; print time and memory.

Poisson(5) demand, h = 1, b in {4, 9, 19, 39}, lead time L = 1..4. For each cell: the optimal
cost by relative value iteration and the four heuristics (best base stock, best capped base
stock, myopic-1, best constant order), each evaluated exactly. Prints the table; with
``--write`` it also writes the results to ``deepstock_lite/data/zipkin_table.json`` (the
committed data file; ``--out`` to write elsewhere).

    python benchmarks/dp.py                  # all 16 cells, print only
    python benchmarks/dp.py --L 1 2          # some lead times only
    python benchmarks/dp.py --write          # regenerate the committed data file
"""
from __future__ import annotations

import argparse
import json
import resource
import time
import tracemalloc
from pathlib import Path

from deepstock_lite.classical.lost_sales import lost_sales_heuristics, solve_lost_sales

ZIPKIN = {4: (4.04, 4.40, 4.60, 4.73), 9: (5.44, 6.09, 6.53, 6.84),
          19: (6.68, 7.66, 8.36, 8.89), 39: (7.84, 9.11, 10.04, 10.79)}
OUT = Path(__file__).resolve().parents[1] / "deepstock_lite" / "data" / "zipkin_table.json"


def solve_cell(L, b, mean=5.0, h=1.0):
    tracemalloc.start()
    t0 = time.perf_counter()
    opt = solve_lost_sales(L, h=h, b=b, mean=mean)
    t1 = time.perf_counter()
    heur = lost_sales_heuristics(L, h=h, b=b, mean=mean)
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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--L", type=int, nargs="+", default=[1, 2, 3, 4])
    ap.add_argument("--b", type=float, nargs="+", default=[4, 9, 19, 39])
    ap.add_argument("--write", action="store_true",
                    help=f"write the results to --out (default {OUT.name})")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
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
    if args.write:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        payload = {"source": "benchmarks/dp.py", "demand": "Poisson(5)", "h": 1.0,
                   "cells": rows}
        args.out.write_text(json.dumps(payload, indent=1) + "\n")
        print(f"wrote {args.out}")
    return rows


if __name__ == "__main__":
    main()
