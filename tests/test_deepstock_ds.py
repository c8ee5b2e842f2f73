"""The differentiable simulator: same dynamics as the numpy simulator, exact gradients."""
import numpy as np
import pytest
import torch

from deepstock_lite import InventorySystem, simulate
from deepstock_lite.core.policies import FunctionPolicy
from deepstock_lite.paper import (DSConfig, DSPolicy, Regularization, ds_rollout, setting1,
                                      train_ds)


@pytest.mark.parametrize("L, P, backlog", [(0, 1, True), (1, 2, True), (3, 1, True),
                                           (0, 1, False), (2, 2, False), (4, 1, False)])
def test_rollout_matches_numpy_simulator_period_by_period(L, P, backlog):
    rng = np.random.default_rng(L + 10 * P)
    D = rng.poisson(5, (7, 25)).astype(float)
    system = InventorySystem(L=L, P=P, h=1, b=4, backlog=backlog, c=0.3)
    m = max(L - 1, 0)
    pol_t = lambda obs: torch.clamp(15 - obs[:, 0] - obs[:, 1:1 + m].sum(-1), min=0)  # noqa
    c = ds_rollout(pol_t, system, torch.tensor(D), on_hand=3.0)
    r = simulate(system, FunctionPolicy(lambda s: np.maximum(15 - s.position, 0)), D, on_hand=3.0)
    np.testing.assert_allclose(c.numpy(), r.cost, atol=1e-12)


@pytest.mark.parametrize("backlog", [True, False])
def test_gradient_matches_finite_differences(backlog):
    torch.manual_seed(0)
    rng = np.random.default_rng(3)
    D = torch.tensor(rng.gamma(4.0, 1.5, (4, 12)))    # continuous demand: no ties at kinks
    system = InventorySystem(L=2, h=1.0, b=4.0, backlog=backlog)
    net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ELU(), torch.nn.Linear(8, 1)).double()
    reg = Regularization("base", L=2, a_max=40)

    def loss():
        pol = lambda obs: reg(torch.sigmoid(net(obs / 10)), obs)  # noqa: E731
        return ds_rollout(pol, system, D, on_hand=5.0).mean()

    net.zero_grad()
    loss().backward()
    params = list(net.parameters())
    eps = 1e-6
    for p in params:
        for idx in [(0,) * p.dim(), tuple(s - 1 for s in p.shape)]:
            with torch.no_grad():
                old = p[idx].item()
                p[idx] = old + eps
                up = loss().item()
                p[idx] = old - eps
                down = loss().item()
                p[idx] = old
            fd = (up - down) / (2 * eps)
            assert p.grad[idx].item() == pytest.approx(fd, rel=1e-4, abs=1e-8)


def test_training_improves_on_the_untrained_policy():
    S = setting1()
    feats = {k: S.features[k] for k in ("train", "val")}
    reg = Regularization("base", L=1, a_max=100)
    short = train_ds(S.system, reg, S.data.train, S.data.val, features=feats, cost_start=3,
                     config=DSConfig(epochs=1, lr=1e-12, patience=1))
    trained = train_ds(S.system, reg, S.data.train, S.data.val, features=feats, cost_start=3,
                       config=DSConfig(epochs=150, lr=1e-2, batch_size=10, patience=150))
    assert trained.best_val < 0.8 * short.best_val
    assert [h["epoch"] for h in trained.history][:3] == [0, 1, 2]
    # DS returns the RL trainers' result type: it unpacks as (policy, history)
    policy, history = trained
    assert policy is trained.policy and history is trained.history
    assert trained.history[trained.best_step]["val"] == trained.best_val


def test_bad_configuration():
    with pytest.raises(ValueError, match="lr"):
        DSConfig(lr=0)
    with pytest.raises(ValueError, match="batch_size"):
        DSConfig(batch_size=0)
    with pytest.raises(ValueError, match="lr_factor"):
        DSConfig(lr_factor=1.5)
    S = setting1()
    with pytest.raises(ValueError, match="val must have 31 periods"):
        train_ds(S.system, Regularization("none", L=1, a_max=100), S.data.train,
                 S.data.val[:, :10])
    with pytest.raises(TypeError, match="config"):
        train_ds(S.system, Regularization("none", L=1, a_max=100), S.data.train,
                 S.data.val, config={"lr": 1})


def _constant_target_loss(theta, system, D, surrogate, on_hand, integer=False):
    from deepstock_lite.paper.differentiable_simulator import round_surrogate
    from deepstock_lite.core.decoding import order_up_to
    m = max(system.L - 1, 0)

    def pol(obs):
        q = order_up_to(theta.expand(obs.shape[0]), obs[:, 0] + obs[:, 1:1 + m].sum(-1),
                        surrogate, 0.1)
        return round_surrogate(q, surrogate) if integer else q
    return ds_rollout(pol, system, D, on_hand=on_hand, surrogate=surrogate, leak=0.1).mean()


@pytest.mark.parametrize("backlog", [True, False])
def test_surrogates_keep_the_forward_cost_exact(backlog):
    rng = np.random.default_rng(5)
    D = torch.tensor(rng.poisson(5, (6, 30)).astype(float))
    system = InventorySystem(L=2, h=1, b=4, backlog=backlog)
    values = {}
    for sur in ("exact", "leaky", "straight-through"):
        theta = torch.tensor(18.0, dtype=torch.float64)
        values[sur] = _constant_target_loss(theta, system, D, sur, on_hand=25.0).item()
    assert values["leaky"] == values["exact"] == values["straight-through"]


def test_surrogate_gradient_is_nonzero_where_the_exact_one_vanishes():
    # 60 units on hand, a target of 5: every order of the horizon is clamped at zero
    D = torch.full((4, 8), 5.0, dtype=torch.float64)
    system = InventorySystem(L=2, h=1, b=4, backlog=False)
    grads = {}
    for sur in ("exact", "leaky", "straight-through"):
        theta = torch.tensor(5.0, dtype=torch.float64, requires_grad=True)
        _constant_target_loss(theta, system, D, sur, on_hand=60.0).backward()
        grads[sur] = theta.grad.item()
    assert grads["exact"] == 0.0
    assert grads["leaky"] != 0.0 and grads["straight-through"] != 0.0


def test_lost_sales_stockout_cuts_the_exact_path_only():
    # order 5 in period 0 against a demand of 9: a stock-out, so under the exact gradient the
    # later periods' cost does not depend on that order; a surrogate keeps the path
    system = InventorySystem(L=0, h=1, b=4, backlog=False)
    D = torch.tensor([[9.0, 1.0, 1.0]], dtype=torch.float64)
    for sur, nonzero in [("exact", False), ("leaky", True)]:
        theta = torch.tensor(5.0, dtype=torch.float64, requires_grad=True)
        calls = []

        def pol(obs):
            calls.append(1)
            return theta.expand(obs.shape[0]) if len(calls) == 1 else obs[:, 0] * 0
        later = ds_rollout(pol, system, D, surrogate=sur)[:, 1:].sum()
        later.backward()
        assert (theta.grad.item() != 0.0) is nonzero


def test_none_under_backlog_has_no_kink_to_relax():
    S = setting1()
    feats = {k: S.features[k] for k in ("train", "val")}
    reg = Regularization("none", L=1, a_max=100)
    runs = [train_ds(S.system, reg, S.data.train, S.data.val, features=feats, cost_start=3,
                     config=DSConfig(epochs=3, lr=1e-2, surrogate=s))
            for s in ("exact", "leaky")]
    assert runs[0].history == runs[1].history


def test_rounded_orders_exact_gradient_is_zero_straight_through_is_not():
    D = torch.full((3, 10), 5.0, dtype=torch.float64)
    system = InventorySystem(L=1, h=1, b=4, backlog=True)
    for sur, zero in [("exact", True), ("straight-through", False), ("leaky", False)]:
        theta = torch.tensor(12.3, dtype=torch.float64, requires_grad=True)
        _constant_target_loss(theta, system, D, sur, on_hand=0.0, integer=True).backward()
        assert (theta.grad.item() == 0.0) is zero


def test_integer_orders_training_with_the_exact_gradient_never_moves():
    system = InventorySystem(L=2, h=1, b=4, backlog=False)
    rng = np.random.default_rng(0)
    tr, va = rng.poisson(5, (16, 30)), rng.poisson(5, (16, 30))
    reg = Regularization("base", L=2, a_max=40)
    hist = {s: train_ds(system, reg, tr, va, cost_start=5, on_hand=10,
                        config=DSConfig(epochs=6, batch_size=8, lr=1e-2, patience=10,
                                        integer_orders=True, surrogate=s)).history
            for s in ("exact", "straight-through")}
    assert len({h["val"] for h in hist["exact"]}) == 1          # a flat curve: stuck
    assert len({h["val"] for h in hist["straight-through"]}) > 1


def test_arguments_are_validated():
    S = setting1()
    reg = Regularization("none", L=1, a_max=100)
    with pytest.raises(TypeError, match="system must be an InventorySystem"):
        train_ds(None, reg, S.data.train, S.data.val)
    with pytest.raises(TypeError, match="regularization must be a Regularization"):
        train_ds(S.system, "base", S.data.train, S.data.val)
    with pytest.raises(ValueError, match="n_history must be in"):
        train_ds(S.system, reg, S.data.train, S.data.val, n_history=-1)
    with pytest.raises(TypeError, match="features must be a dict"):
        train_ds(S.system, reg, S.data.train, S.data.val, features=[1, 2])
    with pytest.raises(ValueError, match="obs_scale"):
        DSPolicy(1, reg, obs_scale=[])
    with pytest.raises(ValueError, match="obs_scale must be positive"):
        DSPolicy(1, reg, obs_scale=0.0)
    with pytest.raises(ValueError, match="obs_dim must be in"):
        DSPolicy(0, reg)
    with pytest.raises(TypeError, match="hidden"):
        DSConfig(hidden=64)
    with pytest.raises(TypeError, match="integer_orders"):
        DSConfig(integer_orders="yes")
    with pytest.raises(ValueError, match="demand must be a non-empty 2-D torch tensor"):
        ds_rollout(lambda o: o[:, 0], S.system, np.ones((2, 3)))
    with pytest.raises(ValueError, match="obs must have 1 columns"):
        DSPolicy(1, reg)(torch.ones(2, 3))
