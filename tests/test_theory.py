"""Closed forms against published values (Snyder & Shen 2019) and against simulation."""
import numpy as np
import pytest

from deepstock_lite import InventorySystem, simulate
from deepstock_lite.classical import (base_stock_cost_discrete, base_stock_discrete,
                                      base_stock_normal, base_stock_poisson,
                                      newsvendor_cost_discrete, newsvendor_cost_normal,
                                      newsvendor_discrete, newsvendor_empirical,
                                      newsvendor_normal, newsvendor_poisson)
from deepstock_lite.core.demand import Poisson
from deepstock_lite.core.distributions import DiscreteDistribution, poisson_pmf
from deepstock_lite.core.policies import BaseStock


def test_newsvendor_normal_snyder_shen_example_4_3():
    sol = newsvendor_normal(50, 8, h=0.18, b=0.70)
    assert sol.S == pytest.approx(56.6040, abs=1e-4)
    assert sol.cost == pytest.approx(1.99761, abs=1e-5)
    # the cost function agrees with the closed-form optimum and is minimal there
    assert newsvendor_cost_normal(sol.S, 50, 8, 0.18, 0.70) == pytest.approx(sol.cost, rel=1e-9)
    assert newsvendor_cost_normal(sol.S + 0.5, 50, 8, 0.18, 0.70) > sol.cost


def test_newsvendor_poisson_snyder_shen():
    sol = newsvendor_poisson(6, h=1, b=4)
    assert sol.S == 8
    assert sol.cost == pytest.approx(3.57011, abs=1e-5)


def test_newsvendor_discrete_is_brute_force_minimum():
    pmf = np.array([0.1, 0.0, 0.3, 0.25, 0.05, 0.3])
    sol = newsvendor_discrete(pmf, h=2, b=3)
    grid = np.arange(0, 8)
    costs = newsvendor_cost_discrete(grid, pmf, 2, 3)
    assert sol.S == grid[np.argmin(costs)]
    assert sol.cost == pytest.approx(costs.min())


def test_newsvendor_empirical_saa():
    sample = np.array([3, 9, 1, 7, 5, 4, 8, 2, 6, 10], float)  # 1..10
    sol = newsvendor_empirical(sample, h=1, b=4)  # ratio 0.8 -> 8th smallest
    assert sol.S == 8
    grid = np.arange(0, 12)
    from deepstock_lite.classical import newsvendor_cost_empirical
    assert sol.cost == pytest.approx(newsvendor_cost_empirical(grid, sample, 1, 4).min())


def test_base_stock_normal_snyder_shen_example_4_4():
    sol = base_stock_normal(50, 8, h=0.18, b=0.70, L=4)
    assert sol.S == pytest.approx(264.767, abs=1e-3)
    assert sol.cost == pytest.approx(4.46678, abs=1e-5)


def test_base_stock_poisson_instance_a():
    sol = base_stock_poisson(5, h=1, b=9, L=2)
    assert sol.S == 20
    assert sol.cost == pytest.approx(7.123, abs=5e-4)


def test_base_stock_review_period_is_optimal_and_matches_simulation():
    L, P = 1, 2
    sol = base_stock_poisson(5, h=1, b=9, L=L, P=P)
    grid = np.arange(5, 35)
    costs = base_stock_cost_discrete(grid, poisson_pmf(5), 1, 9, L, P)
    assert sol.S == grid[np.argmin(costs)]
    D = Poisson(5).sample(2000, 202, seed=11)
    r = simulate(InventorySystem(L=L, P=P, h=1, b=9), BaseStock(sol.S), D, on_hand=sol.S)
    per_path = r.cost[:, 2:].mean(1)
    half_width = 3 * per_path.std(ddof=1) / np.sqrt(per_path.size)
    assert abs(per_path.mean() - sol.cost) < half_width


def test_base_stock_normal_review_period_reduces_to_closed_form():
    a = base_stock_normal(100, 10, 0.1, 0.9, L=1, P=1)
    b = base_stock_discrete(DiscreteDistribution(poisson_pmf(5).pmf), 1, 9, L=0, P=1)
    assert a.S == pytest.approx(2 * 100 + 1.2816 * 10 * np.sqrt(2), abs=1e-3)
    assert b.S == newsvendor_poisson(5, 1, 9).S
    # P > 1: the level equalizes the average fractile; cost is minimal there
    sol = base_stock_normal(100, 10, 0.1, 0.9, L=1, P=2)
    from deepstock_lite.classical import base_stock_cost_normal
    for dS in (-1.0, 1.0):
        assert base_stock_cost_normal(sol.S + dS, 100, 10, 0.1, 0.9, 1, 2) > sol.cost


@pytest.mark.parametrize("call, match", [
    (lambda: newsvendor_normal(50, 8, h=-1, b=1), "h must be in"),
    (lambda: newsvendor_normal(50, 0, h=1, b=1), "sigma must be in"),
    (lambda: newsvendor_normal(50, 8, h=0, b=0), "h \\+ b"),
    (lambda: newsvendor_discrete([0.5, 0.4], 1, 1), "sum to 1"),
    (lambda: newsvendor_discrete([], 1, 1), "must not be empty"),
    (lambda: newsvendor_discrete([1.2, -0.2], 1, 1), "non-negative"),
    (lambda: newsvendor_empirical([1.0, np.nan], 1, 1), "finite"),
    (lambda: base_stock_poisson(5, 1, 9, L=-1), "L must be in"),
    (lambda: base_stock_poisson(5, 1, 9, P=0), "P must be in"),
    (lambda: base_stock_poisson(-5, 1, 9), "mean must be in"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_wrong_types():
    with pytest.raises(TypeError, match="h must be a real number"):
        newsvendor_normal(50, 8, h="1", b=1)
    with pytest.raises(TypeError, match="L must be an integer"):
        base_stock_poisson(5, 1, 9, L=2.0)
