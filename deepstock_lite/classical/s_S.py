r"""Exact optimal :math:`(s, S)` policies for integer demand (Zheng & Federgruen 1991).

Periodic review, backorders, i.i.d. integer demand, lead time :math:`L \ge 0`. When the
inventory position is :math:`\le s`, order up to :math:`S`. The cost of a period is
:math:`K\,1\{\text{order}\} + G(y)` with :math:`y` the position after ordering and

.. math:: G(y) = h\,E(y - D_{L+1})^+ + b\,E(D_{L+1} - y)^+ ,

:math:`D_{L+1}` the demand over :math:`L + 1` periods (the standard lead-time reduction: the
order placed now is the last one that can serve period :math:`t + L`). By renewal-reward
(Zheng & Federgruen 1991, eq. (2); Snyder & Shen 2019, §4.5), with :math:`m` the renewal
mass function of one-period demand,

.. math:: c(s, S) = \frac{K + \sum_{j=0}^{S-s-1} m(j)\, G(S - j)}{M(S - s)}, \qquad
          M(n) = \sum_{j=0}^{n-1} m(j).

:func:`optimal_s_S` runs Zheng & Federgruen's algorithm on it; :func:`s_S_cost` and
:func:`s_S_cost_grid` evaluate any :math:`(s, S)` exactly.

Every function takes the demand as its one positional argument, a
:class:`~deepstock_lite.core.distributions.DiscreteDemand` (e.g.
``DiscreteDemand.poisson(10)``, ``DiscreteDemand(pmf)``), a frozen ``scipy.stats`` discrete
law or a discrete demand process of :mod:`deepstock_lite.core.demand`, and everything else
by keyword (``h=``, ``b=``, ``K=``, ``L=``, the levels ``s=``, ``S=``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.validation import MAX_QUANTITY, check_array, check_int, check_real
from ..core.distributions import DiscreteDemand, as_discrete_demand

__all__ = ["SSResult", "FiniteHorizonSS", "single_period_cost", "renewal_mass", "s_S_cost",
           "s_S_cost_grid", "optimal_s_S", "eoq_s_S", "finite_horizon_s_S", "k_convexity_constant",
           "lead_time_law", "DiscreteDemand"]


@dataclass(kw_only=True)
class SSResult:
    """An :math:`(s, S)` policy and its exact long-run average cost per period."""
    s: int
    S: int
    cost: float
    base_stock_level: int   # y*, the minimizer of G (the optimum when K = 0)
    base_stock_cost: float  # G(y*), a lower bound on the optimal cost
    h: float
    b: float
    K: float
    L: int
    demand: DiscreteDemand

    def __repr__(self):
        return (f"SSResult(s={self.s}, S={self.S}, cost={self.cost:.4f}, h={self.h:g}, "
                f"b={self.b:g}, K={self.K:g}, L={self.L}, {self.demand.name})")


_MAX_CYCLE = 20_000  # largest order quantity S - s searched (units)
_MAX_LEVEL = 10_000_000  # largest |s|, |S| or grid point (units)


def lead_time_law(demand, *, L):
    """Law of the demand over ``L + 1`` periods, with an error naming ``L`` if too large."""
    try:
        return demand.sum_of(L + 1)
    except ValueError as e:
        raise ValueError(f"L={L} is too long for this demand: {e}") from None


class _Model:
    """Checked parameters plus the two ingredients of c(s, S): G and the renewal mass m."""

    def __init__(self, demand, h, b, K, L):
        self.h = check_real("h", h, low=0.0, low_open=True, high=MAX_QUANTITY)
        self.b = check_real("b", b, low=0.0, low_open=True, high=MAX_QUANTITY)
        self.K = check_real("K", K, low=0.0, high=MAX_QUANTITY)
        self.L = check_int("L", L, low=0, high=10_000)
        self.demand = as_discrete_demand(demand)
        if self.demand.p0 >= 1.0:
            raise ValueError("demand must not be identically zero (P(D = 0) < 1 required)")
        self.lead = lead_time_law(self.demand, L=self.L)
        self._m = np.zeros(0)
        # the cycle length S - s is of the order of the EOQ; bound it so nothing hangs
        self.eoq = math.sqrt(2 * self.K * self.demand.mean / self.h)
        if self.eoq > _MAX_CYCLE:
            raise ValueError(f"K is too large for h and the mean demand: the order quantity "
                             f"sqrt(2 K mean / h) = {self.eoq:.3g} exceeds {_MAX_CYCLE:,} units "
                             f"(K={self.K:g}, h={self.h:g})")

    def G(self, y):
        y = np.asarray(y)
        return (self.h * self.lead.expected_excess(y)
                + self.b * self.lead.expected_shortfall(y))

    def m(self, n):
        """m(0..n-1), extended on request (the recursion only looks backwards)."""
        if self._m.size < n:
            self._m = renewal_mass(self.demand, n=max(n, 2 * self._m.size))
        return self._m[:n]

    def cost(self, s, S):
        d = S - s
        if d > _MAX_CYCLE * 10:
            raise ValueError(f"S - s must be at most {_MAX_CYCLE * 10:,}, got {d:,}")
        m = self.m(d)
        return float((self.K + m @ self.G(S - np.arange(d))) / m.sum())

    def y_star(self):
        return self.lead.quantile(self.b / (self.b + self.h))


def single_period_cost(demand, *, y, h, b, L=0):
    r"""Expected holding + shortage cost :math:`G(y) = h E(y - D_{L+1})^+ + b E(D_{L+1} - y)^+`
    charged to the position :math:`y` after ordering (Zheng & Federgruen 1991, eq. (1))."""
    model = _Model(demand, h, b, 0.0, L)
    return model.G(_int_array("y", y))


def renewal_mass(demand, *, n):
    r"""Renewal mass :math:`m(0..n-1)` of i.i.d. integer demand (Zheng & Federgruen
    1991, eq. (3)): :math:`m(0) = 1/(1-p_0)`,
    :math:`m(j) = \sum_{l=1}^{j} p_l\, m(j-l)/(1-p_0)`. :math:`m(j)` is the expected
    number of periods the position spends exactly :math:`j` below the order-up-to level,
    so :math:`M(n) = \sum_{j<n} m(j)` is the mean cycle length."""
    demand = as_discrete_demand(demand)
    n = check_int("n", n, low=1, high=10 * _MAX_CYCLE)
    p = demand.head(n)
    if p[0] >= 1.0:
        raise ValueError("demand must not be identically zero (P(D = 0) < 1 required)")
    m = np.empty(n)
    m[0] = 1.0 / (1.0 - p[0])
    for j in range(1, n):
        m[j] = (p[1:j + 1] @ m[j - 1::-1]) / (1.0 - p[0])
    return m


def s_S_cost(demand, *, s, S, h, b, K, L=0):
    r"""Exact long-run average cost :math:`c(s, S)` of an :math:`(s, S)` policy (renewal
    reward, Zheng & Federgruen 1991, eq. (2)). ``demand``: a :class:`DiscreteDemand`, a
    frozen ``scipy.stats`` discrete law or a discrete demand process."""
    model = _Model(demand, h, b, K, L)
    s = check_int("s", s, low=-_MAX_LEVEL, high=_MAX_LEVEL)
    S = check_int("S", S, low=s + 1, high=s + 10 * _MAX_CYCLE)
    return model.cost(s, S)


def s_S_cost_grid(demand, *, s_values, S_values, h, b, K, L=0):
    """:math:`c(s, S)` of Zheng & Federgruen (1991), eq. (2), on a grid, shape
    ``(len(s_values), len(S_values))``; ``nan`` where ``S <= s``. One cumulative sum per
    ``S`` (used for the cost-surface figure)."""
    model = _Model(demand, h, b, K, L)
    s_arr, S_arr = _int_array("s_values", s_values), _int_array("S_values", S_values)
    dmax = int(max(S_arr.max() - s_arr.min(), 1))
    if dmax > 10 * _MAX_CYCLE:
        raise ValueError(f"max(S_values) - min(s_values) must be at most {10 * _MAX_CYCLE:,}, "
                         f"got {dmax:,}")
    m = model.m(dmax)
    M = np.concatenate(([np.nan], np.cumsum(m)))
    out = np.full((s_arr.size, S_arr.size), np.nan)
    for k, S in enumerate(S_arr):
        num = np.concatenate(([0.0], np.cumsum(m * model.G(S - np.arange(dmax)))))
        d = S - s_arr
        ok = (d >= 1) & (d <= dmax)
        out[ok, k] = (K + num[d[ok]]) / M[d[ok]]
    return out


def optimal_s_S(demand, *, h, b, K, L=0, max_iter=100_000):
    r"""Optimal :math:`(s^*, S^*)` by the algorithm of Zheng & Federgruen (1991, §3).

    It starts from the minimizer :math:`y^*` of :math:`G`, lowers :math:`s` until
    :math:`c(s, y^*) \le G(s)` (Lemma 1: the optimal :math:`s` is the first such point),
    then raises :math:`S` while :math:`G(S) \le c^*` (no larger :math:`S` can help,
    since :math:`G` is convex), improving :math:`s` whenever a better :math:`S` is found.
    Exact for any integer demand; cost per period :math:`K\,1\{\text{order}\} + G(y)`.
    """
    model = _Model(demand, h, b, K, L)
    max_iter = check_int("max_iter", max_iter, low=1, high=10_000_000)
    y = model.y_star()
    Gy = float(model.G(y))
    s, S0, it = y, y, 0
    while True:  # step 0: the optimal reorder point for S = y*
        s -= 1
        it += 1
        if model.cost(s, S0) <= model.G(s) or it > max_iter:
            break
    c0 = model.cost(s, S0)
    S = S0 + 1
    while model.G(S) <= c0 and it <= max_iter:  # step 1: search S upwards
        it += 1
        if model.cost(s, S) < c0:
            S0 = S
            while model.cost(s, S0) <= model.G(s + 1):
                s += 1
            c0 = model.cost(s, S0)
        S += 1
    if it > max_iter:
        raise ValueError(f"max_iter={max_iter} is too small: the Zheng-Federgruen "
                         "search did not stop within it")
    return SSResult(s=s, S=S0, cost=c0, base_stock_level=y, base_stock_cost=Gy,
                    h=model.h, b=model.b, K=model.K, L=model.L, demand=model.demand)


def eoq_s_S(demand, *, h, b, K, L=0):
    r"""The EOQ heuristic: :math:`s = y^*` (the newsvendor fractile :math:`b/(b+h)` of
    lead-time demand), :math:`S = s + \max(1, \mathrm{round}(\sqrt{2K\mu/h}))`
    (Harris's economic order quantity), with its exact cost. Compare with
    :func:`optimal_s_S` for the gap."""
    model = _Model(demand, h, b, K, L)
    s = model.y_star()
    Q = max(1, int(round(model.eoq)))
    return SSResult(s=s, S=s + Q, cost=model.cost(s, s + Q), base_stock_level=s,
                    base_stock_cost=float(model.G(s)), h=model.h, b=model.b, K=model.K,
                    L=model.L, demand=model.demand)


@dataclass(kw_only=True)
class FiniteHorizonSS:
    """Scarf's finite-horizon DP: ``H[t]`` on ``grid`` and the levels ``s[t]``, ``S[t]``."""
    grid: np.ndarray
    H: np.ndarray        # (T, len(grid)): cost of being at level y after ordering in period t
    s: np.ndarray        # (T,) reorder points (order iff position <= s[t])
    S: np.ndarray        # (T,) order-up-to levels
    order_set_is_interval: bool  # the states that order are exactly {x <= s[t]} every t


def finite_horizon_s_S(demand, *, T, h, b, K, L=0, grid=None):
    r"""Backward induction for :math:`T` periods (Scarf 1960), with :math:`v_{T} \equiv 0`:

    .. math:: H_t(y) = G(y) + E\,v_{t+1}(y - D), \qquad
              v_t(x) = \min\{H_t(x),\; K + \min_{y \ge x} H_t(y)\}.

    Scarf's theorem: each :math:`H_t` is :math:`K`-convex, so the optimal rule is
    :math:`(s_t, S_t)`. ``grid`` (default: a range wide enough for the demand) must reach below
    every ``s_t``; below it ``v_t`` is the constant :math:`K + \min H_t`, so the bottom end is
    exact.
    """
    model = _Model(demand, h, b, K, L)
    T = check_int("T", T, low=1, high=100_000)
    if grid is None:
        y = model.y_star()
        spread = int(6 * math.sqrt(model.demand.mean * (model.L + 1)) + 2 * model.demand.mean)
        top = y + spread + int(2 * math.sqrt(2 * model.K * model.demand.mean / model.h)) + 10
        grid = np.arange(y - spread - 10, top + 1)
    grid = _int_array("grid", grid)
    if grid.size < 2 or np.any(np.diff(grid) != 1):
        raise ValueError("grid must be at least 2 consecutive integers")
    n = grid.size
    if n > 20_000 or n * n > 4e8 or T * n > 5e7:
        raise ValueError(f"grid ({n} points) and T ({T}) are too large together: at most "
                         "20,000 points and T * points <= 5e7")
    dmax = n - 1
    p = model.demand.head(dmax + 1)
    p[-1] += max(0.0, 1.0 - p.sum())  # the far tail sits at the bottom of the grid anyway
    G = model.G(grid)
    v = np.zeros(n)
    H, s, S = np.empty((T, n)), np.empty(T, int), np.empty(T, int)
    interval = True
    idx = np.clip(np.arange(n)[:, None] - np.arange(dmax + 1)[None, :], 0, n - 1)
    for t in range(T - 1, -1, -1):
        H[t] = G + v[idx] @ p
        best_above = np.minimum.accumulate(H[t][::-1])[::-1]  # min over y >= x
        order = K + best_above < H[t] - 1e-12 * max(1.0, abs(H[t]).max())
        S[t] = grid[np.argmin(H[t])]
        if not order.any():
            raise ValueError("grid too high: no state orders; extend it downwards")
        s[t] = grid[np.flatnonzero(order).max()]
        interval &= bool(order[grid <= s[t]].all() and not order[grid > s[t]].any())
        if s[t] == grid[-1] or not order[0]:
            raise ValueError("grid too narrow for the (s, S) levels; widen it")
        v = np.where(order, K + best_above, H[t])
    return FiniteHorizonSS(grid=grid, H=H, s=s, S=S, order_set_is_interval=interval)


def k_convexity_constant(values):
    r"""Smallest :math:`K \ge 0` for which a function on consecutive integers is
    :math:`K`-convex (Scarf 1960): :math:`K + f(z+a) \ge f(z) + a\,(f(z)-f(z-w))/w` for
    all :math:`z`, :math:`a \ge 0`, :math:`w > 0`. It is the largest amount by which
    :math:`f` dips below the extension of a chord; 0 means :math:`f` is convex."""
    f = check_array_1d("values", values)
    n = f.size
    worst = 0.0
    for z in range(1, n - 1):
        w = np.arange(1, z + 1)                      # chord widths
        slope = (f[z] - f[z - w]) / w                # chords ending at z, from the left
        a = np.arange(0, n - z)
        chord = f[z] + a[:, None] * slope[None, :]   # extended to z + a
        worst = max(worst, float((chord - f[z + a][:, None]).max()))
    return worst


def check_array_1d(name, value):
    f = check_array(name, value, ndim=1)
    if f.size < 3:
        raise ValueError(f"{name} must have at least 3 points, got {f.size}")
    return f


def _int_array(name, value):
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must hold integers, got {type(value).__name__}")
    from ..core.validation import as_array
    arr = np.atleast_1d(as_array(name, value))
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer)
                                 or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of integers, got shape "
                         f"{arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
        raise TypeError(f"{name} must hold integers, got {value!r}")
    if np.abs(arr).max() > _MAX_LEVEL:
        raise ValueError(f"{name} must be at most {_MAX_LEVEL:,} in absolute value")
    return arr.astype(np.int64)
