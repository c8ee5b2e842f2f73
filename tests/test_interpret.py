"""Reading a DS policy's coefficients and the deployment estimator (Chapter 12)."""
import numpy as np
import pytest
import torch

from deepstock_lite.paper.catalogue import make_catalogue
from deepstock_lite.paper.differentiable_simulator import DSPolicy
from deepstock_lite.paper.interpret import (coefficients, difference_in_differences,
                                                heuristic_target, network_outputs,
                                                record_rollout, target_terms)
from deepstock_lite.paper.retail import RetailEnv, forecast_base_stock
from deepstock_lite.paper.retail_study import retail_regularization

SIGNALS = ["sales_mean_7", "sales_mean_28", "forecast_7", "forecast_28"]


@pytest.fixture(scope="module")
def setup():
    cat = make_catalogue(n_skus=40, horizon=30, seed=3)
    env = RetailEnv(cat, np.arange(40))
    torch.manual_seed(0)
    reg = retail_regularization("both", env)
    policy = DSPolicy(env.obs_dim, reg, (16,), torch.ones(env.obs_dim), 0.3,
                      torch.zeros(env.obs_dim))
    with torch.no_grad():           # outputs that vary across rows
        policy.net[-1].weight.normal_(0.0, 0.5)
    run = record_rollout(env, policy.act_numpy)
    return cat, env, policy, run


def test_record_rollout_matches_the_environment(setup):
    cat, env, policy, run = setup
    T, n = env.T, 40
    assert run["obs"].shape == (T, n, env.obs_dim)
    for key in ("order", "demand", "sales", "end", "stockout"):
        assert run[key].shape == (n, T)
    np.testing.assert_array_equal(run["demand"], cat.demand)
    np.testing.assert_array_equal(run["sales"], np.minimum(run["demand"], run["sales"]))
    m = env.rollout_metrics(policy.act_numpy)
    for key in ("stockout_rate", "turnover_days", "objective"):
        assert run["metrics"][key] == pytest.approx(m[key])
    np.testing.assert_array_equal(run["skus"], env.skus)
    np.testing.assert_allclose(run["scale"], env.scaler.scale_[env.skus])


def test_coefficients_are_days_and_terms_rebuild_the_orders(setup):
    _, env, policy, run = setup
    obs = run["obs"].reshape(-1, env.obs_dim)
    u = network_outputs(policy, obs)
    assert u.shape == (obs.shape[0], 5) and (u >= 0).all() and (u <= 1).all()
    assert u.std(0).min() > 0
    coef = coefficients(policy, obs, env.obs_names)
    assert list(coef) == SIGNALS + ["bias"]
    for k in SIGNALS:
        np.testing.assert_allclose(coef[k], 28.0 * u[:, SIGNALS.index(k)])
    np.testing.assert_allclose(coef["bias"], 14.0 * u[:, -1])
    terms = target_terms(policy, obs, env.obs_names)
    y = sum(terms.values())
    np.testing.assert_allclose(y, policy.reg.target(u, obs), rtol=1e-10, atol=1e-10)
    pos = obs[:, 0].astype(float) + obs[:, 1:env.position_L].sum(1)
    np.testing.assert_allclose(np.maximum(y - pos, 0.0), policy.act_numpy(obs), atol=1e-4)
    # without names the features are called by their column
    assert list(coefficients(policy, obs[:3]))[:4] == [f"f{j}" for j in
                                                       env.demand_feature_index]


def test_heuristic_target_gives_the_heuristic_orders(setup):
    _, env, _, _ = setup
    pol = forecast_base_stock(env, k=1.5, window=28, cv=0.1)
    obs, _ = env.reset()
    for _ in range(5):
        obs = env.step(pol(obs))[0]
    y = heuristic_target(env, obs, k=1.5, window=28, cv=0.1)
    pos = obs[:, 0].astype(float) + obs[:, 1:env.position_L].sum(1)
    np.testing.assert_allclose(np.maximum(y - pos, 0.0), pol(obs), rtol=1e-6, atol=1e-6)
    # a day axis and explicit scales give the same numbers
    y2 = heuristic_target(env, np.stack([obs, obs]), k=1.5, window=28, cv=0.1,
                          scale=env.current_scale)
    np.testing.assert_allclose(y2, np.stack([y, y]))
    with pytest.raises(ValueError, match="scale"):
        heuristic_target(env, obs, k=1.0, scale=np.ones(3))


def test_difference_in_differences_hand_example():
    pre = np.array([1.0, 2.0, 3.0, 4.0])
    post = np.array([0.0, 1.0, 3.5, 4.5])
    treated = np.array([True, True, False, False])
    # treated change -1, control change +0.5
    assert difference_in_differences(pre, post, treated) == pytest.approx(-1.5)
    # a common shift cancels
    assert difference_in_differences(pre, post + 7.0, treated) == pytest.approx(-1.5)


def test_errors(setup):
    _, env, policy, run = setup
    obs = run["obs"][0]
    base = DSPolicy(env.obs_dim, retail_regularization("base", env))
    with pytest.raises(ValueError, match="Coeff and Both"):
        coefficients(base, obs)
    with pytest.raises(TypeError, match="DSPolicy"):
        network_outputs(lambda o: o, obs)
    with pytest.raises(ValueError, match="columns"):
        network_outputs(policy, obs[:, :5])
    with pytest.raises(TypeError, match="RetailEnv"):
        record_rollout("env", policy.act_numpy)
    with pytest.raises(TypeError, match="boolean"):
        difference_in_differences([1.0, 2.0], [1.0, 2.0], [1, 0])
    with pytest.raises(ValueError, match="both a treated and a control"):
        difference_in_differences([1.0, 2.0], [1.0, 2.0], np.array([True, True]))
    with pytest.raises(ValueError, match="same shape"):
        difference_in_differences([1.0, 2.0], [1.0], np.array([True, False]))
