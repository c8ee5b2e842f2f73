"""A tiny study end to end, and resuming after a killed worker loses no finished trial."""
import os
import signal
import subprocess
import sys
import time

import optuna
import pytest

from deepstock_lite.deepstock.tuning import best_so_far, open_study, rerun_top, run_study


def test_tiny_study_end_to_end(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    study = run_study("ds", "base", "1", 3, storage=url, n_startup_trials=2, budget="tiny")
    curve = best_so_far(study)
    assert curve.shape == (3, 2)
    assert all(curve[i + 1, 0] <= curve[i, 0] for i in range(2))
    # the same study continues where it stopped
    study = run_study("ds", "base", "1", 2, storage=url, n_startup_trials=2, budget="tiny")
    assert len(best_so_far(study)) == 5
    top = rerun_top(study, "ds", "base", "1", k=2, seeds=(0, 1), budget="tiny")
    assert len(top) == 2 and len(top[0]["test"]) == 2
    assert top[0]["mean_val"] <= top[1]["mean_val"]


def test_killed_worker_loses_no_finished_trial(tmp_path):
    url = f"sqlite:///{tmp_path}/k.db"
    cmd = [sys.executable, "-m", "deepstock_lite.deepstock.tuning", "--method", "ds",
           "--reg", "none", "--setting", "1", "--trials", "200", "--budget", "tiny",
           "--storage", url, "--study", "killme", "--startup", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    study = None
    deadline = time.time() + 120
    while time.time() < deadline:
        time.sleep(1.0)
        try:
            study = optuna.load_study(study_name="killme", storage=url)
        except KeyError:
            continue
        if sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials) >= 3:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = {t.number: t.value for t in optuna.load_study(study_name="killme", storage=url)
                .trials if t.state == optuna.trial.TrialState.COMPLETE}
    assert len(finished) >= 3
    resumed = open_study("killme", url)
    again = {t.number: t.value for t in resumed.trials
             if t.state == optuna.trial.TrialState.COMPLETE}
    assert again == finished          # nothing finished was lost or changed


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="method must be one of"):
        run_study("sac2", "base", "1", 1, storage=f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(ValueError, match="n_trials"):
        run_study("ds", "base", "1", 0, storage=f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(ValueError, match="setting must be one of"):
        run_study("ds", "base", "9", 1, storage=f"sqlite:///{tmp_path}/x.db")


def test_ddpg_objective_runs_on_every_setting():
    from deepstock_lite.deepstock.tuning import evaluate_config
    params = dict(lr=1e-3, gamma=0.95, batch_size=128, tau=0.01, buffer_size=20_000,
                  exploration_noise=0.1)
    for setting in ("1", "2", "4"):
        out = evaluate_config("ddpg", "base", setting, params, budget="tiny")
        assert set(out) == {"val", "test"}
        assert all(v > 0 and v < float("inf") for v in out.values())
