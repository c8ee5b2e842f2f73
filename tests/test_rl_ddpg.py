"""DDPG: configuration checks, learning, checkpoints, exact resume, divergence guard."""
import numpy as np
import pytest
import torch

from deepstock_lite.rl import BaseStockDecoder, TrainingDivergedError, TrainingResult, ddpg
from deepstock_lite.rl.instances import make_envs

torch.set_num_threads(1)


def small_config(**kw):
    base = dict(total_steps=600, learning_starts=200, batch_size=32, eval_every=200, a_max=50.0,
                hidden=(16, 16), seed=3)
    base.update(kw)
    return ddpg.DDPGConfig(**base)


def envs(**kw):
    return make_envs("a", n_envs=2, horizon=50, eval_paths=20, eval_horizon=100, **kw)


@pytest.mark.parametrize("field,value,exc", [
    ("gamma", 1.5, ValueError), ("tau", 0.0, ValueError), ("batch_size", 0, ValueError),
    ("actor_lr", -1e-3, ValueError), ("hidden", (), TypeError), ("activation", "sigmoid",
                                                                   ValueError),
    ("total_steps", 2.5, TypeError), ("a_max", -1.0, ValueError), ("normalize_obs", 1,
                                                                     TypeError),
    ("reward_norm", True, TypeError), ("reward_norm", "centred", ValueError),
    ("reward_clip", 0.0, ValueError), ("twin_critics", 1, TypeError),
    ("target_noise", -0.1, ValueError), ("target_noise_clip", 0.0, ValueError)])
def test_bad_config_values_name_the_field(field, value, exc):
    with pytest.raises(exc, match=f"DDPGConfig.{field}"):
        ddpg.DDPGConfig(**{field: value})


def test_train_rejects_bad_arguments():
    env, _ = envs()
    with pytest.raises(TypeError, match="config"):
        ddpg.DDPG({"gamma": 0.9}, 2, 50.0)
    with pytest.raises(TypeError, match="VectorEnv"):
        ddpg.train(object(), small_config())
    with pytest.raises(TypeError, match="decoder"):
        ddpg.DDPG(small_config(), 2, 50.0, decoder=3)


def test_short_training_improves_on_the_initial_policy():
    """From a target of ~25 (untrained midpoint of [0, 50], cost +40%) toward 20 (optimum)."""
    env, ev = make_envs("a", n_envs=1, horizon=100, eval_paths=100, eval_horizon=300)
    cfg = ddpg.DDPGConfig(total_steps=6_000, learning_starts=1_000, eval_every=1_000,
                          a_max=50.0, seed=0)
    agent = ddpg.DDPG(cfg, 2, 50.0, BaseStockDecoder(2))
    agent.learn(env, eval_env=ev, quiet=True)
    # the first evaluation comes at the end of the random warm-up, after a single update:
    # the (practically) untrained actor orders up to the middle of its range
    initial = agent.history[0]["eval_cost"]
    assert agent.history[0]["step"] == cfg.learning_starts
    agent.load_best()
    final = agent.evaluate(ev)
    assert initial > 9.0                      # the start is far from the optimum (7.12)
    assert final < 0.85 * initial and final < 8.0, (initial, final)
    hist = agent.history
    assert [h["step"] for h in hist] == list(range(1000, 6001, 1000))
    assert all({"eval_cost", "critic_loss", "wall_time"} <= set(h) for h in hist[1:])
    assert agent.best["eval_cost"] == pytest.approx(final)


def test_checkpoint_gives_identical_actions(tmp_path):
    env, ev = envs()
    result = ddpg.train(env, small_config(), eval_env=ev, decoder=BaseStockDecoder(2),
                        quiet=True)
    # the one result type of every trainer: unpacks as (agent, history), knows its best
    assert isinstance(result, TrainingResult)
    agent, history = result
    assert result.policy is agent and history is agent.history
    assert (result.best_val, result.best_step) == (agent.best["eval_cost"], agent.best["step"])
    path = agent.save(tmp_path / "ddpg.pt")
    back = ddpg.DDPG.load(path)
    obs = np.array([[0.0, 0.0], [10.0, 5.0], [-3.0, 8.0]], np.float32)
    np.testing.assert_array_equal(agent.act(obs), back.act(obs))
    np.testing.assert_array_equal(agent.q_value(obs, [20.0, 20.0, 20.0]),
                                  back.q_value(obs, [20.0, 20.0, 20.0]))
    assert isinstance(back.decoder, BaseStockDecoder)
    assert back.history == agent.history and back.best["eval_cost"] == agent.best["eval_cost"]


@pytest.mark.parametrize("until", [100, 300])   # inside the warm-up (200) and after it
def test_resumed_training_equals_uninterrupted(tmp_path, until):
    env, ev = envs()
    straight = ddpg.DDPG(small_config(), 2, 50.0, BaseStockDecoder(2))
    straight.learn(env, eval_env=ev, quiet=True)

    env2, ev2 = envs()
    first = ddpg.DDPG(small_config(), 2, 50.0, BaseStockDecoder(2))
    first.learn(env2, until=until, eval_env=ev2, quiet=True)
    assert first.global_step == until
    first.save(tmp_path / "mid.pt")
    resumed = ddpg.DDPG.load(tmp_path / "mid.pt")
    resumed.learn(env2, eval_env=ev2, quiet=True)
    assert resumed.global_step == straight.global_step == 600
    again = resumed.state_dict(include_buffer=False)["modules"]
    for name, sd in straight.state_dict(include_buffer=False)["modules"].items():
        for (k, p), q in zip(sd.items(), again[name].values()):
            assert torch.equal(p, q), f"{name}.{k} differs after resume"
    assert [h["eval_cost"] for h in resumed.history] == [h["eval_cost"] for h in straight.history]
    assert resumed.r_scale == straight.r_scale


def test_td3_options_are_off_by_default_and_leave_the_other_networks_alone():
    """twin_critics adds a second critic (and its target) without moving the first networks'
    initial weights; the default agent has none."""
    plain = ddpg.DDPG(small_config(), 2, 50.0, BaseStockDecoder(2))
    td3 = ddpg.DDPG(small_config(twin_critics=True, target_noise=0.2, policy_delay=2), 2, 50.0,
                    BaseStockDecoder(2))
    assert plain.critic2 is None and plain.critic2_target is None
    assert isinstance(td3.critic2, ddpg.Critic)
    for name in ("actor", "critic"):
        for p, q in zip(getattr(plain, name).parameters(), getattr(td3, name).parameters()):
            assert torch.equal(p, q)
    # the one optimizer moves both critics
    assert len(td3.critic_params) == 2 * len(plain.critic_params)


def test_td3_target_takes_the_smaller_critic_and_resumes_exactly(tmp_path):
    """Both critics regress on r + γ min_k Q_k̄(s', π̄(s')) (checked on the loss the update
    reports, without smoothing noise); a TD3 run resumes from a checkpoint as an
    uninterrupted one continues."""
    env, ev = envs()
    agent = ddpg.DDPG(small_config(twin_critics=True), 2, 50.0, BaseStockDecoder(2))
    agent.learn(env, eval_env=ev, quiet=True)
    batch = agent.buffer.sample(64, torch.Generator().manual_seed(0))
    s, s2 = agent.obs_norm(batch["obs"]), agent.obs_norm(batch["next_obs"])
    with torch.no_grad():
        x2 = agent.critic_action(batch["next_obs"], agent.actor_target(s2))
        q1, q2 = agent.critic_target(s2, x2), agent.critic2_target(s2, x2)
        y = agent.scaled_reward(batch["r"]) + 0.9 * (1 - batch["terminated"]) \
            * torch.minimum(q1, q2)
        x = agent.critic_action(batch["obs"], batch["u"])
        expected = ((agent.critic(s, x) - y) ** 2).mean() \
            + ((agent.critic2(s, x) - y) ** 2).mean()
    assert (q1 < q2).any() and (q2 < q1).any()        # the minimum picks from both
    assert agent.update(batch)["critic_loss"] == pytest.approx(expected.item(), rel=1e-6)

    cfg = small_config(twin_critics=True, target_noise=0.2, policy_delay=2)
    straight = ddpg.DDPG(cfg, 2, 50.0, BaseStockDecoder(2))
    env1, ev1 = envs()
    straight.learn(env1, eval_env=ev1, quiet=True)
    env2, ev2 = envs()
    first = ddpg.DDPG(cfg, 2, 50.0, BaseStockDecoder(2))
    first.learn(env2, until=300, eval_env=ev2, quiet=True)
    first.save(tmp_path / "td3.pt")
    resumed = ddpg.DDPG.load(tmp_path / "td3.pt")
    assert resumed.config.twin_critics and resumed.critic2 is not None
    resumed.learn(env2, eval_env=ev2, quiet=True)
    for name in ("actor", "critic", "critic2", "critic2_target"):
        for p, q in zip(getattr(straight, name).parameters(),
                        getattr(resumed, name).parameters()):
            assert torch.equal(p, q), f"{name} differs after resume"
    assert [h["eval_cost"] for h in resumed.history] == [h["eval_cost"] for h in straight.history]


def test_reward_scale_is_the_discounted_return_std_of_the_warm_up():
    """reward_norm="return": rewards divided by the std of G <- γ G + r over the warm-up
    (restarted every episode, each env on its own), not centred, clipped to ±reward_clip."""
    env, _ = envs()                         # 2 envs, episodes of 50 periods
    cfg = small_config(total_steps=200, learning_starts=200, gamma=0.8)
    agent = ddpg.DDPG(cfg, 2, 50.0, BaseStockDecoder(2))
    agent.learn(env, quiet=True)
    r = agent.buffer.rewards().astype(np.float64).reshape(-1, 2)   # (period, env)
    returns, g = [], np.zeros(2)
    for t in range(len(r)):
        g = (0.0 if t % 50 == 0 else 1.0) * 0.8 * g + r[t]
        returns.append(g)
    assert agent.r_shift == 0.0
    assert agent.r_scale == pytest.approx(1.0 / np.std(returns), rel=1e-6)
    scaled = agent.scaled_reward(torch.tensor([-1e9, 0.0, 1e9]))
    assert scaled.tolist() == [-cfg.reward_clip, 0.0, cfg.reward_clip]
    # the earlier rule centres and scales by the rewards themselves, without clipping
    old = ddpg.DDPG(small_config(total_steps=200, learning_starts=200, gamma=0.8,
                                 **ddpg.EARLIER_DEFAULTS), 2, 50.0, BaseStockDecoder(2))
    old.learn(envs()[0], quiet=True)
    assert old.r_shift == pytest.approx(float(r.mean()))
    assert abs(float(old.scaled_reward(np.array([-1e9]))[0])) > 1e3


def test_nan_guard_stops_with_a_clear_message():
    env, _ = envs()
    agent = ddpg.DDPG(small_config(), 2, 50.0)
    with torch.no_grad():
        agent.critic.net[0].weight[0, 0] = float("nan")
    with pytest.raises(TrainingDivergedError, match=r"DDPG training diverged at step \d+: "
                                                    r"critic_loss = nan"):
        agent.learn(env, quiet=True)


def test_parameter_guard_names_the_parameter():
    env, _ = envs()
    agent = ddpg.DDPG(small_config(learning_starts=1000, total_steps=200), 2, 50.0)
    with torch.no_grad():
        agent.actor.net[2].bias[0] = float("inf")
    with pytest.raises(TrainingDivergedError, match="parameter actor.net.2.bias"):
        agent.learn(env, quiet=True)
