"""The empirical DP benchmark of the DeepStock paper's Setting 1."""
import itertools

import numpy as np
import pytest

from fractions import Fraction
from functools import lru_cache

from scipy import stats

from deepstock_lite.classical import (DiscreteDemand, setting1_expected_loss, setting1_loss,
                                      setting1_system, solve_setting1_dp)

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
    assert setting1_loss(D, policy=lambda s: np.full(s.n, 40.0)) == pytest.approx(by_hand)


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
        best = min(best, setting1_loss(paths, policy=pol))
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


# -- ties between order-up-to levels, against exact rational arithmetic -------------------
# 10 trajectories: the empirical cdfs move in steps of 1/10, and b/(b+h) = 9/10 hits a step,
# so on day 4 two levels have exactly the same expected cost. Floating-point noise used to
# pick the larger one (9); with the tolerance the smaller one (8) wins, as in exact arithmetic.
TIE_DATA = np.array([[3, 6, 5, 7, 4, 3], [5, 3, 4, 4, 2, 4], [4, 3, 2, 4, 4, 2],
                     [6, 2, 2, 4, 5, 2], [5, 3, 3, 7, 6, 1], [3, 2, 3, 4, 4, 1],
                     [4, 3, 5, 6, 4, 2], [5, 3, 1, 8, 3, 1], [6, 5, 3, 6, 5, 4],
                     [6, 3, 5, 4, 5, 3]])


def _exact_dp(train, max_order, h=Fraction(1, 10), b=Fraction(9, 10)):
    """The Setting 1 DP in exact rational arithmetic: every minimizer of each review day's
    cost-to-go, and the optimal value."""
    T = train.shape[1]
    laws = []
    for col in train.T:
        vals, cnt = np.unique(col, return_counts=True)
        laws.append([(int(v), Fraction(int(c), len(col))) for v, c in zip(vals, cnt)])
    reviews = [t for t in range(2, T - 1) if (t - 2) % 2 == 0]
    w = Fraction(1, T - 3)

    @lru_cache(maxsize=None)
    def V(t, inv):
        if t == T:
            return Fraction(0)
        stage = (sum(p * w * (h * max(inv - d, 0) + b * max(d - inv, 0)) for d, p in laws[t])
                 if t >= 3 else Fraction(0))
        if t in reviews:
            return stage + min(W(t, inv + q) for q in range(max_order + 1))
        return stage + W(t, inv)

    @lru_cache(maxsize=None)
    def W(t, y):
        return sum(p * V(t + 1, y - d) for d, p in laws[t])

    minimizers = {}
    for t in reviews:
        ys = list(range(-40, 60))
        vals = [W(t, y) for y in ys]
        minimizers[t] = [y for y, v in zip(ys, vals) if v == min(vals)]
    return minimizers, V(0, 0)


def test_ties_go_to_the_smaller_level_as_in_exact_arithmetic():
    minimizers, value = _exact_dp(TIE_DATA, 6)
    assert minimizers[4] == [8, 9]  # a genuine tie
    sol = solve_setting1_dp(TIE_DATA, max_order=6)
    assert sol.targets == {t: m[0] for t, m in minimizers.items()}
    assert sol.expected_loss == pytest.approx(float(value), abs=1e-12)
    # without the tolerance, rounding noise decides, and here it picks the larger level
    assert solve_setting1_dp(TIE_DATA, max_order=6, tie_tol=0.0).targets[4] == 9


def test_dp_on_given_laws_and_exact_policy_loss():
    train = _data(10, 0)
    sol = solve_setting1_dp(train)
    # the same DP from the laws of the columns, given as pmfs
    laws = [DiscreteDemand.from_sample(col) for col in train.T]
    by_laws = solve_setting1_dp(laws)
    assert by_laws.targets == sol.targets
    assert by_laws.expected_loss == pytest.approx(sol.expected_loss, abs=1e-12)
    # exact evaluation of the optimal policy under its own laws gives the DP value
    assert setting1_expected_loss(laws, policy=sol) == pytest.approx(sol.expected_loss, abs=1e-12)
    assert sol.exact_loss(train) == pytest.approx(sol.expected_loss, abs=1e-12)
    # and any other policy costs more
    worse = setting1_expected_loss(laws, policy=lambda s: np.full(s.n, 25.0))
    assert worse > sol.expected_loss


def test_exact_loss_matches_enumeration_for_any_policy():
    train = np.array([[3, 1, 4, 2, 5, 2], [5, 2, 6, 3, 8, 6]])
    paths = np.array(list(itertools.product(*train.T)), float)
    pol = lambda s: np.where(s.position < 7, 7.5 - s.position, 0.0)  # real orders
    assert setting1_expected_loss(train, policy=pol) == pytest.approx(
        setting1_loss(paths, policy=pol), abs=1e-12)


def test_paper_laws_uniform_floors():
    # the paper's law: uniform on {floor_t, ..., floor_t + 4}, here as scipy laws
    laws = [stats.randint(f, f + 5) for f in FLOORS]
    sol = solve_setting1_dp(laws)
    assert sol.review_days == list(range(2, 29, 2))
    assert sol.exact_loss(laws) == pytest.approx(sol.expected_loss, abs=1e-12)
    assert 0.7 < sol.expected_loss < 0.95


def test_laws_arguments_are_checked():
    with pytest.raises(TypeError, match="demand"):
        solve_setting1_dp(5)
    with pytest.raises(TypeError, match=r"demand\[1\]"):
        solve_setting1_dp([DiscreteDemand.poisson(3), "x"] + [DiscreteDemand.poisson(3)] * 6)
    with pytest.raises(ValueError, match=r"demand\[0\]: pmf must sum to 1"):
        solve_setting1_dp([[0.5, 0.4]] + [DiscreteDemand.poisson(3)] * 6)
    with pytest.raises(ValueError, match="tie_tol"):
        solve_setting1_dp(_data(3, 0), tie_tol=-1)
    with pytest.raises(ValueError, match="policy"):
        setting1_expected_loss(_data(3, 0), policy=lambda s: -np.ones(s.n))
