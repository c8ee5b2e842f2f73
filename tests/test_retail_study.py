"""The Chapter 11 experiment scripts, end to end on a tiny budget."""
import json

import numpy as np
import pytest

from deepstock_lite.paper import retail_study as rs
from lab import retail_study as rs_lab
from deepstock_lite.core.decoding import Regularization


def test_table1_tiny_runs_every_pair_and_writes_a_results_file(tmp_path):
    out = tmp_path / "t1"
    data = rs_lab.table1(methods=("ddpg", "ds"), kinds=("none", "both"), budget="tiny",
                     out=str(out))
    on_disk = json.loads((tmp_path / "t1.json").read_text())
    assert on_disk["rows"] == data["rows"]
    assert {(r["method"], r["kind"]) for r in data["rows"]} == {
        ("ddpg", "none"), ("ddpg", "both"), ("ds", "none"), ("ds", "both")}
    for r in data["rows"]:
        assert 0 <= r["stockout_rate"] <= 100 and r["turnover_days"] >= 0
        assert np.isfinite(r["objective"]) and np.isfinite(r["val_objective"])
        # J = 100 SR + w TT with SR in percent already
        assert r["objective"] == pytest.approx(r["stockout_rate"]
                                               + data["study"]["weight"] * r["turnover_days"])
    assert [h["method"] for h in data["heuristics"]] == ["base_stock", "s_S"]
    rel = rs.relative_to(data["rows"])
    assert rel[("ddpg", "both")]["d_stockout_pp"] == 0.0


def test_pareto_tiny_records_each_weight(tmp_path):
    data = rs_lab.pareto(weights=(0.1, 1.0), budget="tiny", out=str(tmp_path / "p"))
    assert [r["weight"] for r in data["rows"]] == [0.1, 1.0]
    assert sorted({h["weight"] for h in data["heuristics"]}) == [0.1, 1.0]


def test_relative_to_is_per_seed_and_averaged():
    rows = [
        {"method": "ddpg", "kind": "both", "seed": 0, "stockout_rate": 1.0,
         "turnover_days": 10.0, "objective": 2.0},
        {"method": "ddpg", "kind": "both", "seed": 1, "stockout_rate": 2.0,
         "turnover_days": 20.0, "objective": 4.0},
        {"method": "ds", "kind": "none", "seed": 0, "stockout_rate": 1.5,
         "turnover_days": 8.0, "objective": 2.3},
        {"method": "ds", "kind": "none", "seed": 1, "stockout_rate": 3.0,
         "turnover_days": 19.0, "objective": 4.9},
    ]
    rel = rs.relative_to(rows)
    assert rel[("ds", "none")]["d_stockout_pp"] == pytest.approx((0.5 + 1.0) / 2)
    assert rel[("ds", "none")]["d_turnover_days"] == pytest.approx((-2.0 - 1.0) / 2)
    assert rel[("ds", "none")]["objective"] == pytest.approx(3.6)


def test_retail_regularization_reads_the_env_layout():
    study = rs.RetailStudy(n_skus=40, horizon=30)
    _, _, envs = study.build()
    env = envs["train"]
    both = rs.retail_regularization("both", env)
    assert isinstance(both, Regularization) and both.n_outputs == 5
    assert both.feature_index == env.demand_feature_index
    assert [env.obs_names[i] for i in both.feature_index] == [
        "sales_mean_7", "sales_mean_28", "forecast_7", "forecast_28"]
    assert rs.retail_regularization("base", env).L == env.position_L


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="n_skus"):
        rs.RetailStudy(n_skus=5)
    with pytest.raises(ValueError, match="weight"):
        rs.RetailStudy(weight=-1.0)
    with pytest.raises(ValueError, match="method"):
        rs.fit_method("a2c", "both", rs.RetailStudy(n_skus=40, horizon=30), budget="tiny")
    with pytest.raises(ValueError, match="budget"):
        rs.fit_method("ds", "both", rs.RetailStudy(n_skus=40, horizon=30), budget="huge")
    with pytest.raises(ValueError, match="kind"):
        rs.retail_regularization("ridge", None)


def test_the_study_can_use_the_cost_objective():
    study = rs.RetailStudy(n_skus=40, horizon=30, objective="cost")
    _, _, envs = study.build()
    assert all(e.objective == "cost" for e in envs.values())
    row, _ = rs.fit_method("ddpg", "both", study, budget="tiny", envs=envs)
    assert row["objective"] > 0 and np.isfinite(row["val_objective"])
    with pytest.raises(ValueError, match="objective"):
        rs.RetailStudy(objective="profit")


def test_table1_with_the_order_critic_is_a_ddpg_option(tmp_path):
    with pytest.raises(ValueError, match="critic_input"):
        rs_lab.table1(methods=("ddpg", "ds"), budget="tiny", critic_input="order", out=None)
    with pytest.raises(ValueError, match="critic_input"):
        rs_lab.table1(methods=("ddpg",), budget="tiny", critic_input="q", out=None)
    data = rs_lab.table1(methods=("ddpg",), kinds=("both",), budget="tiny",
                     critic_input="order", out=str(tmp_path / "oc"))
    assert data["critic_input"] == "order" and "--critic-input order" in data["command"]
    assert [(r["method"], r["kind"]) for r in data["rows"]] == [("ddpg", "both")]
    with pytest.raises(TypeError, match="overrides"):
        rs.fit_method("ds", "both", rs.RetailStudy(n_skus=40, horizon=30), "tiny",
                      overrides={"critic_input": "order"})


def test_table1_clamp_gradient_is_a_ddpg_option_with_its_own_file(tmp_path):
    with pytest.raises(ValueError, match="clamp_gradient"):
        rs_lab.table1(methods=("ddpg", "ppo"), budget="tiny", clamp_gradient="zero", out=None)
    with pytest.raises(ValueError, match="clamp_gradient"):
        rs_lab.table1(methods=("ddpg",), budget="tiny", clamp_gradient="leaky", out=None)
    data = rs_lab.table1(methods=("ddpg",), kinds=("base",), budget="tiny",
                     critic_input="order", clamp_gradient="pass", out=str(tmp_path / "st"))
    assert data["clamp_gradient"] == "pass"
    assert ("--kinds base --critic-input order --clamp-gradient pass --out"
            in data["command"])
    # a file of one gradient rule does not resume or take rows from another
    with pytest.raises(Exception, match="clamp_gradient"):
        rs_lab.table1(methods=("ddpg",), kinds=("base",), budget="tiny", critic_input="order",
                  out=str(tmp_path / "st"))
