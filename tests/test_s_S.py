"""Exact (s, S) optima: Zheng & Federgruen (1991), Snyder & Shen (2019) and simulation."""
import numpy as np
import pytest
from scipy import stats

from deepstock_lite.classical import (DiscreteDemand, eoq_s_S, finite_horizon_s_S,
                                      k_convexity_constant, optimal_s_S, renewal_mass, s_S_cost,
                                      s_S_cost_grid, single_period_cost)
from deepstock_lite.core.distributions import DiscreteDistribution
from deepstock_lite.core.policies import SSPolicy
from deepstock_lite.core.simulator import InventorySystem, simulate

P = DiscreteDemand.poisson   # Poisson demand of a given mean


@pytest.mark.parametrize("mu, s, S, cost", [(10, 6, 40, 35.022), (20, 14, 62, 49.173),
                                            (65, 56, 75, 78.518)])
def test_zheng_federgruen_examples(mu, s, S, cost):
    r = optimal_s_S(P(mu), h=1, b=9, K=64)
    assert (r.s, r.S) == (s, S)
    assert r.cost == pytest.approx(cost, abs=5e-4)
    assert s_S_cost(P(mu), s=s, S=S, h=1, b=9, K=64) == pytest.approx(r.cost, rel=1e-12)


def test_snyder_shen_example_4_7():
    r = optimal_s_S(P(6), h=1, b=4, K=5)
    assert (r.s, r.S) == (4, 10)
    assert r.cost == pytest.approx(8.0341, abs=5e-5)


def test_zero_fixed_cost_is_base_stock():
    # Snyder & Shen: Poisson(6), h = 1, p = 4 newsvendor: S* = 8, g* = 3.57011
    r = optimal_s_S(P(6), h=1, b=4, K=0)
    assert (r.s, r.S) == (7, 8)
    assert r.cost == pytest.approx(3.57011, abs=5e-6)
    assert r.base_stock_level == 8 and r.base_stock_cost == pytest.approx(r.cost)


def test_algorithm_matches_brute_force_grid():
    s_vals, S_vals = np.arange(-15, 40), np.arange(0, 90)
    grid = s_S_cost_grid(P(10), s_values=s_vals, S_values=S_vals, h=1, b=9, K=64)
    i, j = np.unravel_index(np.nanargmin(grid), grid.shape)
    r = optimal_s_S(P(10), h=1, b=9, K=64)
    assert (s_vals[i], S_vals[j]) == (r.s, r.S)
    assert np.nanmin(grid) == pytest.approx(r.cost, rel=1e-12)
    assert np.isnan(grid[s_vals >= 0][:, 0]).all()  # S <= s is undefined


def test_general_pmf_and_truncated_poisson_agree():
    pmf = stats.poisson.pmf(np.arange(80), 10)
    a = optimal_s_S(DiscreteDemand(pmf / pmf.sum()), h=1, b=9, K=64)
    assert (a.s, a.S) == (6, 40) and a.cost == pytest.approx(35.0216, abs=1e-4)
    c = optimal_s_S(DiscreteDistribution(pmf / pmf.sum()), h=1, b=9, K=64)
    assert (c.s, c.S, c.cost) == (a.s, a.S, pytest.approx(a.cost, rel=1e-12))
    # a scipy.stats law and a demand process are read as the same law
    from deepstock_lite.core.demand import Poisson
    d = optimal_s_S(stats.poisson(10), h=1, b=9, K=64)
    e = optimal_s_S(Poisson(10), h=1, b=9, K=64)
    assert (d.s, d.S, e.s, e.S) == (6, 40, 6, 40) and d.cost == pytest.approx(e.cost, rel=1e-12)
    # a three-point law checked against the brute-force grid
    law, kw = DiscreteDemand([0.2, 0.5, 0.3]), dict(h=2, b=7, K=20)
    r = optimal_s_S(law, **kw)
    g = s_S_cost_grid(law, s_values=np.arange(-10, 10), S_values=np.arange(-5, 30), **kw)
    assert np.nanmin(g) == pytest.approx(r.cost, rel=1e-12)


def test_renewal_mass_tends_to_one_over_mean():
    m = renewal_mass(P(10), n=300)
    assert m[0] == pytest.approx(1 / (1 - np.exp(-10)))
    assert m[-1] == pytest.approx(0.1, rel=1e-6)


def test_eoq_heuristic_is_worse_than_optimum():
    for mu in (10, 20, 65):
        opt, heur = optimal_s_S(P(mu), h=1, b=9, K=64), eoq_s_S(P(mu), h=1, b=9, K=64)
        assert heur.S - heur.s == max(1, round(np.sqrt(2 * 64 * mu)))
        assert heur.cost >= opt.cost - 1e-12
    assert eoq_s_S(P(10), h=1, b=9, K=64).cost / optimal_s_S(
        P(10), h=1, b=9, K=64).cost - 1 > 0.05


@pytest.mark.parametrize("L", [0, 1])
def test_exact_cost_matches_simulation(L):
    mu, s, S, K = 6, 4, 10, 5.0
    exact = s_S_cost(P(mu), s=s, S=S, h=1, b=4, K=K, L=L)
    rng = np.random.default_rng(7)
    n, T, warm = 400, 1500, 100
    demand = rng.poisson(mu, size=(n, T)).astype(float)
    system = InventorySystem(L=L, P=1, h=1, b=4, backlog=True, K=K)
    res = simulate(system, SSPolicy(s, S), demand, on_hand=S)
    per_path = res.cost[:, warm:].mean(1)
    se = per_path.std(ddof=1) / np.sqrt(n)
    assert abs(per_path.mean() - exact) < 4 * se


def test_lead_time_shifts_to_lead_time_demand():
    # with K = 0 the optimum is the base stock on L+1 periods of demand
    r = optimal_s_S(P(5), h=1, b=9, K=0, L=2)
    assert r.S == 20 and r.cost == pytest.approx(7.123, abs=5e-4)  # anchors, case (a)
    g = single_period_cost(P(5), y=np.arange(15, 26), h=1, b=9, L=2)
    assert np.argmin(g) + 15 == 20


@pytest.mark.parametrize("kw, match", [
    (dict(h=-1, b=9, K=64), "h must be"),
    (dict(h=1, b=0, K=64), "b must be"),
    (dict(h=1, b=9, K=-1), "K must be"),
    (dict(h=1, b=9, K=64, L=-1), "L must be"),
    (dict(demand=DiscreteDemand([1.0]), h=1, b=9, K=64), "identically zero"),
])
def test_bad_arguments(kw, match):
    demand = kw.pop("demand", P(10))
    with pytest.raises(ValueError, match=match):
        optimal_s_S(demand, **kw)


@pytest.mark.parametrize("demand, match", [
    (None, "demand is required"), (10, "demand must be a demand law"),
    ([0.5, 0.5], "DiscreteDemand\\(pmf\\)"), (stats.norm(10, 2), "demand must be a discrete law")])
def test_demand_is_a_discrete_law(demand, match):
    with pytest.raises(TypeError, match=match):
        optimal_s_S(demand, h=1, b=9, K=64)


def test_bad_policy_arguments():
    with pytest.raises(ValueError, match="S must be"):
        s_S_cost(P(10), s=10, S=10, h=1, b=9, K=64)
    with pytest.raises(TypeError, match="s must be an integer"):
        s_S_cost(P(10), s=1.5, S=10, h=1, b=9, K=64)


@pytest.mark.parametrize("mu, h, b, K", [(10, 1, 9, 64), (6, 1, 4, 5)])
def test_scarf_finite_horizon(mu, h, b, K):
    fh = finite_horizon_s_S(P(mu), T=60, h=h, b=b, K=K)
    opt = optimal_s_S(P(mu), h=h, b=b, K=K)
    assert fh.order_set_is_interval            # Scarf: an (s_t, S_t) rule in every period
    assert (fh.s[0], fh.S[0]) == (opt.s, opt.S)  # far from the end: the stationary optimum
    for H in fh.H:
        assert k_convexity_constant(H) <= K + 1e-9
    G = single_period_cost(P(mu), y=fh.grid, h=h, b=b)
    assert k_convexity_constant(G) == pytest.approx(0.0, abs=1e-9)  # G is convex


def test_k_convexity_example_and_arguments():
    fh = finite_horizon_s_S(P(10), T=60, h=1, b=9, K=64)
    assert k_convexity_constant(fh.H[0]) > 1.0  # H is not convex, only K-convex
    assert k_convexity_constant([0.0, 2.0, 1.0, 3.0]) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="at least 3"):
        k_convexity_constant([1.0, 2.0])
    with pytest.raises(ValueError, match="consecutive"):
        finite_horizon_s_S(P(10), T=5, h=1, b=9, K=64, grid=[0, 2, 3])
    with pytest.raises(ValueError, match="T must be"):
        finite_horizon_s_S(P(10), T=0, h=1, b=9, K=64)
