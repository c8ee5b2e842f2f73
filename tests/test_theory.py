"""Closed forms against published values (Snyder & Shen 2019) and against simulation."""
import numpy as np
import pytest

from scipy import stats

from deepstock_lite import InventorySystem, simulate
from deepstock_lite.classical import (DiscreteDemand, base_stock_cost, base_stock_normal,
                                      newsvendor_cost, newsvendor_cost_normal,
                                      newsvendor_empirical, newsvendor_normal,
                                      optimal_base_stock, optimal_newsvendor)
from deepstock_lite.core.demand import Poisson
from deepstock_lite.core.distributions import DiscreteDistribution, poisson_pmf
from deepstock_lite.core.policies import BaseStock


def test_newsvendor_normal_snyder_shen_example_4_3():
    sol = newsvendor_normal(stats.norm(50, 8), h=0.18, b=0.70)
    assert sol.S == pytest.approx(56.6040, abs=1e-4)
    assert sol.cost == pytest.approx(1.99761, abs=1e-5)
    # the cost function agrees with the closed-form optimum and is minimal there
    cost = lambda S: newsvendor_cost_normal(stats.norm(50, 8), S=S, h=0.18, b=0.70)  # noqa
    assert cost(sol.S) == pytest.approx(sol.cost, rel=1e-9)
    assert cost(sol.S + 0.5) > sol.cost


def test_newsvendor_poisson_snyder_shen():
    sol = optimal_newsvendor(DiscreteDemand.poisson(6), h=1, b=4)
    assert sol.S == 8
    assert sol.cost == pytest.approx(3.57011, abs=1e-5)


def test_newsvendor_discrete_is_brute_force_minimum():
    pmf = np.array([0.1, 0.0, 0.3, 0.25, 0.05, 0.3])
    sol = optimal_newsvendor(DiscreteDemand(pmf), h=2, b=3)
    grid = np.arange(0, 8)
    costs = newsvendor_cost(DiscreteDemand(pmf), S=grid, h=2, b=3)
    assert sol.S == grid[np.argmin(costs)]
    assert sol.cost == pytest.approx(costs.min())


def test_newsvendor_empirical_saa():
    sample = np.array([3, 9, 1, 7, 5, 4, 8, 2, 6, 10], float)  # 1..10
    sol = newsvendor_empirical(sample, h=1, b=4)  # ratio 0.8 -> 8th smallest
    assert sol.S == 8
    grid = np.arange(0, 12)
    from deepstock_lite.classical import newsvendor_cost_empirical
    assert sol.cost == pytest.approx(newsvendor_cost_empirical(sample, S=grid, h=1, b=4).min())


def test_base_stock_normal_snyder_shen_example_4_4():
    sol = base_stock_normal(stats.norm(50, 8), h=0.18, b=0.70, L=4)
    assert sol.S == pytest.approx(264.767, abs=1e-3)
    assert sol.cost == pytest.approx(4.46678, abs=1e-5)


def test_base_stock_poisson_instance_a():
    sol = optimal_base_stock(DiscreteDemand.poisson(5), h=1, b=9, L=2)
    assert sol.S == 20
    assert sol.cost == pytest.approx(7.123, abs=5e-4)


def test_base_stock_review_period_is_optimal_and_matches_simulation():
    L, P = 1, 2
    sol = optimal_base_stock(DiscreteDemand.poisson(5), h=1, b=9, L=L, P=P)
    grid = np.arange(5, 35)
    costs = base_stock_cost(poisson_pmf(5), S=grid, h=1, b=9, L=L, P=P)
    assert sol.S == grid[np.argmin(costs)]
    D = Poisson(5).sample(2000, 202, seed=11)
    r = simulate(InventorySystem(L=L, P=P, h=1, b=9), BaseStock(sol.S), D, on_hand=sol.S)
    per_path = r.cost[:, 2:].mean(1)
    half_width = 3 * per_path.std(ddof=1) / np.sqrt(per_path.size)
    assert abs(per_path.mean() - sol.cost) < half_width


def test_base_stock_normal_review_period_reduces_to_closed_form():
    a = base_stock_normal(stats.norm(100, 10), h=0.1, b=0.9, L=1, P=1)
    b = optimal_base_stock(DiscreteDistribution(poisson_pmf(5).pmf), h=1, b=9, L=0, P=1)
    assert a.S == pytest.approx(2 * 100 + 1.2816 * 10 * np.sqrt(2), abs=1e-3)
    assert b.S == optimal_newsvendor(DiscreteDemand.poisson(5), h=1, b=9).S
    # P > 1: the level equalizes the average fractile; cost is minimal there
    sol = base_stock_normal(stats.norm(100, 10), h=0.1, b=0.9, L=1, P=2)
    from deepstock_lite.classical import base_stock_cost_normal
    for dS in (-1.0, 1.0):
        assert base_stock_cost_normal(stats.norm(100, 10), S=sol.S + dS, h=0.1, b=0.9, L=1,
                                      P=2) > sol.cost


@pytest.mark.parametrize("call, match", [
    (lambda: newsvendor_normal(stats.norm(50, 8), h=-1, b=1), "h must be in"),
    (lambda: newsvendor_normal(stats.norm(50, 0), h=1, b=1), "demand: .*positive variance"),
    (lambda: newsvendor_normal(stats.norm(50, 8), h=0, b=0), "h \\+ b"),
    (lambda: base_stock_normal(stats.norm(-5, 8), h=1, b=1), "demand must have a mean in"),
    (lambda: newsvendor_empirical([1.0, np.nan], h=1, b=1), "finite"),
    (lambda: optimal_base_stock(DiscreteDemand.poisson(5), h=1, b=9, L=-1), "L must be in"),
    (lambda: optimal_base_stock(DiscreteDemand.poisson(5), h=1, b=9, P=0), "P must be in"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_wrong_types():
    with pytest.raises(TypeError, match="h must be a real number"):
        newsvendor_normal(stats.norm(50, 8), h="1", b=1)
    with pytest.raises(TypeError, match="L must be an integer"):
        optimal_base_stock(DiscreteDemand.poisson(5), h=1, b=9, L=2.0)
    with pytest.raises(TypeError, match="demand must be a normal law"):
        newsvendor_normal(DiscreteDemand.poisson(5), h=1, b=1)
    with pytest.raises(TypeError, match="demand must be a demand law"):
        optimal_newsvendor(5, h=1, b=1)


# -- the keyword API with any demand law ----------------------------------------------------
def test_one_discrete_type_exact_poisson_and_geometric():
    from fractions import Fraction

    from deepstock_lite.classical import DiscreteDemand
    assert DiscreteDistribution is DiscreteDemand
    pois = DiscreteDemand.poisson(6)
    # E(y - D)^+ without truncation against a long direct sum
    k = np.arange(400)
    from scipy import stats
    p = stats.poisson.pmf(k, 6)
    for y in (0, 3, 8.5, 40):
        assert pois.expected_excess(y) == pytest.approx(np.maximum(y - k, 0) @ p, abs=1e-12)
        assert pois.expected_shortfall(y) == pytest.approx(np.maximum(k - y, 0) @ p,
                                                           abs=1e-12)
    # geometric: E(y - D)^+ = y - q(1 - q^y)/(1 - q) exactly; checked with fractions
    geo = DiscreteDemand.geometric(4)
    q = Fraction(4, 5)
    for y in (1, 5, 20):
        exact = y - q * (1 - q ** y) / (1 - q)
        assert geo.expected_excess(y) == pytest.approx(float(exact), rel=1e-12)
    assert geo.var == pytest.approx(20) and geo.quantile(0.5) == 3
    # sums of periods: Poisson stays Poisson, a pmf is convolved exactly
    assert pois.sum_of(3).mean == pytest.approx(18)
    two = DiscreteDemand([0.5, 0.5]).sum_of(2)
    np.testing.assert_allclose(two.pmf, [0.25, 0.5, 0.25])


def test_newsvendor_any_law_keyword_api():
    from scipy import stats

    from deepstock_lite.classical import DiscreteDemand, newsvendor_cost, optimal_newsvendor
    # the closed form for the normal is what optimal_newsvendor returns for a normal law
    norm = optimal_newsvendor(stats.norm(50, 8), h=0.18, b=0.70)
    assert norm.S == pytest.approx(56.6040, abs=1e-4)
    assert norm == newsvendor_normal(stats.norm(50, 8), h=0.18, b=0.70)
    # a scipy discrete law and a demand process are the same as the DiscreteDemand
    assert optimal_newsvendor(stats.poisson(6), h=1, b=4).cost == \
        pytest.approx(3.57011, abs=1e-5)
    assert optimal_newsvendor(Poisson(6), h=1, b=4) == \
        optimal_newsvendor(DiscreteDemand.poisson(6), h=1, b=4)
    assert newsvendor_cost(DiscreteDemand.poisson(6), S=8, h=1, b=4) == \
        pytest.approx(3.57011, abs=1e-5)
    # lognormal: closed form of the loss function, E(D - S)^+ for D = exp(N(m, s^2))
    s, m = 0.4, np.log(50)
    law = stats.lognorm(s, scale=50)
    sol = optimal_newsvendor(law, h=0.18, b=0.70)
    assert law.cdf(sol.S) == pytest.approx(0.70 / 0.88, rel=1e-9)
    d2 = (m - np.log(sol.S)) / s
    under = law.mean() * stats.norm.cdf(d2 + s) - sol.S * stats.norm.cdf(d2)
    over = sol.S - law.mean() + under
    assert sol.cost == pytest.approx(0.18 * over + 0.70 * under, rel=1e-8)
    grid = sol.S + np.array([-1.0, 1.0])
    assert np.all(newsvendor_cost(law, S=grid, h=0.18, b=0.70) > sol.cost)
    # geometric demand: brute force over the integers
    geo = DiscreteDemand.geometric(5)
    best = optimal_newsvendor(geo, h=1, b=4)
    costs = newsvendor_cost(geo, S=np.arange(60), h=1, b=4)
    assert best.S == np.argmin(costs) and best.cost == pytest.approx(costs.min())


def test_base_stock_any_law_keyword_api():
    from scipy import stats

    from deepstock_lite.classical import DiscreteDemand, base_stock_cost, optimal_base_stock
    pois = DiscreteDemand.poisson(5)
    assert optimal_base_stock(Poisson(5), h=1, b=9, L=2, P=2) == \
        optimal_base_stock(pois, h=1, b=9, L=2, P=2)
    levels = np.arange(10, 30)
    np.testing.assert_allclose(base_stock_cost(pois, S=levels, h=1, b=9, L=2),
                               base_stock_cost(poisson_pmf(5), S=levels, h=1, b=9, L=2),
                               atol=1e-9)
    # geometric demand: a scipy law and the DiscreteDemand agree, and S is the argmin
    geo = optimal_base_stock(DiscreteDemand.geometric(5), h=1, b=9, L=1)
    via_scipy = optimal_base_stock(stats.geom(1 / 6, loc=-1), h=1, b=9, L=1)
    assert geo.S == via_scipy.S and geo.cost == pytest.approx(via_scipy.cost, rel=1e-12)
    c = base_stock_cost(DiscreteDemand.geometric(5), S=np.arange(80), h=1, b=9, L=1)
    assert geo.S == np.argmin(c)
    # gamma is exact (closed under sums); the grid method agrees within its stated error
    g = stats.gamma(4, scale=5)
    exact = optimal_base_stock(g, h=1, b=9, L=2, P=3)
    assert exact.error == 0
    from deepstock_lite.core.continuous import ContinuousDemand
    assert base_stock_cost(g, S=exact.S, h=1, b=9, L=2, P=3) == pytest.approx(exact.cost)
    ln = stats.lognorm(0.4, scale=5)
    coarse = optimal_base_stock(ln, h=1, b=9, L=2, P=3, step=ln.std() / 200)
    fine = optimal_base_stock(ln, h=1, b=9, L=2, P=3)
    assert 0 < fine.error < coarse.error
    assert abs(coarse.cost - fine.cost) <= coarse.error + fine.error
    assert isinstance(ContinuousDemand(ln), ContinuousDemand)
    # normal: the same as the closed form
    assert optimal_base_stock(stats.norm(50, 8), h=0.18, b=0.70, L=4) == \
        base_stock_normal(stats.norm(50, 8), h=0.18, b=0.70, L=4)
