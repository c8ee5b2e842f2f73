"""The tuning command: one worker of an Optuna study of the paper's protocol.

    python -m lab tune --method ds --reg base --setting 1 \\
        --trials 40 --storage sqlite:///studies/deepstock.db

Start several at once (or on several machines sharing one database URL) to work on one study;
what a study is, how its trials are seeded and how a killed worker's trial is recovered is
:mod:`deepstock_lite.paper.tuning`'s.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from deepstock_lite.core.decoding import KINDS
from deepstock_lite.core.results_store import ResultsError, check_writable, int_at_least
from deepstock_lite.paper.settings import READINGS
from deepstock_lite.paper import tuning
from deepstock_lite.paper.tuning import BUDGETS, MAX_TRIALS, METHODS, SETTINGS

__all__ = ["main"]


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m lab tune")
    p.add_argument("--method", choices=sorted(METHODS), default="ds")
    p.add_argument("--reg", choices=KINDS, default="base")
    p.add_argument("--setting", choices=sorted(SETTINGS), default="1")
    p.add_argument("--trials", type=int_at_least(1, MAX_TRIALS), default=20)
    p.add_argument("--storage", default="sqlite:///studies/deepstock.db",
                   help="an Optuna database URL")
    p.add_argument("--study", default=None)
    p.add_argument("--startup", type=int_at_least(0), default=10)
    p.add_argument("--budget", choices=BUDGETS, default="small")
    p.add_argument("--seed", type=int_at_least(0), default=0,
                   help="training seed of every trial (default 0)")
    p.add_argument("--sampler-seed", type=int_at_least(0), default=0,
                   help="seed of the sampler: trial k draws from a generator seeded by the "
                        "study name, this and k, so parallel workers draw distinct "
                        "configurations (default 0)")
    p.add_argument("--reading", choices=READINGS, default="total")
    a = p.parse_args(argv)
    if "://" not in a.storage:
        p.error(f"--storage must be a database URL such as sqlite:///studies/deepstock.db, "
                f"got {a.storage!r}")
    if a.study is not None and not a.study.strip():
        p.error("--study must be a non-empty name")
    if a.storage.startswith("sqlite:///"):
        db = Path(a.storage[len("sqlite:///"):])
        if not db.exists():
            try:
                check_writable(db, "--storage")
            except ResultsError as e:
                p.error(str(e))
    study = tuning.run_study(a.method, a.reg, a.setting, a.trials, storage=a.storage,
                             study_name=a.study, n_startup_trials=a.startup, seed=a.seed,
                             budget=a.budget, quiet=False, reading=a.reading,
                             sampler_seed=a.sampler_seed)
    curve = tuning.best_so_far(study)
    print(f"study {study.study_name}: {len(curve)} finished trials; best validation "
          f"{curve[-1, 0]:.4f}, its test loss {curve[-1, 1]:.4f}")


if __name__ == "__main__":
    main()
