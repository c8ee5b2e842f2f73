"""One policy for thousands of SKUs: training and evaluation time, and the margin over the best
tuned forecast heuristic on held-out SKUs.

1. **Train + evaluate.** A catalogue of ``train + val + test`` SKUs (default 5 000 / 500 /
   5 000, 90 days); DS + Both trained on the training SKUs (validation SKUs for keep-best), the
   forecast base stock and forecast (s, S) grid-tuned on the training SKUs; all scored on the
   held-out test SKUs. Target: the whole pipeline in ≤ 3 minutes on one core, and the learned
   policy below the best heuristic on the objective J = 100·SR + w·TT.
2. **Evaluation scaling.** The trained policy (network forward pass included) on catalogues of
   1 000 … 100 000 SKUs: SKU-days per second.
3. **Training scaling.** Seconds per DS epoch (one pass over the training SKUs in batches of
   256, plus the validation rollout) for 1 000 … 5 000 training SKUs.

    python benchmarks/retail.py                       # full run (about 3 minutes)
    python benchmarks/retail.py --train 500 --test 500 --epochs 1 --scale 1000 --train-scale 500

Every option, and that the ``--json`` file can be written, are checked before any training;
the file is written atomically.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from deepstock_lite.core import results_store as store
from deepstock_lite.paper.catalogue import make_catalogue
from deepstock_lite.paper.catalogue_config import CatalogueConfig
from deepstock_lite.paper.retail import RetailEnv, retail_ds_config, train_ds_retail
from deepstock_lite.paper.retail_study import (INITIAL_ACTION, fit_heuristics,
                                                   retail_regularization, summarize)


def train_and_evaluate(n_train, n_val, n_test, epochs, horizon=90, weight=0.1, seed=0):
    t0 = time.perf_counter()
    n = n_train + n_val + n_test
    cat = make_catalogue(CatalogueConfig(n_skus=n, horizon=horizon, seed=seed))
    tr, va, te = cat.split(by="sku", fractions=(n_train / n, n_val / n, n_test / n))
    envs = {k: RetailEnv(cat, v, weight=weight) for k, v in
            (("train", tr), ("val", va), ("test", te))}
    t_data = time.perf_counter() - t0
    policy, hist = train_ds_retail(envs["train"], envs["val"],
                                   retail_regularization("both", envs["train"]),
                                   retail_ds_config(epochs=epochs, seed=seed,
                                                    initial_bias=INITIAL_ACTION["both"]))
    t_train = time.perf_counter() - t0 - t_data
    t1 = time.perf_counter()
    learned = envs["test"].rollout_metrics(policy.act_numpy)
    t_eval = time.perf_counter() - t1
    total = time.perf_counter() - t0
    rows = {"ds_both": summarize(learned), **{h["method"]: h for h in fit_heuristics(envs)}}
    return policy, {"n_train": len(tr), "n_test": len(te), "epochs": len(hist) - 1,
                    "seconds_data": t_data, "seconds_train": t_train, "seconds_eval": t_eval,
                    "seconds_total": total, "rows": rows}


def evaluation_speed(policy, sizes, horizon=90, seed=1):
    out = []
    for n in sizes:
        cat = make_catalogue(CatalogueConfig(n_skus=n, horizon=horizon, seed=seed))
        env = RetailEnv(cat, np.arange(n))
        t0 = time.perf_counter()
        env.rollout(policy.act_numpy)
        dt = time.perf_counter() - t0
        out.append({"n_skus": n, "seconds": dt, "sku_days_per_s": n * horizon / dt})
    return out


def training_speed(sizes, epochs=2, horizon=90, seed=2):
    out = []
    for n in sizes:
        cat = make_catalogue(CatalogueConfig(n_skus=n + 200, horizon=horizon, seed=seed))
        tr, va = np.arange(n), np.arange(n, n + 200)
        env_tr, env_va = RetailEnv(cat, tr), RetailEnv(cat, va)
        t0 = time.perf_counter()
        train_ds_retail(env_tr, env_va, retail_regularization("both", env_tr),
                        retail_ds_config(epochs=epochs, seed=seed))
        dt = (time.perf_counter() - t0) / epochs
        out.append({"n_train": n, "seconds_per_epoch": dt,
                    "sku_days_per_s": n * horizon / dt})
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    count = store.int_at_least(1)
    p.add_argument("--train", type=count, default=5000, help="training SKUs")
    p.add_argument("--val", type=count, default=500, help="validation SKUs")
    p.add_argument("--test", type=count, default=5000, help="held-out test SKUs")
    p.add_argument("--epochs", type=count, default=40)
    p.add_argument("--scale", type=count, nargs="+", default=[1000, 10_000, 100_000],
                   help="catalogue sizes (SKUs) of the evaluation-speed test")
    p.add_argument("--train-scale", type=count, nargs="+", default=[1000, 2000, 5000],
                   help="training SKUs of the training-speed test")
    p.add_argument("--json", "--out", dest="json", default=None, metavar="PATH",
                   help="also write the results to this JSON file")
    a = p.parse_args(argv)
    if a.json is not None:
        try:
            store.check_writable(a.json, "--json")
        except store.ResultsError as e:
            p.error(str(e))
    torch.set_num_threads(1)
    policy, res = train_and_evaluate(a.train, a.val, a.test, a.epochs)
    print(f"DS + Both on {res['n_train']} training SKUs ({res['epochs']} epochs), evaluated on "
          f"{res['n_test']} held-out SKUs, one thread:")
    print(f"  data {res['seconds_data']:.1f} s, training {res['seconds_train']:.1f} s, "
          f"test evaluation {res['seconds_eval']:.2f} s, total {res['seconds_total']:.1f} s "
          f"(target 180 s)")
    for name, m in res["rows"].items():
        print(f"  {name:<10} J {m['objective']:.3f}  stockout {m['stockout_rate']:.2f}%  "
              f"turnover {m['turnover_days']:.1f} d")
    best_h = min(res["rows"]["base_stock"]["objective"], res["rows"]["s_S"]["objective"])
    margin = 1 - res["rows"]["ds_both"]["objective"] / best_h
    print(f"  learned policy vs best tuned heuristic: {100 * margin:+.1f}% lower J")
    speed = evaluation_speed(policy, a.scale)
    for r in speed:
        print(f"evaluation of the trained policy on {r['n_skus']:>7} SKUs x 90 days: "
              f"{r['seconds']:.2f} s, {r['sku_days_per_s'] / 1e6:.2f} M SKU-days/s")
    train_speed = training_speed(a.train_scale)
    for r in train_speed:
        print(f"DS + Both training on {r['n_train']:>5} SKUs x 90 days: "
              f"{r['seconds_per_epoch']:.2f} s per epoch "
              f"({r['sku_days_per_s'] / 1e3:.0f} k SKU-days/s forward + backward)")
    if a.json:
        store.write_json(a.json, {"train_eval": res, "speed": speed, "margin": margin,
                                  "train_speed": train_speed})
        print(f"wrote {store.describe(a.json)}")
    return res, speed


if __name__ == "__main__":
    main()
