"""Zipkin's lost-sales model: the 16 published optima, the heuristics, and simulation."""
import numpy as np
import pytest
from scipy import stats

from deepstock_lite.classical import (DiscreteDemand, LookupPolicy, backorder_base_stock_level,
                                      best_base_stock, best_capped_base_stock,
                                      best_constant_order, evaluate_policy_exact, myopic_policy,
                                      solve_lost_sales)
from deepstock_lite.core.simulator import InventorySystem, simulate

# Zipkin (2008), Poisson(5), h = 1: optimal long-run average cost, rows b, columns L = 1..4
ZIPKIN = {4: (4.04, 4.40, 4.60, 4.73), 9: (5.44, 6.09, 6.53, 6.84),
          19: (6.68, 7.66, 8.36, 8.89), 39: (7.84, 9.11, 10.04, 10.79)}
CELLS = [(L, b, ZIPKIN[b][L - 1]) for L in (1, 2, 3, 4) for b in (4, 9, 19, 39)]
POIS5 = DiscreteDemand.poisson(5)


@pytest.fixture(scope="module")
def solved():
    return {}


def _solve(cache, L, b):
    if (L, b) not in cache:
        cache[L, b] = solve_lost_sales(POIS5, L=L, h=1, b=b)
    return cache[L, b]


@pytest.mark.parametrize("L, b, published", CELLS)
def test_zipkin_table(solved, L, b, published):
    r = _solve(solved, L, b)
    assert round(r.cost, 2) == pytest.approx(published, abs=1e-9)
    assert r.upper - r.lower <= 1e-6
    # the position after ordering never exceeds the backorder base-stock level
    assert np.all(r.states.sum(1) + r.orders <= r.max_position)


# published heuristic costs (Zipkin 2008; Xin 2021)
HEUR = [(2, 4, 4.64, 4.41), (4, 4, 5.20, 4.80), (2, 19, 7.84, 7.72), (4, 19, 9.23, 8.95)]


@pytest.mark.parametrize("L, b, base, capped", HEUR)
def test_heuristics_published(solved, L, b, base, capped):
    bs = best_base_stock(POIS5, L=L, h=1, b=b)
    cb = best_capped_base_stock(POIS5, L=L, h=1, b=b)
    assert round(bs.cost, 2) == pytest.approx(base, abs=1e-9)
    assert round(cb.cost, 2) == pytest.approx(capped, abs=1e-9)
    opt = _solve(solved, L, b).cost
    assert opt <= cb.cost <= bs.cost


def test_myopic_and_constant_order(solved):
    my = myopic_policy(POIS5, L=4, h=1, b=4)
    assert round(my.cost, 2) == pytest.approx(5.06, abs=1e-9)  # Zipkin 2008, L = 4, p = 4
    co = best_constant_order(POIS5, L=4, h=1, b=4)
    assert co.params["r"] < 5 and co.cost > _solve(solved, 4, 4).cost
    # constant order: the pipeline is deterministic, so the cost does not depend on L
    assert best_constant_order(POIS5, L=1, h=1, b=4).cost == pytest.approx(co.cost, abs=1e-5)


def test_lookup_policy_simulates_to_its_dp_value(solved):
    r = _solve(solved, 2, 4)
    rng = np.random.default_rng(3)
    n, T, warm = 300, 1200, 100
    demand = rng.poisson(5, size=(n, T)).astype(float)
    system = InventorySystem(L=2, P=1, h=1, b=4, backlog=False)
    res = simulate(system, r.policy, demand)
    per_path = res.cost[:, warm:].mean(1)
    se = per_path.std(ddof=1) / np.sqrt(n)
    assert abs(per_path.mean() - r.cost) < 4 * se
    # and the simulated orders are the table's
    assert np.all(res.order == np.round(res.order))


def test_exact_evaluation_of_policies(solved):
    r = _solve(solved, 3, 9)
    ev = evaluate_policy_exact(POIS5, policy=r.policy, L=3, h=1, b=9)
    assert ev.cost == pytest.approx(r.cost, abs=2e-6)
    S = best_base_stock(POIS5, L=3, h=1, b=9)
    ev = evaluate_policy_exact(POIS5, policy=lambda x: np.maximum(S.params["S"] - x.sum(1), 0),
                               L=3, h=1, b=9)
    assert ev.cost == pytest.approx(S.cost, abs=2e-6)
    assert isinstance(ev.policy, LookupPolicy)


def test_optimal_policy_structure(solved):
    # Zipkin (2008b): orders fall with each stock component, by at most one unit per unit
    r = _solve(solved, 2, 9)
    table = {tuple(x): z for x, z in zip(r.states, r.orders)}
    for (x0, x1), z in table.items():
        for nxt in ((x0 + 1, x1), (x0, x1 + 1)):
            if nxt in table:
                assert -1 <= table[nxt] - z <= 0


def test_general_demand_laws():
    pmf = stats.poisson.pmf(np.arange(60), 5)
    a = solve_lost_sales(DiscreteDemand(pmf / pmf.sum()), L=2, h=1, b=9)
    assert a.cost == pytest.approx(6.09, abs=5e-3)
    g = solve_lost_sales(DiscreteDemand.geometric(5), L=2, h=1, b=9)
    heur = best_base_stock(DiscreteDemand.geometric(5), L=2, h=1, b=9)
    assert g.lower <= g.cost <= g.upper and g.cost <= heur.cost
    assert g.cost > a.cost  # geometric demand is more variable than Poisson
    d = solve_lost_sales(DiscreteDemand([0, 0, 1]), L=2, h=1, b=9)  # deterministic: no cost
    # a scipy.stats law and a demand process are read as the same law
    from deepstock_lite.core.demand import Poisson
    one = solve_lost_sales(POIS5, L=1, h=1, b=4).cost
    assert solve_lost_sales(Poisson(5), L=1, h=1, b=4).cost == one
    assert solve_lost_sales(stats.poisson(5), L=1, h=1, b=4).cost == pytest.approx(one,
                                                                                  abs=1e-9)
    assert d.cost == pytest.approx(0.0, abs=1e-9)


def test_lookup_policy_outside_table(solved):
    p = _solve(solved, 2, 4).policy
    assert p.order((100, 0)) == 0          # above the bound: nothing to order
    with pytest.raises(ValueError, match="integer"):
        p.order((1.5, 0))


@pytest.mark.parametrize("kw, match", [
    (dict(L=2, h=-1, b=4), "h must be"),
    (dict(L=2, h=1, b=-4), "b must be"),
    (dict(L=0, h=1, b=4), "L must be"),
    (dict(L=-1, h=1, b=4), "L must be"),
    (dict(L=2, h=1, b=4, max_position=10), "max_position must be >="),
    (dict(demand=DiscreteDemand([1.0]), L=2, h=1, b=4), "identically zero"),
])
def test_bad_arguments(kw, match):
    demand = kw.pop("demand", POIS5)
    with pytest.raises(ValueError, match=match):
        solve_lost_sales(demand, **kw)


@pytest.mark.parametrize("demand, exc, match", [
    (None, TypeError, "demand is required"), (5, TypeError, "demand must be a demand law"),
    (stats.norm(5, 1), TypeError, "demand must be a discrete law")])
def test_demand_is_a_discrete_law(demand, exc, match):
    with pytest.raises(exc, match=match):
        solve_lost_sales(demand, L=2, h=1, b=4)


def test_bad_policy_table():
    S_bo = backorder_base_stock_level(POIS5, L=2, h=1, b=4)
    assert S_bo == 18
    with pytest.raises(ValueError, match="max_position"):
        evaluate_policy_exact(POIS5, policy=lambda x: np.full(len(x), 30), L=2, h=1, b=4)
    with pytest.raises(ValueError, match="non-negative"):
        evaluate_policy_exact(POIS5, policy=lambda x: np.full(len(x), -1), L=2, h=1, b=4)
    with pytest.raises(TypeError):
        evaluate_policy_exact(POIS5, policy="base stock", L=2, h=1, b=4)


def test_benchmark_script_and_shipped_table(tmp_path, capsys):
    import importlib.resources
    import importlib.util
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "dp.py"
    spec = importlib.util.spec_from_file_location("bench_dp", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "z.json"
    bench.main(["--L", "1", "--b", "4", "--out", str(out)])
    assert not out.exists()  # writing takes an explicit --write
    bench.main(["--L", "1", "--b", "4", "--out", str(out), "--write"])
    cell = json.loads(out.read_text())["cells"][0]
    assert round(cell["optimal_cost"], 2) == 4.04 and cell["published_optimal"] == 4.04
    # the table shipped with the package (regenerated by `python benchmarks/dp.py --write`)
    ref = importlib.resources.files("deepstock_lite") / "data" / "zipkin_table.json"
    cells = json.loads(ref.read_text())["cells"]
    assert len(cells) == 16
    for c in cells:
        assert round(c["optimal_cost"], 2) == pytest.approx(ZIPKIN[c["b"]][c["L"] - 1])


def test_policy_evaluation_from_a_start_state():
    """From a start state: the same cost as the default for a unichain policy, certified
    bounds, and a clear error for a bad start."""
    import numpy as np
    from deepstock_lite.classical import evaluate_policy_exact
    pol = lambda st: np.maximum(8 - st.sum(1), 0)     # noqa: E731 (base stock 8)
    every = evaluate_policy_exact(POIS5, policy=pol, L=2, h=1, b=4)
    one = evaluate_policy_exact(POIS5, policy=pol, L=2, h=1, b=4, start=(3, 2))
    assert one.lower <= every.cost + 1e-6 and every.cost - 1e-6 <= one.upper
    assert abs(one.cost - every.cost) < 1e-5
    for bad in ((3,), (3, -1), (3.5, 0), (500, 0)):
        with pytest.raises(ValueError, match="start"):
            evaluate_policy_exact(POIS5, policy=pol, L=2, h=1, b=4, start=bad)


def test_memory_guard_refuses_before_allocating(monkeypatch):
    """L = 5, b = 39, Poisson(6) needs far more than MAX_MEMORY (it used to fail with
    MemoryError after about 30 s): refused at once, with the estimate and the limit, before
    the states are built."""
    import time
    from deepstock_lite.classical.lost_sales import state_space as ls

    def no_build(*a, **k):
        raise AssertionError("the state space was built before the memory check")
    monkeypatch.setattr(ls, "_simplex", no_build)
    assert ls.MAX_MEMORY == 2 * 2**30
    t0 = time.perf_counter()
    pois6 = DiscreteDemand.poisson(6)
    for call in (lambda: solve_lost_sales(pois6, L=5, h=1, b=39),
                 lambda: myopic_policy(pois6, L=5, h=1, b=39)):
        with pytest.raises(ValueError, match=r"about \d+\.\d GiB .*MAX_MEMORY = 2 GiB"):
            call()
    assert time.perf_counter() - t0 < 1.0
    assert ls.memory_estimate(L=5, S=48, all_orders=True) > 8 * 2**30


def test_memory_guard_for_policy_evaluation(monkeypatch):
    """Policy evaluation (one order per state) is checked too, on the same limit."""
    from deepstock_lite.classical.lost_sales import state_space as ls
    monkeypatch.setattr(ls, "MAX_MEMORY", 2**20)     # 1 MiB: L = 3, b = 39 needs ~2.5 MiB
    with pytest.raises(ValueError, match="MAX_MEMORY"):
        evaluate_policy_exact(POIS5, policy=lambda x: np.maximum(29 - x.sum(1), 0), L=3, h=1,
                              b=39)
    with pytest.raises(ValueError, match="MAX_MEMORY"):
        best_capped_base_stock(POIS5, L=4, h=1, b=39)


def test_memory_estimate_bounds_the_measured_peak():
    """The estimate is at or above the traced peak of a real solve and evaluation, and not
    far above it (the sizes are counted exactly, also with a pipeline cap)."""
    import tracemalloc
    from deepstock_lite.classical.lost_sales import heuristics
    from deepstock_lite.classical.lost_sales import state_space as ls
    from deepstock_lite.classical.lost_sales.model import LostSalesModel
    from math import comb
    model = LostSalesModel(POIS5, L=3, h=1, b=39)
    S = model.backorder_level()
    for call, est in ((lambda: solve_lost_sales(POIS5, L=3, h=1, b=39),
                       ls.memory_estimate(L=3, S=S, all_orders=True)),
                      (lambda: heuristics._capped(model, S, 4, 1e-6, 50_000),
                       ls.memory_estimate(L=3, S=S, cap=4))):
        tracemalloc.start()
        try:
            call()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak <= est <= 1.6 * peak
    # exact counts: all states, (state, order) pairs and entries for the full space ...
    assert ls._sizes(3, 10, 10, True)[1:] == (comb(13, 3), comb(14, 4), comb(15, 5))
    # ... and, with a cap, the states _simplex builds and their sum of (x0 + 1)
    st = ls._simplex(3, 12, 4)
    assert ls._sizes(3, 12, 4, False)[1:] == (len(st), len(st), int((st[:, 0] + 1).sum()))
