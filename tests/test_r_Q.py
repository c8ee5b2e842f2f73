"""The continuous-review (r, Q) policy: ``optimal_r_Q`` and ``r_Q_cost``.

No published example is used as the oracle: the iterative solution is checked against a
brute-force grid minimization of the same cost function, against its own first-order
conditions, against the EOQ in the limits sigma -> 0 and p -> infinity, and against the
closed-form loss function integrated numerically.
"""
import numpy as np
import pytest
from scipy import integrate, stats

from deepstock_lite.classical import RQSolution, optimal_r_Q, r_Q_cost

# lambda = 200 a year, K = 50, h = 2 a unit-year, p = 25 a unit short, L = half a year,
# lead-time demand N(100, 25^2): the demand law per year has sigma = 25 / sqrt(1/2)
LAM, K, H, P, L = 200.0, 50.0, 2.0, 25.0, 0.5
DEMAND = stats.norm(LAM, 25 * np.sqrt(2))
COSTS = dict(K=K, h=H, p=P, L=L)


def test_solution_type_and_path_starts_at_the_eoq():
    sol = optimal_r_Q(DEMAND, **COSTS)
    assert isinstance(sol, RQSolution)
    eoq = np.sqrt(2 * K * LAM / H)
    assert sol.path[0][0] == pytest.approx(eoq)
    # first reorder point: 1 - F(r) = EOQ h / (p lambda) on N(100, 25^2)
    assert sol.path[0][1] == pytest.approx(stats.norm(100, 25).isf(eoq * H / (P * LAM)))
    assert sol.path[-1] == pytest.approx((sol.Q, sol.r))
    assert 1 < sol.iterations < 50


def test_first_order_conditions_hold_at_the_solution():
    sol = optimal_r_Q(DEMAND, **COSTS)
    lt = stats.norm(LAM * L, 25.0)
    n_r = integrate.quad(lambda x: (x - sol.r) * lt.pdf(x), sol.r, np.inf)[0]
    assert sol.shortage_per_cycle == pytest.approx(n_r, rel=1e-8)
    assert sol.Q == pytest.approx(np.sqrt(2 * LAM * (K + P * n_r) / H), rel=1e-9)
    assert lt.sf(sol.r) == pytest.approx(sol.Q * H / (P * LAM), rel=1e-9)
    assert sol.stockout_probability == pytest.approx(lt.sf(sol.r), rel=1e-9)
    assert sol.cost == pytest.approx(r_Q_cost(DEMAND, r=sol.r, Q=sol.Q, **COSTS), rel=1e-12)


@pytest.mark.parametrize("lam, sd, K_, h, p, L_", [
    (200.0, 25 * np.sqrt(2), 50.0, 2.0, 25.0, 0.5),
    (1000.0, 100.0, 200.0, 5.0, 50.0, 0.1),
    (52.0, 10.0, 10.0, 1.0, 10.0, 2.0),
])
def test_matches_a_brute_force_grid_minimization(lam, sd, K_, h, p, L_):
    costs = dict(K=K_, h=h, p=p, L=L_)
    demand = stats.norm(lam, sd)
    sol = optimal_r_Q(demand, **costs)
    # a fine grid around the solution, wide enough to contain the basin (Q up to p lam / h)
    Q = np.linspace(0.5 * sol.Q, min(2.0 * sol.Q, 0.999 * p * lam / h), 801)
    sL = sd * np.sqrt(L_)
    r = np.linspace(lam * L_ - 2 * sL, lam * L_ + 5 * sL, 801)
    C = r_Q_cost(demand, r=r[:, None], Q=Q[None, :], **costs)
    i, j = np.unravel_index(C.argmin(), C.shape)
    assert abs(r[i] - sol.r) <= 2 * (r[1] - r[0])
    assert abs(Q[j] - sol.Q) <= 2 * (Q[1] - Q[0])
    assert sol.cost <= C.min() + 1e-9
    assert C.min() - sol.cost < 1e-4 * sol.cost


def test_small_sigma_gives_the_eoq():
    sol = optimal_r_Q(stats.norm(LAM, 1e-6), **COSTS)
    eoq = np.sqrt(2 * K * LAM / H)
    assert sol.Q == pytest.approx(eoq, rel=1e-6)
    assert sol.r == pytest.approx(LAM * L, abs=1e-4)
    assert sol.cost == pytest.approx(np.sqrt(2 * K * LAM * H), rel=1e-6)


def test_large_penalty_gives_the_eoq_quantity():
    """As p grows, Q falls to the EOQ: the FOC gives Q^2 - EOQ^2 = 2 lambda p n(r) / h, and
    p n(r) <= sigma_L Q h / (lambda z) (Mills' ratio), which vanishes like 1/sqrt(log p)."""
    eoq = np.sqrt(2 * K * LAM / H)
    sols = [optimal_r_Q(DEMAND, K=K, h=H, p=p, L=L) for p in 25.0 * 10.0 ** np.arange(7)]
    Qs = np.array([s.Q for s in sols])
    z = np.array([(s.r - LAM * L) / 25.0 for s in sols])
    assert np.all(np.diff(Qs) < 0) and np.all(Qs > eoq)   # decreasing towards the EOQ
    assert np.all(np.diff(z) > 0)                         # more safety stock as p grows
    assert np.all(Qs ** 2 - eoq ** 2 <= 2 * 25.0 * Qs / z)
    assert Qs[-1] < 1.05 * eoq


def test_cost_is_vectorized_and_matches_the_formula():
    r, Q = np.array([120.0, 140.0]), np.array([90.0, 110.0])
    got = r_Q_cost(DEMAND, r=r, Q=Q, **COSTS)
    lt = stats.norm(100, 25)
    z = (r - 100) / 25
    n = 25 * (stats.norm.pdf(z) - z * stats.norm.sf(z))
    want = K * LAM / Q + H * (Q / 2 + r - 100) + P * LAM * n / Q
    assert got == pytest.approx(want, rel=1e-12)
    assert n == pytest.approx([lt.expect(lambda x, a=a: x - a, lb=a) for a in r], rel=1e-7)
    assert r_Q_cost(DEMAND, r=r[:, None], Q=Q[None, :], **COSTS).shape == (2, 2)


@pytest.mark.parametrize("kwargs, name, match", [
    (dict(K=0.0), "K", r"\(0, "), (dict(K=-1.0), "K", r"\(0, "),
    (dict(h=0.0), "h", r"\(0, "), (dict(p=-5.0), "p", r"\(0, "),
    (dict(L=0.0), "L", r"\(0, "), (dict(L=np.nan), "L", "finite"),
    (dict(tol=0.0), "tol", r"\(0, "), (dict(max_iter=0), "max_iter", r"\[1, "),
])
def test_bad_inputs_name_the_argument_and_range(kwargs, name, match):
    with pytest.raises(ValueError, match=match) as e:
        optimal_r_Q(DEMAND, **{**COSTS, **kwargs})
    assert str(e.value).startswith(name)


def test_bad_demand_and_levels():
    with pytest.raises(TypeError, match="demand must be a normal law"):
        optimal_r_Q(stats.poisson(5), **COSTS)
    with pytest.raises(ValueError, match="demand"):
        optimal_r_Q(stats.norm(0, 1), **COSTS)
    with pytest.raises(ValueError, match="^Q must be in"):
        r_Q_cost(DEMAND, r=100.0, Q=0.0, **COSTS)
    with pytest.raises(ValueError, match="^r must be finite"):
        r_Q_cost(DEMAND, r=np.inf, Q=10.0, **COSTS)


def test_too_small_a_penalty_is_refused():
    """With p lambda <= h Q the approximate cost has no minimum (r -> -inf pays)."""
    with pytest.raises(ValueError, match="^p must be larger"):
        optimal_r_Q(DEMAND, K=K, h=H, p=0.4, L=L)


def test_costs_and_lead_time_are_keyword_only():
    with pytest.raises(TypeError):
        optimal_r_Q(DEMAND, K, H, P, L)  # noqa
