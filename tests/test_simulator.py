"""Hand-computed trajectories pin down the simulator's event order (see its docstring)."""
import numpy as np
import pytest

from deepstock_lite import InventorySystem, simulate
from deepstock_lite.core.policies import SSPolicy, BaseStock, ConstantOrder, FunctionPolicy


def run(system, policy, demand, **kw):
    return simulate(system, policy, np.array([demand], float), **kw)


def test_zero_lead_time_backlog_by_hand():
    r = run(InventorySystem(L=0, h=1, b=4), BaseStock(5), [3, 7, 2])
    np.testing.assert_allclose(r.order[0], [5, 3, 7])
    np.testing.assert_allclose(r.end_inventory[0], [2, -2, 3])
    np.testing.assert_allclose(r.sales[0], [3, 5, 2])
    np.testing.assert_allclose(r.unmet[0], [0, 2, 0])
    np.testing.assert_allclose(r.cost[0], [2, 8, 3])


def test_fixed_and_unit_order_cost_by_hand():
    r = run(InventorySystem(L=0, h=1, b=4, K=10, c=2), BaseStock(5), [3, 7, 2])
    np.testing.assert_allclose(r.cost[0], [22, 24, 27])


def test_lead_time_one_review_period_two_by_hand():
    r = run(InventorySystem(L=1, P=2, h=1, b=2), BaseStock(6), [2, 3, 4, 1], on_hand=5)
    np.testing.assert_allclose(r.order[0], [1, 0, 5, 0])
    np.testing.assert_allclose(r.start_on_hand[0], [5, 4, 1, 2])
    np.testing.assert_allclose(r.end_inventory[0], [3, 1, -3, 1])
    np.testing.assert_allclose(r.cost[0], [3, 1, 6, 1])


def test_lead_time_three_lost_sales_by_hand():
    system = InventorySystem(L=3, h=1, b=4, backlog=False)
    r = run(system, ConstantOrder(3), [4, 4, 4, 4, 4], on_hand=6, pipeline=[1, 2])
    np.testing.assert_allclose(r.start_on_hand[0], [6, 3, 2, 3, 3])
    np.testing.assert_allclose(r.unmet[0], [0, 1, 2, 1, 1])
    np.testing.assert_allclose(r.end_inventory[0], [2, 0, 0, 0, 0])
    np.testing.assert_allclose(r.cost[0], [2, 4, 8, 4, 4])


def test_lost_sales_lead_time_one_by_hand():
    # L = 1: the order of period t is on hand at the start of t + 1
    system = InventorySystem(L=1, h=1, b=5, backlog=False)
    r = run(system, BaseStock(4), [6, 1, 3], on_hand=2)
    np.testing.assert_allclose(r.order[0], [2, 2, 1])
    np.testing.assert_allclose(r.start_on_hand[0], [2, 2, 3])
    np.testing.assert_allclose(r.unmet[0], [4, 0, 0])
    np.testing.assert_allclose(r.cost[0], [20, 1, 0])


def test_order_serves_demand_of_period_t_plus_L():
    for L in range(5):
        system = InventorySystem(L=L, h=1, b=1)
        orders = lambda s: np.where(s.t == 0, 10.0, 0.0) * np.ones(s.n)  # noqa: E731
        r = run(system, FunctionPolicy(orders), [0] * 8)
        first_stock = int(np.argmax(r.start_on_hand[0] > 0))
        assert first_stock == L


def test_zipkin_state_transition():
    """Next state ((x0 − D)^+ + x1, x2, …, z) as in Zipkin (2008)."""
    system = InventorySystem(L=3, h=1, b=4, backlog=False)
    state = system.initial_state(2, on_hand=[5, 1], pipeline=[[2, 3], [0, 4]])
    system.step(state, np.array([7.0, 6.0]), np.array([3.0, 2.0]))
    np.testing.assert_allclose(state.on_hand, [2 + 2, 0 + 0])
    np.testing.assert_allclose(state.pipeline, [[3, 7], [4, 6]])
    np.testing.assert_allclose(state.position, [14, 10])


def test_review_period_with_first_review():
    system = InventorySystem(L=1, P=2, first_review=2, h=0.1, b=0.9)
    r = run(system, ConstantOrder(10), [0] * 9)
    np.testing.assert_allclose(r.order[0], [0, 0, 10, 0, 10, 0, 10, 0, 10])


def test_ss_policy_orders_only_at_or_below_s():
    r = run(InventorySystem(L=0, h=1, b=4), SSPolicy(2, 6), [3, 1, 1, 4])
    np.testing.assert_allclose(r.order[0], [6, 0, 4, 0])


def test_batch_equals_rows_one_at_a_time():
    rng = np.random.default_rng(1)
    D = rng.poisson(5, size=(16, 30)).astype(float)
    for backlog in (True, False):
        system = InventorySystem(L=2, P=2, h=1, b=9, backlog=backlog, K=3, c=0.5)
        full = simulate(system, SSPolicy(10, 25), D)
        for i in (0, 7, 15):
            one = simulate(system, SSPolicy(10, 25), D[i])
            np.testing.assert_allclose(one.cost[0], full.cost[i])


def test_demand_process_input_is_seeded():
    from deepstock_lite.core.demand import Poisson
    system = InventorySystem(L=1)
    a = simulate(system, BaseStock(12), Poisson(5), n=8, horizon=20, seed=3)
    b = simulate(system, BaseStock(12), Poisson(5), n=8, horizon=20, seed=3)
    np.testing.assert_array_equal(a.cost, b.cost)
    with pytest.raises(ValueError, match="n and horizon"):
        simulate(system, BaseStock(12), Poisson(5))


@pytest.mark.parametrize("kwargs, match", [
    ({"L": -1}, "L must be in"), ({"P": 0}, "P must be in"), ({"h": -1.0}, "h must be in"),
    ({"b": -0.5}, "b must be in"), ({"K": -1}, "K must be in"), ({"c": float("nan")}, "c must"),
    ({"first_review": -2}, "first_review"),
])
def test_bad_system_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        InventorySystem(**kwargs)


@pytest.mark.parametrize("kwargs", [{"L": 1.5}, {"P": "2"}, {"h": "1"}, {"backlog": 1},
                                    {"b": None}])
def test_wrong_types(kwargs):
    with pytest.raises(TypeError):
        InventorySystem(**kwargs)


def test_bad_demand_and_state():
    system = InventorySystem(L=2)
    with pytest.raises(ValueError, match="demand must be finite"):
        simulate(system, BaseStock(5), [[1.0, np.nan]])
    with pytest.raises(ValueError, match="demand must be non-negative"):
        simulate(system, BaseStock(5), [[1.0, -2.0]])
    with pytest.raises(TypeError, match="demand must hold numbers"):
        simulate(system, BaseStock(5), np.array([["a", "b"]]))
    with pytest.raises(TypeError, match="demand must hold numbers"):
        simulate(system, BaseStock(5), np.array([[True, False]]))
    with pytest.raises(ValueError, match="pipeline must have shape"):
        simulate(system, BaseStock(5), [[1.0, 2.0]], pipeline=[1.0, 2.0])
    with pytest.raises(ValueError, match="on_hand must be >= 0"):
        InventorySystem(backlog=False).initial_state(2, on_hand=-1)
    with pytest.raises(TypeError, match="policy"):
        simulate(system, 3, [[1.0, 2.0]])


def test_policy_returning_bad_orders_is_caught():
    system = InventorySystem(L=1)
    with pytest.raises(ValueError, match="non-negative"):
        simulate(system, FunctionPolicy(lambda s: -np.ones(s.n)), [[1.0, 2.0]])
    with pytest.raises(ValueError, match="non-negative"):
        simulate(system, FunctionPolicy(lambda s: np.full(s.n, np.nan)), [[1.0, 2.0]])
    with pytest.raises(ValueError, match="shape"):
        simulate(system, FunctionPolicy(lambda s: np.ones(3)), [[1.0, 2.0]])
    with pytest.raises(ValueError, match="s must be <= S"):
        SSPolicy(5, 3)


def test_demand_array_size_is_checked_before_allocating():
    """A demand array gets the limit of sampled demand (paths x periods <= MAX_COUNT),
    checked on its shape: a broadcast view of 2e8 entries (no memory) is refused at once."""
    import tracemalloc
    from deepstock_lite.core.validation import MAX_COUNT
    huge = np.broadcast_to(np.float64(3.0), (200_000, MAX_COUNT // 100_000))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="at most 100,000,000 entries"):
            simulate(InventorySystem(), BaseStock(5), huge)
        assert tracemalloc.get_traced_memory()[1] < 2**20
    finally:
        tracemalloc.stop()
    # at the limit's side the sampled path keeps its own check
    from deepstock_lite.core.demand import Poisson
    with pytest.raises(ValueError, match="n_paths \\* horizon"):
        simulate(InventorySystem(), BaseStock(5), Poisson(5), n=200_000, horizon=1000)


# -- one period, three backends: numpy (the reference), plain floats, torch --------------------
from collections import deque  # noqa: E402

import torch  # noqa: E402

from deepstock_lite.core.simulator import serve_demand  # noqa: E402
from deepstock_lite.paper.differentiable_simulator import torch_serve_demand  # noqa: E402
from deepstock_lite.envs import BatchInventoryEnv, InventoryEnv  # noqa: E402
from deepstock_lite.envs.inventory_env import float_serve_demand  # noqa: E402


def _stocks_and_demands(rng, n, backlog):
    """Net inventories and demands with ties, zeros, integers and arbitrary floats."""
    x0 = rng.uniform(-15.0 if backlog else 0.0, 25.0, n)
    d = rng.gamma(2.0, 3.0, n)
    x0[::4], d[1::4] = np.rint(x0[::4]), np.rint(d[1::4])
    d[2::8] = x0[2::8].clip(0.0)                    # demand equal to the stock
    x0[3::8] = 0.0
    d[5::16] = 0.0
    return x0, d


@pytest.mark.parametrize("backlog", [True, False])
def test_plain_float_serve_demand_is_numpy_bit_for_bit(backlog):
    rng = np.random.default_rng(1 + backlog)
    x0, d = _stocks_and_demands(rng, 4000, backlog)
    for h, b in [(1.0, 9.0), (0.7, 3.3), (0.13, 41.7)]:
        _, _, end, cost = serve_demand(x0, d, h=h, b=b, backlog=backlog)
        serve = float_serve_demand(h=h, b=b, backlog=backlog)
        got = [serve(x, y) for x, y in zip(x0.tolist(), d.tolist())]
        assert [e for e, _ in got] == end.tolist()
        assert [c for _, c in got] == cost.tolist()


def _random_state(rng, system):
    m = max(system.L - 1, 0)
    x = float(rng.uniform(-10.0 if system.backlog else 0.0, 20.0))
    if rng.uniform() < 0.3:
        x = float(round(x))
    pipe = rng.uniform(0.0, 12.0, m)
    pipe[rng.uniform(size=m) < 0.3] = 0.0
    return x, pipe


@pytest.mark.parametrize("L, P, backlog, K, c, reward", [
    (L, P, bl, K, c, rw) for L in (0, 1, 3) for P in (1, 2) for bl in (True, False)
    for K, c in ((0.0, 0.0), (2.5, 0.3)) for rw in ("period", "attributed")])
def test_inventory_env_step_is_the_numpy_step_bit_for_bit_on_random_states(L, P, backlog, K, c,
                                                                          reward):
    """InventoryEnv's plain-float step (its inline hot path, float_serve_demand elsewhere)
    against BatchInventoryEnv, i.e. InventorySystem.step, from random states: the cost, the
    reward, the order, the observation and the next state, compared with ``==``."""
    rng = np.random.default_rng(100 * L + 10 * P + backlog)
    system = InventorySystem(L=L, P=P, h=0.7, b=3.3, backlog=backlog, K=K, c=c)
    D = rng.gamma(2.0, 3.0, (1, 60 * P + L))
    D[0, ::3] = np.rint(D[0, ::3])
    fast = InventoryEnv(system, D, 60 * P, 30.0, reward=reward)
    ref = BatchInventoryEnv(system, D, 60 * P, 30.0, n_envs=1, reward=reward)
    fast.reset(options={"path": 0})
    ref.reset(options={"paths": [0]})
    for _ in range(60):
        x, pipe = _random_state(rng, system)
        fast._x, fast._pipe = x, deque(pipe.tolist())
        t = ref.core.state.t
        ref.core.state = system.initial_state(1, on_hand=x, pipeline=pipe if L > 1 else None)
        ref.core.state.t = t
        a = float(rng.uniform(-3.0, 33.0))
        a = 0.0 if a < 0 else a                     # some steps order nothing (K not paid)
        o1, r1, _, tr1, i1 = fast.step(a)
        o2, r2, _, tr2, i2 = ref.step(np.array([[a]]))
        assert r1 == r2[0] and i1["cost"] == i2["cost"][0] and i1["order"] == i2["order"][0]
        assert np.array_equal(o1, o2[0]) and tr1 == tr2[0]
        assert fast.state.on_hand[0] == ref.state.on_hand[0]
        assert fast.state.pipeline.tolist() == ref.state.pipeline.tolist()


@pytest.mark.parametrize("backlog", [True, False])
def test_torch_serve_demand_is_numpy(backlog):
    """float64 torch against numpy: the end-of-period stock bit for bit; the cost bit for bit
    under lost sales, and under backlog on integer quantities (torch writes the backlog cost
    h end+ + b end-, numpy (h + b) end+ - b end: the same number up to rounding)."""
    rng = np.random.default_rng(7 + backlog)
    x0, d = _stocks_and_demands(rng, 4000, backlog)
    for h, b in [(1.0, 9.0), (0.7, 3.3), (0.25, 4.75)]:
        _, _, end, cost = serve_demand(x0, d, h=h, b=b, backlog=backlog)
        t_end, t_cost = torch_serve_demand(torch.tensor(x0), torch.tensor(d), h=h, b=b,
                                           backlog=backlog)
        assert t_end.dtype == torch.float64 and torch.equal(t_end, torch.from_numpy(end))
        if backlog:
            np.testing.assert_allclose(t_cost.numpy(), cost, rtol=1e-13, atol=1e-12)
        else:
            assert torch.equal(t_cost, torch.from_numpy(cost))
    # integer stocks and demands: every form exact, so every surrogate's forward value too
    xi, di = np.rint(x0), np.rint(d)
    _, _, end, cost = serve_demand(xi, di, h=0.25, b=4.75, backlog=backlog)
    for surrogate in ("exact", "leaky", "straight-through"):
        t_end, t_cost = torch_serve_demand(torch.tensor(xi), torch.tensor(di), h=0.25, b=4.75,
                                           backlog=backlog, surrogate=surrogate, leak=0.2)
        assert torch.equal(t_end, torch.from_numpy(end))
        assert torch.equal(t_cost, torch.from_numpy(cost))
