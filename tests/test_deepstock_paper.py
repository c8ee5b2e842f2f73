"""The paper-experiment scripts run end to end on a tiny budget."""
import json

from deepstock_lite.deepstock import experiments, paper


def test_run_setting_tiny(tmp_path, monkeypatch):
    monkeypatch.setattr(experiments, "RESULTS", tmp_path)
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


def test_ds_overfit_tiny(tmp_path, monkeypatch):
    monkeypatch.setattr(experiments, "RESULTS", tmp_path)
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
