"""The Zipkin-table RL study runs end to end on a tiny budget, scores policies exactly and
resumes from its results file."""
import json

import pytest

from deepstock_lite.core import results_store
from lab import zipkin_rl


def test_tiny_sweep_scores_exactly_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setattr(results_store, "RESULTS", tmp_path / "committed")
    monkeypatch.setattr(results_store, "SCRATCH", tmp_path)     # a tiny run writes scratch
    data = zipkin_rl.zipkin_rl_sweep(cells=[(1, 4)], algos=("ddpg", "ppo"), regs=("base",),
                                     seeds=(0,), budget="tiny", out="z", quiet=True)
    rows = data["rows"]
    assert [(r["algo"], r["reg"]) for r in rows] == [("ddpg", "base"), ("ppo", "base")]
    for r in rows:
        assert r["optimal"] == pytest.approx(4.04, abs=0.005)  # Zipkin (2008), L=1, b=4
        assert r["cost"] >= r["optimal"] - 1e-9 and r["gap"] >= -1e-9
    saved = json.loads((tmp_path / "z.json").read_text())
    assert len(saved["rows"]) == 2 and "1,4" in saved["capped_base_stock"]
    # a second call finds every run done and trains nothing
    again = zipkin_rl.zipkin_rl_sweep(cells=[(1, 4)], algos=("ddpg", "ppo"), regs=("base",),
                                      seeds=(0,), budget="tiny", out="z", quiet=True)
    assert again["rows"] == saved["rows"]


def test_bad_arguments():
    with pytest.raises(ValueError, match="cells"):
        zipkin_rl.zipkin_rl_run(2, 5)
    with pytest.raises(ValueError, match="algo"):
        zipkin_rl.zipkin_rl_run(2, 4, algo="sac")
    with pytest.raises(ValueError, match="budget"):
        zipkin_rl.zipkin_rl_run(2, 4, budget="huge")
