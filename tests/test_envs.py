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
    rows = np.array([2, 0, 2])                       # rows drawn for an episode, repeated
    obs, _ = env.reset(options={"paths": rows})
    for t in range(2, 10):
        assert np.array_equal(obs[:, 1:], F[rows, t].astype(np.float32))
        obs, *_ = env.step(np.zeros(3))
    with pytest.raises(ValueError, match="features must have shape"):
        BatchInventoryEnv(InventorySystem(L=1), D, horizon=8, q_max=50, features=F[:, :5])
    with pytest.raises(ValueError, match="array demand"):
        BatchInventoryEnv(InventorySystem(L=1), Poisson(5), horizon=8, q_max=50, n_envs=3,
                          features=F)


# -- the fast single environment: bit-identical to the batched simulator --------------------
import itertools  # noqa: E402


def _same_trajectory(make, steps_rng, n_steps=None, **reset):
    fast, batch = make(InventoryEnv), make(BatchInventoryEnv)
    o1, _ = fast.reset(seed=11, **reset)
    o2, _ = batch.reset(seed=11, **reset)
    assert o1.dtype == np.float32 and o1.shape == fast.observation_space.shape
    assert np.array_equal(o1, o2[0])
    done = False
    while not done:
        a = steps_rng.uniform(-2.0, 30.0, size=1).astype(np.float32)
        r1, r2 = fast.step(a), batch.step(a[None])
        assert np.array_equal(r1[0], r2[0][0])
        assert type(r1[1]) is float and r1[1] == r2[1][0]
        assert r1[3] == r2[3][0] and r1[2] is False
        assert r1[4]["cost"] == r2[4]["cost"][0] and r1[4]["order"] == r2[4]["order"][0]
        done = r1[3]


@pytest.mark.parametrize("L, P, backlog, K, c, reward", [
    (L, P, bl, K, c, rw) for L, P, bl, (K, c), rw in itertools.product(
        [0, 1, 2, 3], [1, 2], [True, False], [(0.0, 0.0), (2.5, 0.3)],
        ["period", "attributed"])])
def test_single_env_is_bit_identical_to_the_batched_env(L, P, backlog, K, c, reward):
    system = InventorySystem(L=L, P=P, h=0.7, b=3.3, backlog=backlog, K=K, c=c)
    rng = np.random.default_rng(L * 100 + P)
    for integer, n_history, warmup in [(False, 0, 0), (True, 2, 2 * P)]:
        def make(cls):
            extra = {"n_envs": 1} if cls is BatchInventoryEnv else {}
            return cls(system, Poisson(5.3), 10 * P, 30.0, warmup=warmup, n_history=n_history,
                       integer_orders=integer, on_hand=4.0, reward=reward, **extra)
        _same_trajectory(make, rng)


def test_single_env_with_array_demand_features_and_first_review():
    rng = np.random.default_rng(3)
    D = rng.poisson(6, size=(4, 40)).astype(float)
    F = rng.normal(size=(4, 40, 2))
    system = InventorySystem(L=2, P=2, backlog=False, first_review=1)
    for reward in ("period", "attributed"):
        def make(cls):
            extra = {"n_envs": 1} if cls is BatchInventoryEnv else {}
            return cls(system, D, 30, 40.0, warmup=3, n_history=3, features=F,
                       reward=reward, **extra)
        fast, batch = make(InventoryEnv), make(BatchInventoryEnv)
        o1, _ = fast.reset(options={"path": 2})
        o2, _ = batch.reset(options={"paths": [2]})
        np.testing.assert_array_equal(o1, o2[0])
        _same_trajectory(make, rng)


def test_single_env_matches_simulate_with_a_base_stock_policy():
    system = InventorySystem(L=2, h=1.0, b=4.0, backlog=False)
    D = np.random.default_rng(0).poisson(5, size=(1, 300)).astype(float)
    env = InventoryEnv(system, D, 300, 60.0)
    obs, _ = env.reset(options={"path": 0})
    costs = []
    for _ in range(300):
        obs, r, _, trunc, info = env.step(np.array([max(16.0 - obs[0] - obs[1], 0.0)]))
        costs.append(info["cost"])
        assert r == -info["cost"]
    np.testing.assert_array_equal(costs, simulate(system, BaseStock(16), D).cost[0])
    st = env.state
    assert st.t == 300 and st.on_hand.shape == (1,) and st.pipeline.shape == (1, 1)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_single_env_checker_with_attributed_reward_and_features():
    D = np.random.default_rng(0).poisson(5, size=(3, 30)).astype(float)
    F = np.ones((3, 30, 2))
    env = InventoryEnv(InventorySystem(L=2), D, horizon=20, q_max=40, n_history=2,
                       features=F, reward="attributed")
    check_env(env, skip_render_check=True)


# -- reproducibility ------------------------------------------------------------------------
def test_rollout_is_seeded_and_repeatable():
    def policy(o):
        return np.full((4, 1), 8.0)
    e = BatchInventoryEnv(InventorySystem(L=2), Poisson(4.0), 8, 20.0, n_envs=4)
    first = e.rollout(policy)
    assert e.rollout(policy) == first                      # same default seed, same demand
    assert e.rollout(policy, seed=3) == e.rollout(policy, seed=3)
    assert e.rollout(policy, seed=3) != e.rollout(policy, seed=4)
    other = BatchInventoryEnv(InventorySystem(L=2), Poisson(4.0), 8, 20.0, n_envs=4)
    assert other.rollout(policy) == first                  # same in a fresh env
    seeded = BatchInventoryEnv(InventorySystem(L=2), Poisson(4.0), 8, 20.0, n_envs=4, seed=3)
    assert seeded.rollout(policy) == e.rollout(policy, seed=3)


def test_rollout_leaves_the_reset_stream_alone():
    def make():
        return BatchInventoryEnv(InventorySystem(L=2), Poisson(4.0), 8, 20.0, n_envs=4,
                                 seed=5)
    a, b = make(), make()
    a.reset()
    b.reset()
    a.rollout(lambda o: np.zeros(4))
    np.testing.assert_array_equal(a.reset()[0], b.reset()[0])
    np.testing.assert_array_equal(a.core.D, b.core.D)


def test_seeded_single_env_is_repeatable():
    def run():
        env = InventoryEnv(InventorySystem(L=2, backlog=False), Poisson(5), 50, 30.0)
        env.reset(seed=9)
        return [env.step(np.array([5.0], np.float32))[1] for _ in range(50)]
    assert run() == run()


# -- argument validation ----------------------------------------------------------------------
@pytest.mark.parametrize("action, exc, match", [
    ("3", TypeError, "action"),
    (np.array(["3"]), TypeError, "action"),
    (None, TypeError, "action"),
    (np.array([True]), TypeError, "action"),
    (np.array([np.nan]), ValueError, "action must be finite"),
    (np.array([np.inf], np.float32), ValueError, "action must be finite"),
    (np.ones(2), ValueError, "action must have shape"),
    (np.ones((1, 2)), ValueError, "action must have shape"),
])
def test_single_env_rejects_bad_actions(action, exc, match):
    env = InventoryEnv(InventorySystem(L=1), Poisson(5), horizon=4, q_max=10)
    env.reset(seed=0)
    with pytest.raises(exc, match=match):
        env.step(action)


def test_single_env_accepts_scalar_and_integer_actions():
    env = InventoryEnv(InventorySystem(L=1), Poisson(5), horizon=5, q_max=10)
    env.reset(seed=0)
    for a in (3, 3.0, [3.0], np.array([[3]]), np.float64(3.0)):
        assert env.step(a)[4]["order"] == 3.0
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.array([1.0]))
    with pytest.raises(RuntimeError, match="reset"):
        InventoryEnv(InventorySystem(L=1), Poisson(5), horizon=4, q_max=10).step([1.0])


@pytest.mark.parametrize("actions, exc", [
    ("3", TypeError), (["3", "4", "5"], TypeError), (np.ones(2), ValueError),
    (np.ones((3, 2)), ValueError), (np.array([1.0, np.nan, 2.0]), ValueError),
    (np.array([1, 2, np.inf]), ValueError), (np.zeros(3, bool), TypeError),
])
def test_batch_env_rejects_bad_actions(actions, exc):
    env = BatchInventoryEnv(InventorySystem(), Poisson(5), horizon=4, q_max=10, n_envs=3)
    env.reset(seed=0)
    with pytest.raises(exc, match="action"):
        env.step(actions)


@pytest.mark.parametrize("call, exc, match", [
    (lambda e: e.reset(seed=-1), ValueError, "seed"),
    (lambda e: e.reset(seed="1"), TypeError, "seed"),
    (lambda e: e.reset(options=[1]), TypeError, "options"),
    (lambda e: e.reset(options={"path": 1}), ValueError, "options"),
    (lambda e: e.reset(options={"paths": [0, 5]}), ValueError, "paths"),
    (lambda e: e.reset(options={"paths": "ab"}), ValueError, "paths"),
    (lambda e: e.rollout(5), TypeError, "policy_fn"),
    (lambda e: e.rollout(lambda o: np.zeros(2), seed=1.5), TypeError, "seed"),
])
def test_batch_env_rejects_bad_reset_arguments(call, exc, match):
    D = np.ones((2, 10))
    env = BatchInventoryEnv(InventorySystem(), D, horizon=4, q_max=10, n_envs=2)
    with pytest.raises(exc, match=match):
        call(env)


@pytest.mark.parametrize("call, exc, match", [
    (lambda e: e.reset(seed=1.5), TypeError, "seed"),
    (lambda e: e.reset(options={"path": "0"}), TypeError, "path"),
    (lambda e: e.reset(options={"path": 7}), ValueError, "paths"),
    (lambda e: e.reset(options={"paths": [0]}), ValueError, "unknown keys"),
])
def test_single_env_rejects_bad_reset_arguments(call, exc, match):
    env = InventoryEnv(InventorySystem(), np.ones((2, 10)), horizon=4, q_max=10)
    with pytest.raises(exc, match=match):
        call(env)


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"q_max": float("nan")}, ValueError, "q_max"),
    ({"q_max": "10"}, TypeError, "q_max"),
    ({"horizon": 2.0}, TypeError, "horizon"),
    ({"on_hand": float("inf")}, ValueError, "on_hand"),
    ({"integer_orders": 1}, TypeError, "integer_orders"),
    ({"reward": ["period"]}, (TypeError, ValueError), "reward"),
    ({"demand": "poisson"}, TypeError, "demand"),
    ({"demand": np.full((2, 8), np.nan)}, ValueError, "demand"),
    ({"demand": -np.ones((2, 8))}, ValueError, "demand"),
    ({"n_envs": 0}, ValueError, "n_envs"),
    ({"seed": -3}, ValueError, "seed"),
])
def test_batch_env_rejects_bad_constructor_arguments(kwargs, exc, match):
    args = dict(system=InventorySystem(), demand=Poisson(5), horizon=6, q_max=10, n_envs=2)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        BatchInventoryEnv(**args)


def test_benchmark_reference_env_agrees_with_inventory_env():
    """benchmarks/simulator.py times InventoryEnv beside a pure-Python reference env; both
    give the same rewards on the same demand."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "simulator.py"
    spec = importlib.util.spec_from_file_location("bench_simulator", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    ref = bench.ReferenceLostSalesEnv(horizon=300)
    ref.reset(seed=1)
    env = InventoryEnv(InventorySystem(L=2, h=1.0, b=4.0, backlog=False),
                       np.array([ref.demand]), 300, 60.0)
    obs, _ = env.reset(options={"path": 0})
    for q in np.random.default_rng(2).uniform(-1, 70, 300):
        a = np.array([q], np.float32)
        o1, r1, *_ = env.step(a)
        o2, r2, *_ = ref.step(a)
        assert r1 == r2 and np.array_equal(o1, o2)
    assert bench.steps_per_second(env, n_steps=500, repeats=1) > 0
