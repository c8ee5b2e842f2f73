"""The differentiable simulator: same dynamics as the numpy simulator, exact gradients."""
import numpy as np
import pytest
import torch

from deepstock_lite import InventorySystem, simulate
from deepstock_lite.core.policies import FunctionPolicy
from deepstock_lite.deepstock import DSConfig, Regularization, ds_rollout, setting1, train_ds


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
    reg = Regularization("base", L=2, scale=40)

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
    reg = Regularization("base", L=1, scale=100)
    short = train_ds(S.system, reg, S.data.train, S.data.val, features=feats, cost_start=3,
                     config=DSConfig(epochs=1, lr=1e-12, patience=1))
    trained = train_ds(S.system, reg, S.data.train, S.data.val, features=feats, cost_start=3,
                       config=DSConfig(epochs=150, lr=1e-2, batch_size=10, patience=150))
    assert trained.best_val < 0.8 * short.best_val
    assert [h["epoch"] for h in trained.history][:3] == [0, 1, 2]


def test_bad_configuration():
    with pytest.raises(ValueError, match="lr"):
        DSConfig(lr=0)
    with pytest.raises(ValueError, match="batch_size"):
        DSConfig(batch_size=0)
    with pytest.raises(ValueError, match="lr_factor"):
        DSConfig(lr_factor=1.5)
    S = setting1()
    with pytest.raises(ValueError, match="val must have 31 periods"):
        train_ds(S.system, Regularization("none", L=1, scale=100), S.data.train,
                 S.data.val[:, :10])
    with pytest.raises(TypeError, match="config"):
        train_ds(S.system, Regularization("none", L=1, scale=100), S.data.train,
                 S.data.val, config={"lr": 1})
