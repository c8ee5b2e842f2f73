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
    for bad in (0, 65, 1.5):
        with pytest.raises((ValueError, TypeError), match="n_envs"):
            zipkin_rl.zipkin_rl_run(4, 39, budget="tiny", n_envs=bad)
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
    # overrides on top of the budget's config: the row records the fields the run had
    over = zipkin_rl.zipkin_rl_run(1, 4, algo="ddpg", budget="tiny", overrides={"batch_size": 16})
    assert over["steps_mult"] == 2 and over["config"] == {"batch_size": 16}
    plain = zipkin_rl.zipkin_rl_run(1, 4, algo="ppo", budget="tiny")
    assert "steps_mult" not in plain and "config" not in plain


def test_longer_budget_writes_its_own_file(tmp_path, monkeypatch):
    monkeypatch.setattr(results_store, "RESULTS", tmp_path / "committed")
    monkeypatch.setattr(results_store, "SCRATCH", tmp_path)
    (tmp_path / "committed").mkdir()
    path, old = zipkin_rl.target("zipkin_rl_longer", budget="longer", write=True)
    assert path == tmp_path / "committed" / "zipkin_rl_longer.json" and old is None


def test_ppo_ortho_budget_is_the_table_with_orthogonal_ppo_weights():
    """``--budget ppo_ortho``: the full budget, PPO's initial weights orthogonal (recorded in
    the row), PPO only; its own committed file."""
    B, full = zipkin_rl._BUDGETS["ppo_ortho"], zipkin_rl._BUDGETS["full"]
    assert {k: v for k, v in B.items() if k not in ("config", "algos")} == full
    assert B["config"] == {"ppo": {"ortho_init": True}} and B["algos"] == ("ppo",)
    assert zipkin_rl.default_out("ppo_ortho") == "zipkin_rl_ppo_ortho"
    # its paired control: the table's PPO again, in its own file
    assert zipkin_rl._BUDGETS["ppo_torch"] == {**full, "algos": ("ppo",)}
    assert zipkin_rl.default_out("ppo_torch") == "zipkin_rl_ppo_torch"
    with pytest.raises(ValueError, match="runs only algos"):
        zipkin_rl.zipkin_rl_sweep(algos=("ddpg",), budget="ppo_ortho", out=None)


def test_discounted_action_costs_solve_the_discounted_bellman_equation():
    """J(s, z) = E v(s'), v = c + gamma min_z J; the discounted-optimal orders are the argmin,
    and at L = 1 they are optimal for the average cost too (one order, one period)."""
    import numpy as np
    from deepstock_lite.classical import DiscreteDemand, LookupPolicy, evaluate_policy_exact
    from lab import zipkin_rl_critic as zc

    space, starts, J, orders = zc.discounted_action_costs(2, 9, 0.9)
    mins = np.minimum.reduceat(J, starts)
    assert J[starts + orders] == pytest.approx(mins)
    room = space.room()
    rows = np.repeat(np.arange(space.n), room + 1)
    z = np.arange(len(rows)) - np.repeat(starts, room + 1)
    v = space.cost + 0.9 * mins
    assert J == pytest.approx(space.transitions(rows, z) @ v, abs=1e-7)
    law = DiscreteDemand.poisson(zc.MEAN)
    one = zc.discounted_action_costs(1, 19, 0.9)
    cost = evaluate_policy_exact(law, policy=LookupPolicy(one[0], one[3]), L=1, h=1, b=19).cost
    assert cost == pytest.approx(zipkin_rl.solve_lost_sales(law, L=1, h=1, b=19).cost, abs=1e-6)


def test_interpolated_cost_is_linear_between_orders_and_continued_outside():
    import torch
    from lab import zipkin_rl_critic as zc

    J = torch.tensor([5.0, 3.0, 4.0, 7.0, 1.0])      # state 0: orders 0..2, state 1: 0..1
    # beyond 0..room the first and the last unit's slopes continue
    starts, room = torch.tensor([0, 3]), torch.tensor([2.0, 1.0])
    idx = torch.tensor([0, 0, 0, 0, 1, 1])
    q = torch.tensor([0.1, 0.25, 1.5, 9.0, -3.0, 0.5], requires_grad=True)
    out = zc._interpolated_cost(J, starts, room, idx, q)
    assert out.tolist() == pytest.approx([4.8, 4.5, 3.5, 3.0 + 8.0, 7.0 + 3.0 * 6.0, 4.0])
    out.sum().backward()
    assert q.grad.tolist() == pytest.approx([-2.0, -2.0, 1.0, 1.0, -6.0, -6.0])


def test_exact_critic_tiny_run_resumes(tmp_path, monkeypatch):
    from lab import zipkin_rl_critic as zc

    monkeypatch.setattr(results_store, "RESULTS", tmp_path / "committed")
    monkeypatch.setattr(results_store, "SCRATCH", tmp_path)
    data = zc.run_critic("tiny", out="c", quiet=True)
    # the actor on the exact critic, the table's run, DDPG with dist. SAC's critics, then
    # the longer budget's runs with DDPG's own critic and with dist. SAC's (tiny: the table's
    # budget with a minibatch of 64), last dist. SAC's settings with DDPG's actor, with dist.
    # SAC's critics and with DDPG's own, then with DDPG's reward rule, with either critic
    (row, learned, quantile, plain_long, q_long, q_settings, p_settings, p_return,
     q_return) = data["rows"]
    assert quantile["critic"] == "quantile" and len(quantile["checkpoints"]) >= 1
    assert [plain_long["critic"], q_long["critic"]] == ["plain_longer", "quantile_longer"]
    assert q_long["config"] == plain_long["config"] == {"batch_size": 64}
    assert q_settings["critic"] == "quantile_dsac_settings" and q_settings["n_envs"] == 2
    assert q_settings["config"] == p_settings["config"] == {"batch_size": 64,
                                                           "reward_norm": "reward"}
    assert p_settings["critic"] == "plain_dsac_settings" and p_settings["n_envs"] == 2
    assert "n_envs" not in q_long                     # the chapters' width is not recorded
    assert len({learned["gap"], quantile["gap"], q_long["gap"], plain_long["gap"],
                q_settings["gap"]}) == 5
    assert len(p_settings["checkpoints"]) == len(q_settings["checkpoints"]) >= 1
    with pytest.raises(ValueError, match="critic"):
        zc.dsac_settings_run(2, 4, 0, budget="tiny", critic="exact")
    assert p_return["critic"] == "plain_dsac_settings_return" and p_return["n_envs"] == 2
    assert p_return["config"] == q_return["config"] == {"batch_size": 64,
                                                        "reward_norm": "return"}
    assert q_return["critic"] == "quantile_dsac_settings_return"
    with pytest.raises(ValueError, match="variant"):
        zc.dsac_settings_run(2, 4, 0, budget="tiny", critic="plain", variant="huge")
    with pytest.raises(ValueError, match="critic"):
        zc.longer_run(2, 4, 0, budget="tiny", critic="exact")
    assert (row["L"], row["b"], row["seed"], row["critic"]) == (2, 4, 0, "exact")
    assert learned["critic"] == "learned" and learned["gap"] == zipkin_rl.zipkin_rl_run(
        2, 4, budget="tiny")["gap"]                   # the table's run, unchanged
    assert all(c["critic_gap"] >= -1e-9 for c in learned["checkpoints"])
    assert row["gap"] == row["checkpoints"][-1]["gap"] and row["gap"] >= -1e-9
    assert 0.0 <= data["discounted_optimum"]["2,4"]["gap"] < 0.01
    assert zc.exact_critic_run(2, 4, 0, budget="tiny")["gap"] == row["gap"]  # seeded
    again = zc.run_critic("tiny", out="c", quiet=True)
    assert again["rows"] == json.loads((tmp_path / "c.json").read_text())["rows"]
    with pytest.raises(ValueError, match="budget"):
        zc.run_critic("huge")


def test_critic_greedy_orders_to_the_critics_best_target():
    """A critic that values the target y = position + z as -(y - 10)^2 recommends ordering up
    to 10 (nothing above it), within the exact model's bound S."""
    import types
    import numpy as np
    from lab import zipkin_rl_critic as zc

    a_max = 24.0
    agent = types.SimpleNamespace(
        obs_dim=2, a_max=a_max, obs_norm=lambda o: o, critic_action=lambda o, u: u,
        critic=lambda s, u: -((u[:, 0] + 1.0) * a_max / 2.0 - 10.0) ** 2)
    states = np.array([[0.0, 0.0], [3.0, 4.0], [9.0, 3.0], [12.0, 0.0]])
    assert zc.CriticGreedy(agent, S=12).act(states).tolist() == [10.0, 3.0, 0.0, 0.0]
    assert zc.CriticGreedy(agent, S=8, chunk=3).act(states).tolist() == [8.0, 1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="checkpoint_extra"):
        zipkin_rl.zipkin_rl_run(2, 4, budget="tiny", checkpoint_extra=lambda a: {})
    with pytest.raises(ValueError, match="agent_type"):
        zipkin_rl.zipkin_rl_run(2, 4, budget="tiny", agent_type=zc.QuantileCriticDDPG)
    with pytest.raises(ValueError, match="agent_type"):
        zipkin_rl.zipkin_rl_run(2, 4, budget="tiny", score_checkpoints=True, agent_type=dict)


def test_quantile_critic_ddpg_keeps_ddpgs_actor_and_learns():
    """DDPG with dist. SAC's critics: the same initial actor as DDPG's, two quantile critics
    of dist. SAC's width, and an update that moves both critics and the actor."""
    import torch
    from deepstock_lite.rl import ddpg, dsac
    from lab import zipkin_rl_critic as zc

    cfg = ddpg.DDPGConfig(seed=3, a_max=20.0)
    plain, q = ddpg.DDPG(cfg, 2, 20.0), zc.QuantileCriticDDPG(cfg, 2, 20.0)
    for a, b in zip(plain.actor.parameters(), q.actor.parameters()):
        assert torch.equal(a, b)
    s = torch.randn(1, 2)
    assert q.z[0](s, torch.zeros(1, 1)).shape == (1, dsac.DSACConfig().n_quantiles)
    batch = {"obs": torch.rand(8, 2), "next_obs": torch.rand(8, 2), "u": torch.rand(8, 1),
             "r": -torch.rand(8), "terminated": torch.zeros(8)}
    before = [p.clone() for p in q.actor.parameters()] + [p.clone() for p in q.critic_params]
    out = q.update(batch)
    after = list(q.actor.parameters()) + q.critic_params
    assert all(not torch.equal(x, y) for x, y in zip(before, after))
    assert set(out) == {"critic_loss", "actor_loss"}
