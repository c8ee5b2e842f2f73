"""Long experiments as functions with a small-budget default and a script entry point that
writes a results file (JSON) under ``deepstock_lite/data/results/``; chapters load the files.

    python -m deepstock_lite.deepstock.experiments zipkin-ds --budget full

trains DS (the differentiable simulator) with the None and Base decodings on all 16 cells of
Zipkin's lost-sales table and evaluates each trained policy *exactly* (relative value iteration
on the rounded policy, :func:`~deepstock_lite.classical.lost_sales.evaluate_policy_exact`).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from ..classical.lost_sales import (backorder_base_stock_level, best_capped_base_stock,
                                    evaluate_policy_exact, solve_lost_sales)
from ..core.demand import Poisson
from ..core.simulator import InventorySystem
from ..core.validation import check_choice, check_int
from .ds import DSConfig, config_dict, train_ds
from .regularization import Regularization

__all__ = ["ZIPKIN_CELLS", "zipkin_ds_cell", "zipkin_ds_sweep", "results_path", "load_results"]

ZIPKIN_CELLS = [(L, b) for b in (4, 9, 19, 39) for L in (1, 2, 3, 4)]
RESULTS = Path(__file__).resolve().parents[1] / "data" / "results"

_BUDGETS = {  # DS training budget per cell
    "tiny": dict(n_train=8, n_val=8, epochs=2, patience=2),
    "full": dict(n_train=128, n_val=256, epochs=200, patience=60),
}


def results_path(name):
    return RESULTS / f"{name}.json"


def load_results(name):
    """Load a results file written by this module."""
    return json.loads(results_path(name).read_text())


def _write_json(path, data):
    """Write atomically: an interrupted run never leaves a half-written results file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


def zipkin_ds_cell(L, b, *, reg="base", budget="full", seed=0, mean=5.0, h=1.0):
    """Train DS on one lost-sales cell (Poisson demand) and return its exact cost and gap."""
    L = check_int("L", L, low=1)
    check_choice("reg", reg, {"none", "base"})
    check_choice("budget", budget, set(_BUDGETS))
    B = _BUDGETS[budget]
    system = InventorySystem(L=L, h=h, b=b, backlog=False)
    S_bo = backorder_base_stock_level(L, h=h, b=b, mean=mean)
    T = 100 + 10 * L
    train = Poisson(mean).sample(B["n_train"], T, seed=1000 + seed)
    val = Poisson(mean).sample(B["n_val"], T, seed=2000 + seed)
    # None outputs the order itself, Base a target position; both ranges contain the optimum
    decoder = Regularization(reg, L=L, scale=float(S_bo) if reg == "none" else 2.0 * S_bo)
    cfg = DSConfig(epochs=B["epochs"], batch_size=32, lr=3e-3, patience=B["patience"],
                   lr_patience=10, initial_bias=0.3, seed=seed)
    t0 = time.perf_counter()
    res = train_ds(system, decoder, train, val, config=cfg, cost_start=10 * L + 10,
                   on_hand=S_bo / 2)
    seconds = time.perf_counter() - t0

    def rounded_policy(states):
        q = np.rint(res.policy.act_numpy(states.astype(np.float32)))
        return np.minimum(q, S_bo - states.sum(1))  # stay inside the exact evaluator's bound

    cost = float(evaluate_policy_exact(rounded_policy, L, h=h, b=b, mean=mean).cost)
    opt = float(solve_lost_sales(L, h=h, b=b, mean=mean).cost)
    return {"L": L, "b": b, "reg": reg, "seed": seed, "optimal": opt, "ds_cost": cost,
            "gap": cost / opt - 1, "train_seconds": seconds, "epochs_run": len(res.history),
            "best_val": res.best_val, "config": config_dict(cfg)}


def zipkin_ds_sweep(cells=None, regs=("base", "none"), budget="full", seeds=(0,),
                    out="zipkin_ds"):
    """All cells × decodings × seeds; writes ``data/results/<out>.json`` and returns it."""
    cells = ZIPKIN_CELLS if cells is None else cells
    rows = []
    for L, b in cells:
        capped = best_capped_base_stock(L, h=1.0, b=b, mean=5.0)
        for reg in regs:
            for seed in seeds:
                row = zipkin_ds_cell(L, b, reg=reg, budget=budget, seed=seed)
                row["capped_base_stock"] = float(capped.cost)
                rows.append(row)
                print(f"L={L} b={b:>2} {reg:>4} seed {seed}: gap {row['gap']:+.2%} "
                      f"({row['train_seconds']:.0f} s)", flush=True)
    data = {"experiment": "DS on Zipkin's lost-sales cells", "budget": budget,
            "command": _command(cells, regs, budget, seeds, out),
            "machine": platform.processor() or platform.machine(), "rows": rows}
    if out:
        _write_json(results_path(out), data)
    return data


def _command(cells, regs, budget, seeds, out):
    cmd = f"python -m deepstock_lite.deepstock.experiments zipkin-ds --budget {budget}"
    if cells is not None and list(cells) != ZIPKIN_CELLS:
        cmd += " --cells " + " ".join(f"{L},{b}" for L, b in cells)
    if tuple(regs) != ("base", "none"):
        cmd += " --regs " + " ".join(regs)
    if tuple(seeds) != (0,):
        cmd += f" --seeds {len(seeds)}"
    return cmd + ("" if out == "zipkin_ds" else f" --out {out}")


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m deepstock_lite.deepstock.experiments")
    p.add_argument("experiment", choices=["zipkin-ds"])
    p.add_argument("--budget", choices=sorted(_BUDGETS), default="full")
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--cells", nargs="+", default=None, metavar="L,b",
                   help="only these cells, e.g. 4,19 (default: all 16)")
    p.add_argument("--regs", nargs="+", default=["base", "none"], choices=["base", "none"])
    p.add_argument("--out", default="zipkin_ds")
    a = p.parse_args(argv)
    cells = None
    if a.cells:
        cells = [tuple(int(v) for v in c.split(",")) for c in a.cells]
        bad = [c for c in cells if c not in ZIPKIN_CELLS]
        if bad:
            p.error(f"--cells must be among Zipkin's (L, b) cells {ZIPKIN_CELLS}, got {bad}")
    import torch
    torch.set_num_threads(1)
    zipkin_ds_sweep(cells=cells, regs=tuple(a.regs), budget=a.budget,
                    seeds=tuple(range(a.seeds)), out=a.out)


if __name__ == "__main__":
    main()
