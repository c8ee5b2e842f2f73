"""Distributional SAC: squashed log-probability, quantile Huber loss, learning, the learned
cost distribution, CVaR objective, checkpoints, exact resume, divergence guard."""
import math

import numpy as np
import pytest
import torch
from scipy.stats import norm

from deepstock_lite.rl import BaseStockDecoder, TrainingDivergedError, dsac
from deepstock_lite.rl.instances import make_envs

torch.set_num_threads(1)


def small_config(**kw):
    base = dict(total_steps=600, learning_starts=200, batch_size=32, eval_every=200, a_max=50.0,
                hidden=(16, 16), n_quantiles=8, seed=7)
    base.update(kw)
    return dsac.DSACConfig(**base)


def envs():
    return make_envs("a", n_envs=2, horizon=50, eval_paths=20, eval_horizon=100)


@pytest.mark.parametrize("field,value,exc", [
    ("gamma", 1.0, ValueError), ("n_quantiles", 1, ValueError),
    ("top_quantiles_to_drop", 16, ValueError), ("kappa", 0.0, ValueError),
    ("risk", "averse", ValueError), ("cvar_level", 0.0, ValueError),
    ("init_alpha", -0.1, ValueError), ("autotune_alpha", None, TypeError),
    ("batch_size", "256", TypeError)])
def test_bad_config_values_name_the_field(field, value, exc):
    with pytest.raises(exc, match=f"DSACConfig.{field}"):
        dsac.DSACConfig(**{field: value})


def test_squashed_log_prob_matches_numerical_density():
    """exp(log π(u)) equals dF/du, F(u) = Φ((atanh u - m)/σ), by central differences."""
    m, log_std = 0.3, math.log(0.8)
    for u in [-0.95, -0.5, 0.0, 0.4, 0.9, 0.99]:
        x = math.atanh(u)
        logp = dsac.squashed_log_prob(torch.tensor([[x]], dtype=torch.float64),
                                      torch.tensor([[m]], dtype=torch.float64),
                                      torch.tensor([[log_std]], dtype=torch.float64)).item()
        h = 1e-6
        F = lambda v: norm.cdf((math.atanh(v) - m) / math.exp(log_std))  # noqa: E731
        density = (F(u + h) - F(u - h)) / (2 * h)
        assert math.exp(logp) == pytest.approx(density, rel=1e-5), u


def test_quantile_huber_loss_recovers_known_quantiles():
    """Free parameters fitted to samples of Exponential(mean 10) by the quantile Huber loss
    converge to its quantiles -10 log(1 - τ) (κ small relative to the spread)."""
    g = torch.Generator().manual_seed(0)
    N = 10
    tau = dsac.quantile_levels(N)
    theta = torch.zeros(1, N, requires_grad=True)
    opt = torch.optim.Adam([theta], lr=0.5)
    for step in range(1500):
        y = -10.0 * torch.log(torch.rand(1, 512, generator=g))
        loss = dsac.quantile_huber_loss(theta, y, tau, kappa=0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step == 1000:
            for grp in opt.param_groups:
                grp["lr"] = 0.05
    truth = -10.0 * torch.log(1 - tau)
    assert torch.allclose(theta.detach()[0], truth, atol=0.6), (theta, truth)
    with pytest.raises(ValueError, match="z and y"):
        dsac.quantile_huber_loss(theta[0], y, tau)


def test_cvar_objective_uses_the_lower_tail():
    agent = dsac.DSAC(small_config(n_quantiles=10, risk="cvar", cvar_level=0.2), 2, 50.0)
    z = torch.arange(10.0)[None].flip(-1)         # unsorted on purpose
    assert agent.objective(z).item() == pytest.approx(0.5)   # mean of the 2 lowest returns
    neutral = dsac.DSAC(small_config(n_quantiles=10), 2, 50.0)
    assert neutral.objective(z).item() == pytest.approx(4.5)
    assert dsac.cvar(np.arange(10.0), 0.2) == pytest.approx(8.5)  # worst 2 costs


def test_short_training_improves_and_learns_a_cost_distribution():
    env, ev = make_envs("a", n_envs=2, horizon=100, eval_paths=100, eval_horizon=300)
    cfg = dsac.DSACConfig(total_steps=6_000, learning_starts=1_000, eval_every=1_000,
                          a_max=50.0, seed=0)
    agent = dsac.DSAC(cfg, 2, 50.0, BaseStockDecoder(2))
    agent.learn(env, eval_env=ev, quiet=True)
    initial = agent.history[0]["eval_cost"]      # end of the random warm-up: target ≈ 25
    agent.load_best()
    final = agent.evaluate(ev)
    assert initial > 9.0
    assert final < 0.85 * initial and final < 8.0, (initial, final)
    levels, q = agent.cost_distribution([[12.0, 5.0]], [20.0])
    assert levels.shape == (16,) and q.shape == (1, 16)
    assert np.all(np.diff(levels) > 0) and np.all(np.diff(q[0]) >= -1e-6)
    # ordering up to 20 every period costs about 7.1 a period: a discounted cost (γ = 0.9)
    # of about 71 (plus a small entropy term)
    assert 50.0 < q.mean() < 95.0, q.mean()
    assert dsac.cvar(q, 0.2)[0] > q.mean()


def test_checkpoint_and_exact_resume(tmp_path):
    env, ev = envs()
    straight = dsac.DSAC(small_config(), 2, 50.0, BaseStockDecoder(2))
    straight.learn(env, eval_env=ev, quiet=True)

    env2, ev2 = envs()
    first = dsac.DSAC(small_config(), 2, 50.0, BaseStockDecoder(2))
    first.learn(env2, until=300, eval_env=ev2, quiet=True)
    first.save(tmp_path / "dsac.pt")
    back = dsac.DSAC.load(tmp_path / "dsac.pt")
    obs = np.array([[0.0, 0.0], [10.0, 5.0]], np.float32)
    np.testing.assert_array_equal(first.act(obs), back.act(obs))
    np.testing.assert_array_equal(first.cost_distribution(obs, 20.0)[1],
                                  back.cost_distribution(obs, 20.0)[1])
    back.learn(env2, eval_env=ev2, quiet=True)
    assert back.global_step == straight.global_step == 600
    resumed = back.state_dict(include_buffer=False)["modules"]
    for name, sd in straight.state_dict(include_buffer=False)["modules"].items():
        for (k, p), q in zip(sd.items(), resumed[name].values()):
            assert torch.equal(p, q), f"{name}.{k} differs after resume"


def test_nan_guard_stops_with_a_clear_message():
    env, _ = envs()
    agent = dsac.DSAC(small_config(), 2, 50.0)
    with torch.no_grad():
        agent.z1.net[0].weight[0, 0] = float("nan")
    with pytest.raises(TrainingDivergedError, match=r"DSAC training diverged at step \d+: "
                                                    r"critic_loss = nan"):
        agent.learn(env, quiet=True)
