"""Dist. SAC risk-neutral and CVaR on Setting 4 (Chapter 10): known answers and a tiny run."""
import json

import numpy as np
import pytest

from deepstock_lite.core import results_store
from deepstock_lite.paper import tuning
from lab import paper_risk
from deepstock_lite.paper import analysis


def test_optimal_safety_factors_are_ordered_as_the_objectives():
    z = analysis.optimal_z(0.1, 0.9, 0.2, 0.9, n_paths=20_000)
    assert z["mean"] == pytest.approx(1.2815515655446004)       # critical fractile 0.9
    # the CVaR of one period's cost weighs the backorder tail most; the discounted return
    # averages several periods, so its optimum lies between the two
    assert z["mean"] < z["cvar_return"] < z["cvar_period"]
    # one period: CVaR at level 1 is the mean, so its optimum is the critical fractile
    assert analysis.optimal_z(0.1, 0.9, 1.0, 0.9, n_paths=2_000)["cvar_period"] \
        == pytest.approx(1.28, abs=0.02)


def test_cvar_is_the_mean_of_the_worst_share():
    x = np.arange(1.0, 11.0)
    assert analysis.cvar(x, 0.1) == 10.0
    assert analysis.cvar(x, 0.3) == 9.0
    assert analysis.cvar(x, 1.0) == x.mean()
    assert analysis.cvar(x, 0.01) == 10.0                   # at least one value


def test_base_stock_frontier_trades_mean_for_tail():
    S = tuning.make_setting("4")
    f = paper_risk.base_stock_frontier(S, zs=(0.5, 1.3, 2.5))
    assert [r["z"] for r in f] == pytest.approx([0.5, 1.3, 2.5], abs=0.05)
    assert f[0]["stockout_share"] > f[1]["stockout_share"] > f[2]["stockout_share"]
    assert f[1]["mean"] < min(f[0]["mean"], f[2]["mean"])      # near the critical fractile


def test_paper_risk_tiny_runs_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setattr(results_store, "SCRATCH", tmp_path)
    data = paper_risk.run("tiny", out="risk")
    saved = json.loads((tmp_path / "risk.json").read_text())
    assert saved == json.loads(json.dumps(data)) and saved["complete"]
    assert [(r["risk"], r["seed"]) for r in saved["rows"]] == [("neutral", 0), ("cvar", 0)]
    assert all(r["mean"] >= 0.98 * saved["benchmark"] for r in saved["rows"])
    assert saved["config"] == paper_risk.CONFIGS["tiny"]
    # an interrupted file keeps its runs: mark it unfinished with one run, then resume
    saved["complete"], saved["rows"] = False, saved["rows"][:1]
    saved["rows"][0]["marker"] = True
    (tmp_path / "risk.json").write_text(json.dumps(saved))
    again = paper_risk.run("tiny", out="risk")
    assert again["rows"][0].get("marker") and len(again["rows"]) == 2
    with pytest.raises(ValueError, match="jobs"):
        paper_risk.run("tiny", out=None, jobs=0)


def test_off_policy_schedule_keeps_the_warm_up_inside_the_budget():
    for k in "1234":
        s = tuning.off_policy_schedule(k, method="ddpg")
        assert s["learning_starts"] <= s["budget"] // 5 and s["evaluations"] >= 5
        assert s["updates"] == s["after_warmup"]              # one update per transition
    # Settings 1-3 keep their five-episode warm-up; Setting 4's is capped at 2 000
    assert [tuning.off_policy_schedule(k)["learning_starts"] for k in "1234"] == \
        [700, 700, 350, 2000]
    # before the cap, Setting 4's warm-up was the whole budget, with no evaluation
    before = tuning.off_policy_schedule("4", method="dsac", warmup_cap=False)
    assert before["learning_starts"] == before["budget"] == 10_000
    assert before["evaluations"] == 0 and before["updates"] == 57 * 12
    assert before["lr_share_at_first_update"] == pytest.approx(0.05)
