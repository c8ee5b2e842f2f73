"""What the paper-reproduction sweep of Chapter 10 costs, read from its Optuna storages.

    python benchmarks/paper_sweep.py                 # studies/paper_s1.db ... paper_s4.db
    python benchmarks/paper_sweep.py --studies DIR

For each setting and each (method, decoding) study: finished trials, trials that failed by
themselves (diverged), trials cut short by a stopped process (re-run on resume, not counted),
and the compute of the trials plus the re-runs of the best configuration. Compute is the CPU
time each trial recorded (one torch thread); trials run before CPU time was recorded count
their wall time, which on a shared machine overstates them. The last line divides the total
by two: the wall time of the documented two-process run on a 2-core machine, if the cores
are otherwise idle.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

# the lab (python -m lab) is a folder of the repository, not an installed package
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]


def study_rows(path):
    import optuna

    from lab.paper import trial_costs, trial_seconds

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = f"sqlite:///{path}"
    rows = []
    for summary in sorted(optuna.get_all_study_summaries(storage), key=lambda s: s.study_name):
        study = optuna.load_study(study_name=summary.study_name, storage=storage)
        failed, interrupted, seconds = trial_costs(study)
        done = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
        cpu_recorded = sum("cpu_seconds" in t.user_attrs for t in study.trials)
        reruns = [v for k, v in study.user_attrs.items() if k.startswith("rerun_")]
        rerun_s = sum(v.get("cpu_seconds", 0.0) for v in reruns)
        # trials that took more than 10x their study's median (only wall-timed trials run on
        # an overloaded machine do): their excess over the median, reported apart
        secs = [trial_seconds(t) for t in study.trials
                if t.state == optuna.trial.TrialState.COMPLETE]
        med = float(np.median(secs)) if secs else 0.0
        excess = sum(x - med for x in secs if x > 10 * med)
        rows.append({"study": summary.study_name, "done": done, "failed": failed,
                     "outlier_excess_seconds": excess,
                     "interrupted": interrupted, "cpu_recorded": cpu_recorded,
                     "trial_seconds": seconds, "reruns": len(reruns),
                     "rerun_seconds": rerun_s})
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(prog="python benchmarks/paper_sweep.py")
    p.add_argument("--studies", default=str(ROOT / "studies"))
    a = p.parse_args(argv)
    total, excess = 0.0, 0.0
    print(f"{'study':<36}{'trials':>7}{'failed':>7}{'cut':>5}{'cpu rec.':>9}"
          f"{'trials s':>10}{'re-runs':>8}{'re-run s':>9}")
    out = []
    for k in "1234":
        path = Path(a.studies) / f"paper_s{k}.db"
        if not path.exists():
            print(f"setting {k}: no storage {path}")
            continue
        sub = 0.0
        for r in study_rows(path):
            out.append(r)
            sub += r["trial_seconds"] + r["rerun_seconds"]
            excess += r["outlier_excess_seconds"]
            print(f"{r['study']:<36}{r['done']:>7}{r['failed']:>7}{r['interrupted']:>5}"
                  f"{r['cpu_recorded']:>9}{r['trial_seconds']:>10.0f}{r['reruns']:>8}"
                  f"{r['rerun_seconds']:>9.0f}")
        print(f"setting {k}: {sub / 3600:.2f} h of compute")
        total += sub
    print(f"all settings: {total / 3600:.2f} h of compute; two processes on two idle cores: "
          f"about {total / 2 / 3600:.2f} h of wall time")
    print(f"of which {excess / 3600:.2f} h in trials that took over 10 times their study's "
          f"median (run on an overloaded machine); without that excess: "
          f"{(total - excess) / 3600:.2f} h, about {(total - excess) / 2 / 3600:.2f} h on two "
          f"cores")
    return out


if __name__ == "__main__":
    main()
