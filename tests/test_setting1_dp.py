"""The empirical DP benchmark of the DeepStock paper's Setting 1."""
import itertools

import numpy as np
import pytest

from deepstock_lite.classical.setting1_dp import (setting1_loss, setting1_system,
                                                  solve_setting1_dp)

FLOORS = np.array([11, 9, 12, 16, 9, 9, 16, 13, 8, 12, 8, 8, 10, 2, 3, 7, 5, 11, 6, 4, 15, 9,
                   10, 4, 7, 10, 5, 11, 7, 8, 7])  # the authors' floors (seed 42), days 0..30


def _data(n, seed):
    return FLOORS + np.random.default_rng(seed).integers(0, 5, size=(n, 31))


def test_review_days_and_loss_definition():
    sol = solve_setting1_dp(_data(10, 0))
    assert sol.review_days == list(range(2, 29, 2))  # 14 decisions: days 2, 4, ..., 28
    D = _data(5, 1).astype(float)
    # the authors' loss computed by hand for the policy "order 40 units at each review"
    ends, inv = [], np.zeros(5)
    for t in range(31):
        start = inv.copy()
        end = start - D[:, t]
        ends.append(end)
        inv = end + (40.0 if t in sol.review_days else 0.0)  # on hand next day (L = 1)
    ends = np.array(ends).T[:, 3:]
    by_hand = (0.1 * np.maximum(ends, 0).mean(1) + 0.9 * np.maximum(-ends, 0).mean(1)).mean()
    assert setting1_loss(lambda s: np.full(s.n, 40.0), D) == pytest.approx(by_hand)


def test_policy_is_capped_base_stock_and_matches_table():
    train = _data(10, 0)
    sol = solve_setting1_dp(train, max_order=30)
    grid = sol.grid
    for k, t in enumerate(sol.review_days):
        reach = grid >= -train.max(0)[:t].sum()  # states reachable on day t
        expect = np.clip(sol.targets[t] - grid, 0, 30)
        assert np.array_equal(sol.order_table[k][reach], expect[reach])


def test_dp_value_matches_simulation_on_its_law():
    train = _data(10, 0)
    sol = solve_setting1_dp(train)
    rng = np.random.default_rng(5)
    rows = rng.integers(0, 10, size=(20000, 31))
    sample = train[rows, np.arange(31)]  # independent days, each from its empirical law
    loss = sol.loss(sample, per_trajectory=True)
    se = loss.std(ddof=1) / np.sqrt(loss.size)
    assert abs(loss.mean() - sol.expected_loss) < 4 * se
    # on fresh data from the true law the loss is close to the authors' 0.867
    assert 0.8 < sol.loss(_data(100, 2)) < 0.95


def test_dp_is_optimal_against_enumeration():
    # 6 days, two values per day: enumerate all 64 demand paths exactly
    train = np.array([[3, 1, 4, 2, 5, 2], [5, 2, 6, 3, 8, 6]])
    sol = solve_setting1_dp(train, max_order=6)
    paths = np.array(list(itertools.product(*train.T)), float)
    assert sol.review_days == [2, 4]
    exact = sol.loss(paths)  # every path has probability 1/64
    assert exact == pytest.approx(sol.expected_loss, abs=1e-12)
    best = np.inf
    for S2, S4 in itertools.product(range(-5, 20), range(-5, 20)):
        targets = {2: S2, 4: S4}
        pol = lambda s, T=targets: np.clip(T.get(s.t, -np.inf) - s.position, 0, 6)
        best = min(best, setting1_loss(pol, paths))
    assert sol.expected_loss == pytest.approx(best, abs=1e-12)
    # the cap binds: without it the loss is lower
    assert solve_setting1_dp(train, max_order=100).expected_loss < sol.expected_loss - 1e-9


def test_system_and_bad_arguments():
    s = setting1_system()
    assert (s.L, s.P, s.first_review, s.backlog) == (1, 2, 2, True)
    with pytest.raises(ValueError, match="integer"):
        solve_setting1_dp(_data(3, 0) + 0.5)
    with pytest.raises(ValueError, match="non-negative"):
        solve_setting1_dp(-_data(3, 0))
    with pytest.raises(ValueError, match="more than"):
        solve_setting1_dp(_data(3, 0)[:, :4])
    with pytest.raises(ValueError, match="dimension"):
        solve_setting1_dp(np.arange(31))
    with pytest.raises(ValueError, match="max_order"):
        solve_setting1_dp(_data(3, 0), max_order=-1)
    with pytest.raises(ValueError, match="h must be"):
        solve_setting1_dp(_data(3, 0), h=-0.1)


def test_on_the_paper_data():
    # Setting 1 data from the package's generator (seed 42, the authors' floors); the authors
    # report a test loss of 0.867 for this DP on their draw of the data
    from deepstock_lite.core.paper_data import make_indep

    data = make_indep()
    sol = solve_setting1_dp(data.train)
    assert 0.8 < sol.loss(data.test) < 0.95
