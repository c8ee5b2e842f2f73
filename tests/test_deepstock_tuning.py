"""A tiny study end to end, and resuming after a killed worker loses no finished trial."""
import os
import signal
import subprocess
import sys
import time

import optuna
import pytest

from deepstock_lite.paper.tuning import best_so_far, open_study, rerun_top, run_study


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
    cmd = [sys.executable, "-m", "lab", "tune", "--method", "ds",
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
    running = {t.number: t.params for t in optuna.load_study(study_name="killme", storage=url)
               .trials if t.state == optuna.trial.TrialState.RUNNING}
    resumed = open_study("killme", url)
    again = {t.number: t.value for t in resumed.trials
             if t.state == optuna.trial.TrialState.COMPLETE}
    assert again == finished          # nothing finished was lost or changed
    # the trial the worker was running when killed: failed at once, its configuration queued
    state = {t.number: t.state for t in resumed.trials}
    queued = {t.system_attrs.get("failed_trial"): t.params for t in resumed.trials
              if t.state == optuna.trial.TrialState.WAITING}
    for number, params in running.items():
        if params:                    # killed after it drew its configuration
            assert state[number] == optuna.trial.TrialState.FAIL
            assert queued[number] == params


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="method must be one of"):
        run_study("sac2", "base", "1", 1, storage=f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(ValueError, match="n_trials"):
        run_study("ds", "base", "1", 0, storage=f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(ValueError, match="setting must be one of"):
        run_study("ds", "base", "9", 1, storage=f"sqlite:///{tmp_path}/x.db")


def test_ddpg_objective_runs_on_every_setting():
    from deepstock_lite.paper.tuning import evaluate_config
    params = dict(lr=1e-3, gamma=0.95, batch_size=128, tau=0.01, buffer_size=20_000,
                  exploration_noise=0.1)
    for setting in ("1", "2", "4"):
        out = evaluate_config("ddpg", "base", setting, params, budget="tiny")
        assert set(out) == {"val", "test"}
        assert all(v > 0 and v < float("inf") for v in out.values())


def test_ddpg_reward_rule_reaches_trials_and_runs(tmp_path, monkeypatch):
    """DDPG's reward rule reaches a study's trials and a single run (the current default
    unless told); the option is checked before any training."""
    from deepstock_lite.paper import tuning
    space, _ = tuning.METHODS["ddpg"]
    seen = []

    def run(params, S, reg_kind, seed, budget, surrogate="exact", **kw):
        seen.append(kw)
        return {"val": params["lr"], "test": params["lr"]}
    monkeypatch.setattr(tuning, "METHODS", {**tuning.METHODS, "ddpg": (space, run)})
    monkeypatch.setattr(tuning, "make_setting", lambda *a, **k: None)
    tuning.run_study("ddpg", "base", "1", 2, storage=f"sqlite:///{tmp_path}/r.db")
    tuning.run_study("ddpg", "base", "1", 1, storage=f"sqlite:///{tmp_path}/r.db",
                     study_name="other", reward_norm="reward")
    assert seen == [{}, {}, {"reward_norm": "reward"}]
    params = dict(lr=1e-3, gamma=0.95, batch_size=128, tau=0.01, buffer_size=20_000,
                  exploration_noise=0.1)
    seen.clear()
    tuning.evaluate_config("ddpg", "base", "1", params)
    tuning.evaluate_config("ddpg", "base", "1", params, reward_norm="off")
    assert seen == [{}, {"reward_norm": "off"}]
    with pytest.raises(ValueError, match="reward_norm must be one of"):
        tuning.evaluate_config("ddpg", "base", "1", params, reward_norm="centred")
    with pytest.raises(ValueError, match="reward_norm applies to method 'ddpg' only"):
        tuning.run_study("ds", "base", "1", 1, storage=f"sqlite:///{tmp_path}/r.db",
                         reward_norm="reward")
    assert len(seen) == 2


# -- seeds, parallel workers and dead workers' trials (an instant objective) ------------------
def _instant(monkeypatch=None, seen=None):
    """Replace DS's training by an instant objective (val = test = lr) that records the
    training seed it is given; in this process (monkeypatch) or in a forked worker."""
    from deepstock_lite.paper import tuning
    space, _ = tuning.METHODS["ds"]

    def run(params, S, reg_kind, seed, budget, surrogate="exact"):
        if seen is not None:
            seen.append(seed)
        return {"val": params["lr"], "test": params["lr"]}
    setter = monkeypatch.setattr if monkeypatch is not None else setattr
    setter(tuning, "METHODS", {**tuning.METHODS, "ds": (space, run)})
    setter(tuning, "make_setting", lambda *a, **k: None)


def _worker(url, n, barrier):
    _instant()
    from deepstock_lite.paper import tuning
    barrier.wait()
    tuning.run_study("ds", "base", "1", n, storage=url, study_name="shared",
                     n_startup_trials=4)


def _configs(study):
    return [tuple(sorted(t.params.items())) for t in study.trials
            if t.state == optuna.trial.TrialState.COMPLETE]


def test_two_workers_started_together_draw_distinct_configurations(tmp_path):
    """Two processes started at the same moment on one SQLite study, with the same --seed
    and --sampler-seed: every configuration is distinct (they used to draw the same ones,
    both samplers being seeded with 0), and every trial is counted once."""
    import multiprocessing as mp
    from deepstock_lite.paper import tuning
    url = f"sqlite:///{tmp_path}/shared.db"
    tuning.open_study("shared", url, n_startup_trials=4)     # the study exists before
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_worker, args=(url, 6, barrier)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    study = optuna.load_study(study_name="shared", storage=url)
    configs = _configs(study)
    assert len(configs) == 12 and len(set(configs)) == 12
    assert {t.user_attrs["worker"]["pid"] for t in study.trials} == {p.pid for p in procs}


def test_sampler_and_training_seeds_are_independent(tmp_path, monkeypatch):
    """The training seed reaches every trial and does not change what the sampler draws; one
    worker on a fresh study is reproducible; the sampler seed changes the draws."""
    from deepstock_lite.paper import tuning
    seen = []
    _instant(monkeypatch, seen)
    kw = dict(study_name="s", n_startup_trials=2)
    a = run_study("ds", "base", "1", 4, storage=f"sqlite:///{tmp_path}/a.db", seed=0, **kw)
    b = run_study("ds", "base", "1", 4, storage=f"sqlite:///{tmp_path}/b.db", seed=7, **kw)
    c = run_study("ds", "base", "1", 4, storage=f"sqlite:///{tmp_path}/c.db", seed=0,
                  sampler_seed=1, **kw)
    assert seen == [0] * 4 + [7] * 4 + [0] * 4
    assert _configs(a) == _configs(b)             # the training seed: not the sampler's
    assert not set(_configs(a)) & set(_configs(c))
    assert tuning.trial_seed("s", 0, 3) != tuning.trial_seed("s", 0, 4)
    # resumed, the worker does not repeat the first configurations
    a = run_study("ds", "base", "1", 4, storage=f"sqlite:///{tmp_path}/a.db", **kw)
    assert len(set(_configs(a))) == 8


def test_a_dead_workers_running_trial_is_failed_and_queued_again(tmp_path, monkeypatch):
    """On start, a trial left RUNNING by a dead process of this machine is marked failed and
    its configuration runs next; it counts neither as a failure nor twice. A live worker's
    running trial is left alone."""
    import socket
    import warnings

    from deepstock_lite.paper import tuning
    from lab import paper
    _instant(monkeypatch)
    url = f"sqlite:///{tmp_path}/d.db"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        study = open_study("d", url, n_startup_trials=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")       # ask() outside optimize(): a heartbeat note
            orphans = []
            for pid in (dead.pid, live.pid):
                t = study.ask()
                tuning.METHODS["ds"][0](t, "tiny")
                t.set_user_attr("worker", {"host": socket.gethostname(), "pid": pid})
                orphans.append(t)
        run_study("ds", "base", "1", 3, storage=url, study_name="d", n_startup_trials=2,
                  total=True)
        study = optuna.load_study(study_name="d", storage=url)
        states = {t.number: t.state for t in study.trials}
        assert states[orphans[0].number] == optuna.trial.TrialState.FAIL
        assert states[orphans[1].number] == optuna.trial.TrialState.RUNNING
        done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        assert len(done) == 3
        retried = [t for t in done if t.system_attrs.get("failed_trial") is not None]
        assert [t.system_attrs["failed_trial"] for t in retried] == [orphans[0].number]
        assert retried[0].params == orphans[0].params
        assert retried[0].user_attrs["worker"]["pid"] == os.getpid()
        assert paper.trial_costs(study)[:2] == (0, 1)   # not a failure; one interrupted
        assert tuning.recover_dead_trials(study) == []  # nothing left to recover
    finally:
        live.kill()
        live.wait()
