"""The paper-experiment scripts run end to end on a tiny budget."""
import json

import pytest

from deepstock_lite.core import results_store
from lab import paper


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """A committed folder and a scratch folder of the test's own (a tiny run writes scratch)."""
    committed = tmp_path / "committed"
    committed.mkdir()
    monkeypatch.setattr(results_store, "RESULTS", committed)
    monkeypatch.setattr(results_store, "SCRATCH", tmp_path)
    return committed


def test_run_setting_tiny(tmp_path, folders):
    data = paper.run_setting("1", trials=2, seeds=(0,), budget="tiny", methods=("ds", "ddpg"),
                             storage=f"sqlite:///{tmp_path}/p.db")
    saved = json.loads((tmp_path / "paper_setting1.json").read_text())
    assert saved["kind"] == "empirical DP" and 0.8 < saved["benchmark"] < 0.95
    assert {(r["method"], r["reg"]) for r in saved["rows"]} == {
        ("ds", "none"), ("ds", "base"), ("ddpg", "none"), ("ddpg", "base")}
    for r in data["rows"]:
        assert len(r["best_so_far_val"]) == 2
        assert r["best_so_far_val"][1] <= r["best_so_far_val"][0]
        assert r["gap"] == r["test"] / data["benchmark"] - 1
        assert [t["val"] for t in r["trials"]] and len(r["trials"]) == 2
        assert min(t["val"] for t in r["trials"]) == r["best_so_far_val"][-1]
    # started again, the sweep resumes: no new trial, the cached re-runs, the same file
    again = paper.run_setting("1", trials=2, seeds=(0,), budget="tiny", methods=("ds", "ddpg"),
                              storage=f"sqlite:///{tmp_path}/p.db")
    for a, b in zip(data["rows"], again["rows"]):
        assert a["trials"] == b["trials"] and a["rerun_test"] == b["rerun_test"]
    # a DDPG study is named after its reward rule; its row carries the earlier DDPG's study
    # when the storage holds it (not here)
    assert paper.study_name("ddpg", "base", "1", "tiny") == "paper-ddpg-base-s1-tiny-return"
    assert paper.study_name("ds", "base", "2", "tiny") == "paper-ds-base-s2-tiny-total"
    for r in data["rows"]:
        assert ("earlier" in r) == (r["method"] == "ddpg")
        assert r.get("earlier") is None


def test_earlier_ddpg_is_read_from_its_study(tmp_path):
    """The earlier DDPG's study (the name without the rule) is read, never trained."""
    import optuna
    storage = f"sqlite:///{tmp_path}/e.db"
    assert paper.earlier_ddpg(storage, "base", "1", "tiny", (0, 1)) is None
    study = optuna.create_study(study_name="paper-ddpg-base-s1-tiny", storage=storage)
    dist = {"lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)}
    for k, v in enumerate((2.0, 1.0)):
        study.add_trial(optuna.trial.create_trial(value=v, params={"lr": 1e-3 * (k + 1)},
                                                  distributions=dist))
    study.set_user_attr("rerun_0_1", {"val": 1.0, "test": 3.0, "cpu_seconds": 1.0})
    assert paper.earlier_ddpg(storage, "base", "1", "tiny", (0, 1)) is None  # seed 1 missing
    study.set_user_attr("rerun_1_1", {"val": 1.0, "test": 5.0, "cpu_seconds": 1.0})
    e = paper.earlier_ddpg(storage, "base", "1", "tiny", (0, 1))
    assert e == {"reward_norm": "reward", "params": {"lr": 2e-3}, "rerun_test": [3.0, 5.0],
                 "test": 4.0}


def test_setting_4_has_its_own_studies_and_no_earlier_ddpg(tmp_path):
    """Setting 4's off-policy studies were tuned afresh after the warm-up cap: their names
    say so, and the earlier DDPG's (tuned before it) is never set beside them."""
    import optuna
    assert paper.study_name("ddpg", "none", "4", "tiny") == \
        "paper-ddpg-none-s4-tiny-return-warmup"
    assert paper.study_name("dsac", "base", "4", "tiny") == "paper-dsac-base-s4-tiny-warmup"
    assert paper.study_name("ppo", "base", "4", "tiny") == "paper-ppo-base-s4-tiny"
    storage = f"sqlite:///{tmp_path}/e.db"
    for name in ("paper-ddpg-none-s4-tiny", "paper-ddpg-none-s4-tiny-return"):
        study = optuna.create_study(study_name=name, storage=storage)
        study.add_trial(optuna.trial.create_trial(
            value=1.0, params={"lr": 1e-3},
            distributions={"lr": optuna.distributions.FloatDistribution(1e-4, 1e-1)}))
        study.set_user_attr("rerun_0_0", {"val": 1.0, "test": 3.0, "cpu_seconds": 1.0})
    assert paper.earlier_ddpg(storage, "none", "4", "tiny", (0,)) is None
    # the same pair before the cap: the study named without "-warmup"
    assert paper.before_warmup_cap(storage, "ddpg", "none", "4", "tiny", (0,)) == {
        "params": {"lr": 1e-3}, "rerun_test": [3.0], "test": 3.0}
    assert paper.before_warmup_cap(storage, "dsac", "none", "4", "tiny", (0,)) is None
    assert paper.before_warmup_cap(storage, "ddpg", "none", "1", "tiny", (0,)) is None


def test_run_setting_reading_and_bad_arguments(tmp_path, folders):
    data = paper.run_setting("3", trials=2, seeds=(0,), budget="tiny", methods=("ds",),
                             regs=("base",), storage=f"sqlite:///{tmp_path}/p.db")
    assert data["reading"] == "total" and "5 train + 5 val" in data["name"]
    with pytest.raises(ValueError, match="reading must be one of"):
        paper.run_setting("3", reading="both", out=False)
    with pytest.raises(TypeError, match="seeds must be"):
        paper.run_setting("3", seeds=3, out=False)


def test_ds_overfit_tiny(tmp_path, folders):
    data = paper.ds_overfit(ns=(5,), horizons=(2, 4), seeds=(0,), epochs=3, out="o")
    assert len(data["rows"]) == 2
    assert json.loads((tmp_path / "o.json").read_text())["rows"][0]["N"] == 5


def test_setting4_benchmark_matches_closed_form():
    import numpy as np
    from scipy import stats
    b = paper.benchmark("4")
    S = paper.SETTINGS["4"]()
    closed = (np.mean(S.data.info["test_sigma"]) * stats.norm.pdf(stats.norm.ppf(0.9)))
    assert abs(b["benchmark"] / closed - 1) < 0.05


def test_trial_costs_separate_interrupted_from_diverged():
    """A trial cut short by a stopped process (failed on resume, then retried) is neither a
    failure nor compute; a diverged trial is both; CPU seconds are preferred to wall time."""
    import datetime

    import optuna

    t0 = datetime.datetime(2026, 1, 1)
    later = t0 + datetime.timedelta(seconds=1000)
    study = optuna.create_study()
    dist = {"x": optuna.distributions.FloatDistribution(0, 1)}
    mk = optuna.trial.create_trial
    study.add_trial(mk(value=1.0, params={"x": 0.5}, distributions=dist,
                       user_attrs={"cpu_seconds": 7.0}))                    # ran: 7 s
    study.add_trial(mk(state=optuna.trial.TrialState.FAIL, params={"x": 0.2},
                       distributions=dist))                                   # interrupted
    study.add_trial(mk(value=2.0, params={"x": 0.2}, distributions=dist,
                       system_attrs={"failed_trial": 1}, user_attrs={"cpu_seconds": 5.0}))
    study.add_trial(mk(state=optuna.trial.TrialState.FAIL, params={"x": 0.9},
                       distributions=dist, user_attrs={"cpu_seconds": 3.0}))  # diverged
    # an old trial without CPU time: its wall time counts
    old = mk(value=3.0, params={"x": 0.1}, distributions=dist)
    old.datetime_start, old.datetime_complete = t0, later
    study.add_trial(old)
    failed, interrupted, seconds = paper.trial_costs(study)
    assert (failed, interrupted) == (1, 1)
    assert abs(seconds - (7.0 + 5.0 + 3.0 + 1000.0)) < 1e-9
