import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from deepstock_lite import InventorySystem, simulate
from deepstock_lite.core.demand import Poisson
from deepstock_lite.core.policies import BaseStock
from deepstock_lite.envs import BatchInventoryEnv, InventoryEnv


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("L, P, backlog", [(0, 1, True), (2, 1, True), (1, 2, False)])
def test_passes_gymnasium_checker(L, P, backlog):
    env = InventoryEnv(InventorySystem(L=L, P=P, backlog=backlog), Poisson(5), horizon=20,
                       q_max=40, n_history=3)
    check_env(env, skip_render_check=True)


def test_time_limit_is_truncation_not_termination():
    env = InventoryEnv(InventorySystem(L=1, P=2), Poisson(5), horizon=6, q_max=20)
    env.reset(seed=0)
    flags = [env.step(np.array([5.0], np.float32))[2:4] for _ in range(3)]
    assert flags == [(False, False), (False, False), (False, True)]


def test_batch_rollout_equals_simulator():
    rng = np.random.default_rng(0)
    D = rng.poisson(5, size=(32, 40)).astype(float)
    system = InventorySystem(L=2, P=1, h=1, b=9)
    env = BatchInventoryEnv(system, D, horizon=40, q_max=60)
    cost = env.rollout(lambda obs: np.maximum(20 - obs[:, 0] - obs[:, 1], 0))
    assert cost == pytest.approx(simulate(system, BaseStock(20), D).average_cost())


def test_attributed_reward_sums_to_window_costs():
    rng = np.random.default_rng(1)
    D = rng.poisson(10, size=(8, 40)).astype(float)
    system = InventorySystem(L=1, P=2, h=0.1, b=0.9)
    env = BatchInventoryEnv(system, D, horizon=30, q_max=100, warmup=2, reward="attributed")
    obs, _ = env.reset()
    total = np.zeros(8)
    done = False
    while not done:
        obs, r, term, trunc, _ = env.step(np.maximum(35 - obs[:, 0], 0))
        total -= r
        done = trunc[0]
        assert not term.any()
    # the same policy in the simulator: the orders attribute costs of days 3 .. 32
    from deepstock_lite.core.policies import FunctionPolicy
    pol = FunctionPolicy(lambda s: np.maximum(35 - s.position, 0))
    sim = simulate(InventorySystem(L=1, P=2, h=0.1, b=0.9, first_review=2), pol, D[:, :33])
    np.testing.assert_allclose(total, sim.cost[:, 3:33].sum(1))


def test_observation_layout_and_history():
    D = np.arange(1.0, 13.0)[None, :].repeat(2, 0)
    env = BatchInventoryEnv(InventorySystem(L=3), D, horizon=8, q_max=50, warmup=2,
                            n_history=2, on_hand=30)
    obs, _ = env.reset()
    np.testing.assert_allclose(obs[0], [30 - 1 - 2, 0, 0, 1, 2])
    obs, *_ = env.step(np.array([7.0, 7.0]))
    np.testing.assert_allclose(obs[0], [27 - 3, 0, 7, 2, 3])


def test_batch_env_requires_reset_after_truncation():
    env = BatchInventoryEnv(InventorySystem(), Poisson(5), horizon=2, q_max=10, n_envs=4)
    env.reset(seed=0)
    env.step(np.zeros(4))
    env.step(np.zeros(4))
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(4))


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"horizon": 5}, ValueError, "multiple of the review period"),
    ({"q_max": 0}, ValueError, "q_max"),
    ({"warmup": 1}, ValueError, "warmup"),
    ({"reward": "sparse"}, ValueError, "reward must be one of"),
    ({"demand": np.ones((2, 3))}, ValueError, "at least 6 periods"),
    ({"n_history": -1}, ValueError, "n_history"),
    ({"system": "L=2"}, TypeError, "InventorySystem"),
])
def test_bad_env_arguments(kwargs, exc, match):
    args = dict(system=InventorySystem(P=2), demand=Poisson(5), horizon=6, q_max=10)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        InventoryEnv(**args)


def test_bad_actions():
    env = BatchInventoryEnv(InventorySystem(), Poisson(5), horizon=4, q_max=10, n_envs=3)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array([1.0, np.nan, 2.0]))
    with pytest.raises(ValueError, match="shape"):
        env.step(np.ones(5))


def test_features_are_appended_to_the_observation():
    D = np.arange(1.0, 13.0)[None, :].repeat(3, 0)
    F = np.arange(3 * 12 * 2, dtype=float).reshape(3, 12, 2)
    env = BatchInventoryEnv(InventorySystem(L=1), D, horizon=8, q_max=50, warmup=2,
                            features=F, on_hand=30)
    obs, _ = env.reset()
    np.testing.assert_allclose(obs[:, 1:], F[:, 2])          # period 2's features
    obs, *_ = env.step(np.zeros(3))
    np.testing.assert_allclose(obs[:, 1:], F[:, 3])
    assert env.single_observation_space.shape == (3,)
    with pytest.raises(ValueError, match="features must have shape"):
        BatchInventoryEnv(InventorySystem(L=1), D, horizon=8, q_max=50, features=F[:, :5])
    with pytest.raises(ValueError, match="array demand"):
        BatchInventoryEnv(InventorySystem(L=1), Poisson(5), horizon=8, q_max=50, n_envs=3,
                          features=F)
