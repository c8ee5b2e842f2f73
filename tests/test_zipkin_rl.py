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


def test_target_structure_compares_with_the_optimal_target():
    """The bias and correlation of an agent's targets against the optimal policy's implied
    targets q* + position, at the states where the optimal order is positive."""
    import numpy as np
    from lab import zipkin_rl_structure as zs

    states, orders = zs.optimal_states(2, 9, paths=3, periods=40)
    assert states.shape == (120, 2) and orders.shape == (120,) and (orders > 0).any()
    y_opt = (orders + states.sum(1))[orders > 0]

    class Exact:                     # an agent whose target is the optimal one, plus 2
        def raw_action(self, s):
            i = [int(np.flatnonzero((states == row).all(1))[0]) for row in s]
            return orders[i] + s.sum(1) + 2.0
    out = zs.target_structure(Exact(), states, orders)
    assert out["bias"] == pytest.approx(2.0) and out["corr"] == pytest.approx(1.0)
    assert out["n_states"] == len(y_opt) and out["sd_agent"] == pytest.approx(out["sd_optimal"])

    class Constant:                  # a base-stock policy: no dependence on the state
        def raw_action(self, s):
            return np.full(len(s), 30.0)
    flat = zs.target_structure(Constant(), states, orders)
    assert flat["corr"] == 0.0 and flat["sd_agent"] == 0.0


def test_structure_tiny_run_resumes(tmp_path, monkeypatch):
    from lab import zipkin_rl_structure as zs

    monkeypatch.setattr(results_store, "RESULTS", tmp_path / "committed")
    monkeypatch.setattr(results_store, "SCRATCH", tmp_path)
    data = zs.run_structure("tiny", out="s", quiet=True)
    row, variant = data["rows"]       # the chapters' configuration, then the variant
    assert (row["L"], row["b"], row["algo"]) == (4, 39, "ddpg") and "variant" not in row
    assert -1.0 <= row["corr"] <= 1.0 and row["n_states"] > 0 and row["gap"] >= -1e-9
    assert variant["variant"] == "batch_64" and variant["config"] == {"batch_size": 64}
    assert variant["corr"] != row["corr"]              # another minibatch, another run
    with pytest.raises(TypeError, match="overrides"):
        zipkin_rl.zipkin_rl_run(4, 39, budget="tiny", overrides=[("batch_size", 8)])
    again = zs.run_structure("tiny", out="s", quiet=True)
    assert again["rows"] == json.loads((tmp_path / "s.json").read_text())["rows"]
    with pytest.raises(ValueError, match="budget"):
        zs.run_structure("huge")


def test_scoring_checkpoints_leaves_training_unchanged():
    """score_checkpoints: the exact gap of the policy after every evaluation, in a run whose
    kept policy and gap are those of the plain run (DDPG only)."""
    plain = zipkin_rl.zipkin_rl_run(4, 39, algo="ddpg", budget="tiny", seed=1)
    scored = zipkin_rl.zipkin_rl_run(4, 39, algo="ddpg", budget="tiny", seed=1,
                                     score_checkpoints=True)
    cps = scored.pop("checkpoints")
    assert {k: v for k, v in scored.items() if k != "cpu_seconds"} \
        == {k: v for k, v in plain.items() if k != "cpu_seconds"}
    assert [c["step"] for c in cps] == sorted(c["step"] for c in cps)
    assert cps[-1]["step"] == scored["total_steps"] and all(c["gap"] > -1e-9 for c in cps)
    # the tiny budget's evaluations fall inside an episode: the end of that episode is scored,
    # with no validation cost of its own; the last falls at the run's end
    assert cps[0]["eval_cost"] is None and cps[-1]["eval_cost"] is not None
    with pytest.raises(ValueError, match="score_checkpoints"):
        zipkin_rl.zipkin_rl_run(4, 39, algo="ppo", budget="tiny", score_checkpoints=True)


def test_longer_budget_multiplies_the_transitions_and_records_its_config(monkeypatch):
    """``--budget longer``: each agent's transitions times its ``steps_mult`` (before a
    smoke-test scale), its ``config`` fields, both recorded in the row; its own file."""
    cfg = zipkin_rl._setup("ppo", 0, 1.0, steps_mult=2)[2]
    assert cfg.total_steps == 600_000 and cfg.eval_every == 10_240
    assert zipkin_rl._setup("dsac", 0, 0.5, steps_mult=4)[2].total_steps == 40_000
    assert zipkin_rl.default_out("longer") == "zipkin_rl_longer"
    assert zipkin_rl.default_out("full") == zipkin_rl.default_out("tiny") == "zipkin_rl"
    tiny = dict(zipkin_rl._BUDGETS["tiny"], steps_mult={"ddpg": 2},
                config={"ddpg": {"batch_size": 32}})
    monkeypatch.setitem(zipkin_rl._BUDGETS, "tiny", tiny)
    row = zipkin_rl.zipkin_rl_run(1, 4, algo="ddpg", budget="tiny")
    assert row["steps_mult"] == 2 and row["config"] == {"batch_size": 32}
    assert row["total_steps"] == 1_000          # 2 x 25 000 x 0.02
    plain = zipkin_rl.zipkin_rl_run(1, 4, algo="ppo", budget="tiny")
    assert "steps_mult" not in plain and "config" not in plain


def test_longer_budget_writes_its_own_file(tmp_path, monkeypatch):
    monkeypatch.setattr(results_store, "RESULTS", tmp_path / "committed")
    monkeypatch.setattr(results_store, "SCRATCH", tmp_path)
    (tmp_path / "committed").mkdir()
    path, old = zipkin_rl.target("zipkin_rl_longer", budget="longer", write=True)
    assert path == tmp_path / "committed" / "zipkin_rl_longer.json" and old is None
