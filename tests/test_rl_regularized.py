"""DeepStock's regularizations plugged into the three RL agents (multi-output actors).

The learning problem has a known optimum: a newsvendor per SKU (L = 0, backorders,
h = 1, b = 9) with demand N(μ_i, (0.2 μ_i)²) and the feature μ_i in the observation. The
optimal policy orders up to μ_i (1 + 0.2 z₀.₉), which *Both* can represent exactly with
``days · c · μ_i`` (c = (1 + 0.2 z)/days), so each agent must come close to it.
"""
import numpy as np
import pytest

from deepstock_lite.core.simulator import InventorySystem
from deepstock_lite.paper import Regularization
from deepstock_lite.envs import BatchInventoryEnv
from deepstock_lite.rl import DDPG, PPO, DSAC, ddpg, dsac, ppo
from deepstock_lite.core.decoding import make_decoder

Z90 = 1.2815515655446004


def _paths(n, T, rng):
    mu = rng.uniform(5, 20, n)
    D = np.maximum(rng.normal(mu[:, None], 0.2 * mu[:, None], (n, T)), 0)
    return D, np.repeat(mu[:, None, None], T, 1)


@pytest.fixture(scope="module")
def envs():
    rng = np.random.default_rng(0)
    system = InventorySystem(L=0, P=1, h=1, b=9, backlog=True)
    Dtr, Ftr = _paths(512, 40, rng)
    Dev, Fev = _paths(256, 40, rng)
    train = BatchInventoryEnv(system, Dtr, 40, 60.0, n_envs=64, features=Ftr, on_hand=10.0)
    ev = BatchInventoryEnv(system, Dev, 40, 60.0, features=Fev, on_hand=10.0)
    optimum = ev.rollout(lambda o: np.maximum(o[:, 1] * (1 + 0.2 * Z90) - o[:, 0], 0))
    return train, ev, optimum


def both():
    return Regularization("both", L=0, feature_index=(1,), days=2.0, bias_scale=5.0)


@pytest.mark.parametrize("algo,config,tol", [
    (ddpg, ddpg.DDPGConfig(total_steps=30_000, learning_starts=2_000, eval_every=4_000,
                           gradient_steps=16, exploration_noise=0.1, seed=0), 0.06),
    (ppo, ppo.PPOConfig(total_steps=100_000, eval_every=10_000, log_std_init=-1.6, seed=0),
     0.04),
    (dsac, dsac.DSACConfig(total_steps=20_000, learning_starts=2_000, eval_every=4_000,
                           gradient_steps=16, seed=0), 0.05),
])
def test_both_regularized_agents_learn_the_contextual_newsvendor(envs, algo, config, tol):
    train, ev, optimum = envs
    agent, _ = algo.train(train, config, eval_env=ev, decoder=both(), quiet=True)
    assert agent.act_dim == 2
    gap = agent.evaluate(ev) / optimum - 1
    print(f"{agent.algo} + Both: gap to the optimum {100 * gap:.2f}%")
    assert gap < tol


@pytest.mark.parametrize("cls", [DDPG, PPO, DSAC])
def test_multi_output_actions_shapes_and_checkpoint(envs, cls, tmp_path):
    train, ev, _ = envs
    reg = Regularization("coeff", L=0, feature_index=(1,), days=2.0, bias_scale=5.0)
    cfg = cls.Config(total_steps=640, eval_every=320, seed=1,
                     **({} if cls is PPO else {"learning_starts": 128}))
    agent = cls(cfg, train.single_observation_space.shape[0], 60.0, reg)
    agent.learn(train, quiet=True)
    obs, _ = ev.reset()
    u = agent.raw_action(obs)
    assert u.shape == (ev.num_envs, 2) and u.min() >= 0 and u.max() <= 1
    q = agent.act(obs)
    np.testing.assert_allclose(q, reg(u, obs.astype(float)))
    agent.save(tmp_path / "a.pt")
    back = cls.load(tmp_path / "a.pt")
    assert isinstance(back.decoder, Regularization) and back.decoder.to_dict() == reg.to_dict()
    np.testing.assert_array_equal(back.act(obs), q)


def test_regularization_round_trips_through_the_rl_registry():
    reg = both()
    back = make_decoder(reg.to_dict())
    assert isinstance(back, Regularization) and back.to_dict() == reg.to_dict()


def test_multi_output_decoder_must_take_unit_actions(envs):
    train, _, _ = envs

    class Wide:
        n_outputs = 3

        def __call__(self, a, obs):
            return a

    with pytest.raises(ValueError, match="unit actions"):
        DDPG(ddpg.DDPGConfig(), train.single_observation_space.shape[0], 60.0, Wide())


def test_one_output_helpers_refuse_multi_output_agents(envs):
    train, ev, _ = envs
    agent = DDPG(ddpg.DDPGConfig(), train.single_observation_space.shape[0], 60.0, both())
    obs, _ = ev.reset()
    with pytest.raises(ValueError, match="one-output"):
        agent.q_value(obs, 10.0)


@pytest.mark.parametrize("cls", [DDPG, PPO, DSAC])
def test_initial_action_bias_sets_where_an_untrained_policy_starts(envs, cls):
    train, ev, _ = envs
    obs, _ = ev.reset()
    d = train.single_observation_space.shape[0]
    start = cls(cls.Config(initial_action=0.3), d, 60.0, both()).raw_action(obs)
    default = cls(cls.Config(), d, 60.0, both()).raw_action(obs)
    # the last layer's weights start near zero, so the output sits near the bias
    np.testing.assert_allclose(start, 0.3, atol=0.03)
    np.testing.assert_allclose(default, 0.5, atol=0.03)
    with pytest.raises(ValueError, match="initial_action"):
        cls.Config(initial_action=1.0)


def test_ddpg_order_critic_learns_the_contextual_newsvendor(envs):
    # the critic scores the decoded order instead of the actor's two outputs
    train, ev, optimum = envs
    config = ddpg.DDPGConfig(total_steps=30_000, learning_starts=2_000, eval_every=4_000,
                             gradient_steps=16, exploration_noise=0.1, critic_input="order",
                             seed=0)
    agent, _ = ddpg.train(train, config, eval_env=ev, decoder=both(), quiet=True)
    assert agent.critic.net[0].in_features == train.single_observation_space.shape[0] + 1
    gap = agent.evaluate(ev) / optimum - 1
    print(f"DDPG + Both, critic on the order: gap to the optimum {100 * gap:.2f}%")
    assert gap < 0.06


def test_ddpg_order_critic_passes_no_gradient_where_the_order_is_clamped(envs):
    import torch
    train, _, _ = envs
    agent = DDPG(ddpg.DDPGConfig(critic_input="order", initial_action=0.5),
                 train.single_observation_space.shape[0], 60.0, both())
    # on hand 100 is far above any target (at most 2 days x mu + 5): the order is 0
    obs = torch.tensor([[100.0, 10.0], [0.0, 10.0]])
    agent.obs_norm.update(obs.numpy())
    u = agent.actor(agent.obs_norm(obs)).detach().requires_grad_(True)
    v = agent.critic(agent.obs_norm(obs), agent.critic_action(obs, u))
    grad, = torch.autograd.grad(v.sum(), u)
    assert torch.all(grad[0] == 0.0)            # clamped: no signal for the actor
    assert torch.any(grad[1] != 0.0)            # ordering: the signal passes
    # the default critic scores the actor's outputs themselves
    plain = DDPG(ddpg.DDPGConfig(), train.single_observation_space.shape[0], 60.0, both())
    assert plain.critic_action(obs, u) is u


@pytest.mark.parametrize("critic_input,clamp_gradient,idle_grad", [
    ("action", None, "passes"), ("action", "zero", "zero"),
    ("order", None, "zero"), ("order", "zero", "zero"), ("order", "pass", "passes")])
def test_ddpg_clamp_gradient_changes_the_gradient_where_the_order_is_clamped_only(
        envs, critic_input, clamp_gradient, idle_grad):
    import torch
    train, _, _ = envs
    d = train.single_observation_space.shape[0]
    agent = DDPG(ddpg.DDPGConfig(critic_input=critic_input, clamp_gradient=clamp_gradient,
                                 initial_action=0.5), d, 60.0, both())
    obs = torch.tensor([[100.0, 10.0], [0.0, 10.0]])     # clamped, then ordering
    agent.obs_norm.update(obs.numpy())
    u = agent.actor(agent.obs_norm(obs)).detach().requires_grad_(True)
    x = agent.critic_action(obs, u)
    # the critic's input (its value) is the critic's own whatever the gradient rule
    own = DDPG(ddpg.DDPGConfig(critic_input=critic_input, initial_action=0.5), d, 60.0,
               both()).critic_action(obs, u.detach())
    assert torch.equal(x.detach(), own)
    grad, = torch.autograd.grad(agent.critic(agent.obs_norm(obs), x).sum(), u)
    assert torch.any(grad[1] != 0.0)                       # ordering: the signal passes
    assert bool(torch.all(grad[0] == 0.0)) == (idle_grad == "zero")


def test_ddpg_clamp_gradient_is_validated(envs):
    with pytest.raises(ValueError, match="clamp_gradient"):
        ddpg.DDPGConfig(clamp_gradient="leaky")
    from deepstock_lite.core.decoding import BaseStockDecoder
    with pytest.raises(ValueError, match="clamp_gradient"):
        DDPG(ddpg.DDPGConfig(clamp_gradient="zero"), 2, 60.0, BaseStockDecoder(0))


def test_ddpg_order_critic_checkpoint_round_trip(envs, tmp_path):
    train, ev, _ = envs
    config = ddpg.DDPGConfig(total_steps=3_000, learning_starts=1_000, eval_every=1_000,
                             critic_input="order", seed=0)
    agent, _ = ddpg.train(train, config, decoder=both(), quiet=True)
    agent.save(tmp_path / "oc.pt")
    back = DDPG.load(tmp_path / "oc.pt")
    assert back.config.critic_input == "order"
    obs = ev.reset()[0][:5]
    np.testing.assert_array_equal(back.act(obs), agent.act(obs))
    assert back.critic.net[0].in_features == agent.critic.net[0].in_features


def test_ddpg_critic_input_is_validated():
    with pytest.raises(ValueError, match="critic_input"):
        ddpg.DDPGConfig(critic_input="decoded")
