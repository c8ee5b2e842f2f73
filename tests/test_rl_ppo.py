"""PPO: configuration checks, learning, checkpoints, exact resume, divergence guard."""
import numpy as np
import pytest
import torch

from deepstock_lite.rl import BaseStockDecoder, TrainingDivergedError, ppo
from deepstock_lite.rl.instances import make_envs

torch.set_num_threads(1)


def small_config(**kw):
    base = dict(total_steps=1_200, minibatch_size=64, n_epochs=2, eval_every=400, a_max=50.0,
                hidden=(16, 16), seed=5)
    base.update(kw)
    return ppo.PPOConfig(**base)


def envs():
    return make_envs("a", n_envs=8, horizon=50, eval_paths=20, eval_horizon=100)


@pytest.mark.parametrize("field,value,exc", [
    ("gamma", -0.1, ValueError), ("gae_lambda", 1.5, ValueError), ("clip_coef", 0.0, ValueError),
    ("n_epochs", 0, ValueError), ("minibatch_size", 1.5, TypeError), ("hidden", [0], ValueError),
    ("target_kl", -1.0, ValueError), ("activation", "gelu", ValueError),
    ("norm_adv", "yes", TypeError), ("ortho_init", 1, TypeError)])
def test_bad_config_values_name_the_field(field, value, exc):
    with pytest.raises(exc, match=f"PPOConfig.{field}"):
        ppo.PPOConfig(**{field: value})


def test_orthogonal_initialization():
    """ortho_init: orthogonal weights (W W^T = gain^2 I on the short side) with the hidden
    and output gains of CleanRL and SB3, zero biases, and the initial action bias still
    applied after it; the default keeps torch's initialization."""
    agent = ppo.PPO(small_config(ortho_init=True, hidden=(32, 16), initial_action=0.3), 5, 50.0,
                    BaseStockDecoder(2))
    for net, out_gain in ((agent.actor.mu, 0.01), (agent.critic, 1.0)):
        linears = [m for m in net if isinstance(m, torch.nn.Linear)]
        for i, layer in enumerate(linears):
            gain = out_gain if i == len(linears) - 1 else np.sqrt(2.0)
            w = layer.weight.detach().double()
            small = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
            np.testing.assert_allclose(small.numpy(), gain ** 2 * np.eye(min(w.shape)),
                                       atol=1e-5)
            if not (net is agent.actor.mu and i == len(linears) - 1):
                assert torch.count_nonzero(layer.bias) == 0
    assert torch.allclose(agent.actor.mu[-1].bias, torch.tensor([2 * 0.3 - 1.0]))
    plain = ppo.PPO(small_config(), 5, 50.0, BaseStockDecoder(2))
    assert torch.count_nonzero(plain.critic[0].bias) > 0      # torch's default init


def test_log_prob_and_entropy_match_torch():
    actor = ppo.GaussianActor(2, (8,), "tanh", -0.7)
    s, u = torch.randn(5, 2), torch.randn(5, 1)
    logp, ent = actor.log_prob_entropy(s, u)
    mu, log_std = actor(s)
    ref = torch.distributions.Normal(mu, log_std.exp())
    torch.testing.assert_close(logp, ref.log_prob(u).sum(-1))
    torch.testing.assert_close(ent, ref.entropy().sum(-1))


def test_clipped_surrogate_takes_the_pessimistic_term():
    ratio = torch.tensor([0.5, 1.0, 1.5, 0.5, 1.5], requires_grad=True)
    A = torch.tensor([1.0, -1.0, 1.0, -1.0, -1.0])
    value = ppo.clipped_surrogate(ratio, A, 0.2)
    # min(0.5, 0.8), -1, min(1.5, 1.2), min(-0.5, -0.8), min(-1.5, -1.2)
    assert value.item() == pytest.approx((0.5 - 1.0 + 1.2 - 0.8 - 1.5) / 5)
    value.backward()
    # no gradient where the clipped term is the minimum (the ratio left the trust region
    # in the direction the advantage favours)
    torch.testing.assert_close(ratio.grad, torch.tensor([1.0, -1.0, 0.0, 0.0, -1.0]) / 5)


def test_rollout_bootstraps_on_truncation():
    env, _ = envs()
    agent = ppo.PPO(small_config(), 2, 50.0, BaseStockDecoder(2))
    batch = agent.collect(env)
    T = 50
    assert batch["obs"].shape == (T, 8, 2) and batch["adv"].shape == (T, 8)
    # at the last (truncated) step the advantage is r + γ V(s_T) - V(s_{T-1}) and is not zero
    # although no later step exists: the episode is cut, not ended
    assert torch.all(batch["adv"][-1] != 0)
    np.testing.assert_allclose(batch["ret"].numpy(), (batch["adv"] + batch["values"]).numpy(),
                               rtol=1e-5, atol=1e-5)


def test_short_training_improves_on_the_initial_policy():
    env, ev = make_envs("a", n_envs=16, horizon=64, eval_paths=100, eval_horizon=300)
    cfg = ppo.PPOConfig(total_steps=120_000, lr=1e-3, minibatch_size=512, a_max=50.0,
                        eval_every=10_000, seed=0)
    agent = ppo.PPO(cfg, 2, 50.0, BaseStockDecoder(2))
    initial = agent.evaluate(ev)
    agent.learn(env, eval_env=ev, quiet=True)
    agent.load_best()
    final = agent.evaluate(ev)
    assert initial > 9.5, initial               # target ≈ 25: far from the optimum (7.12)
    assert final < 0.85 * initial, (initial, final)
    h = agent.history[-1]
    assert {"approx_kl", "clip_fraction", "entropy", "value_loss", "explained_variance"} <= set(h)
    assert h["log_std"] < -0.5                  # the policy became more deterministic


def test_checkpoint_and_exact_resume(tmp_path):
    env, ev = envs()
    straight = ppo.PPO(small_config(), 2, 50.0, BaseStockDecoder(2))
    straight.learn(env, eval_env=ev, quiet=True)

    env2, ev2 = envs()
    first = ppo.PPO(small_config(), 2, 50.0, BaseStockDecoder(2))
    first.learn(env2, until=400, eval_env=ev2, quiet=True)
    first.save(tmp_path / "ppo.pt")
    back = ppo.PPO.load(tmp_path / "ppo.pt")
    obs = np.array([[0.0, 0.0], [10.0, 5.0]], np.float32)
    np.testing.assert_array_equal(first.act(obs), back.act(obs))
    np.testing.assert_array_equal(first.value(obs), back.value(obs))
    back.learn(env2, eval_env=ev2, quiet=True)
    assert back.global_step == straight.global_step
    again = back.state_dict(include_buffer=False)["modules"]
    for name, sd in straight.state_dict(include_buffer=False)["modules"].items():
        for (k, p), q in zip(sd.items(), again[name].values()):
            assert torch.equal(p, q), f"{name}.{k} differs after resume"


def test_nan_guard_stops_with_a_clear_message():
    env, _ = envs()
    agent = ppo.PPO(small_config(), 2, 50.0)
    with torch.no_grad():
        agent.critic[0].weight[0, 0] = float("nan")
    with pytest.raises(TrainingDivergedError, match=r"PPO training diverged at step 0: "
                                                    r"(policy|value)_loss = nan"):
        agent.learn(env, quiet=True)
