r"""Demand laws for the exact formulas of Part I: one discrete type, :class:`DiscreteDemand`.

A non-negative integer demand is known through its *head* pmf :math:`P(D = 0..n-1)`
(computed on request, to any length) and its mean. That is all the exact methods need:
every expectation they take is a finite sum over the head,

.. math:: E(y - D)^+ = \sum_{j < y} F(j) \quad (y \text{ integer}),

or follows from the mean, :math:`E(D - y)^+ = E D - y + E(y - D)^+`. So Poisson, geometric,
negative-binomial (any ``scipy.stats`` discrete law) and finite pmfs are all handled
*without truncating the tail*.

**Precision.** Finite pmfs are exact up to floating-point rounding. For a law with an
unbounded support the head is computed to floating-point precision and no tail is dropped;
the only approximation is for levels beyond ``top``, the point where
:math:`P(D > \text{top}) < 10^{-16}`, where :math:`F` is taken as 1: the absolute error of
:math:`E(y - D)^+` is then below :math:`10^{-16}\,(y - \text{top})`. In practice results
agree with exact rational arithmetic to about :math:`10^{-12}` relative.

:func:`poisson_pmf` (a Poisson pmf truncated where the tail is below ``tail``) is kept for
figures that need a finite array; the solvers use :meth:`DiscreteDemand.poisson`, which is
not truncated.

Continuous laws (:class:`~deepstock_lite.core.continuous.ContinuousDemand`) and the reading of
either kind of law (:func:`~deepstock_lite.core.continuous.as_demand_law`) are in
:mod:`deepstock_lite.core.continuous`.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
from scipy import stats

from .validation import check_array, check_int, check_real

__all__ = ["DiscreteDemand", "DiscreteDistribution", "poisson_pmf", "as_discrete_demand",
           "MAX_SUPPORT"]

_PMF_TOL = 1e-9        # how far from 1 a user pmf may sum
_TAIL = 1e-12          # default tail of poisson_pmf
_TOP_TAIL = 1e-16      # P(D > top) below this: F is 1 there to double precision
MAX_SUPPORT = 10_000_000  # largest support (in units) a law may need; guards memory and time


def too_large(what, n):
    """Raise the ``ValueError`` of a law whose support (``n`` points) is over MAX_SUPPORT."""
    raise ValueError(f"{what} needs a support of {n:.3g} points, more than the limit "
                     f"MAX_SUPPORT = {MAX_SUPPORT:,}; use a smaller mean or fewer periods")


class DiscreteDemand:
    """Law of a non-negative integer demand per period (the package's one discrete type).

    Build it with ``DiscreteDemand(pmf)`` / :meth:`from_pmf` (finite support ``0..m``),
    :meth:`poisson`, :meth:`geometric`, :meth:`from_scipy` (any ``scipy.stats`` discrete
    law on the non-negative integers, e.g. ``stats.nbinom(3, 0.4)``) or :meth:`from_sample`.
    :meth:`sum_of` gives the law of the total of ``k`` i.i.d. periods.

    Attributes: ``mean``, ``var``, ``name``, ``top`` (see the module's precision note),
    ``pmf`` (the pmf on ``0..top``; exact for a finite law).
    """

    def __init__(self, pmf):
        p = check_array("pmf", pmf, ndim=1, nonnegative=True)
        if p.size > MAX_SUPPORT:
            too_large("pmf", p.size)
        total = p.sum()
        if abs(total - 1.0) > _PMF_TOL:
            raise ValueError(f"pmf must sum to 1 (within {_PMF_TOL:g}), got {total:.12g}")
        p = p / total
        k = np.arange(p.size)
        self._finite = p
        self._head_fn = None
        self.mean = float(k @ p)
        self.var = float(((k - self.mean) ** 2) @ p)
        self.top = int(p.size - 1)
        self.name = f"pmf(0..{p.size - 1})"
        self._poisson_mean = None

    @classmethod
    def _lazy(cls, head_fn, mean, var, top, name, poisson_mean=None):
        if not top < MAX_SUPPORT:
            too_large(name, top)
        self = cls.__new__(cls)
        self._finite = None
        self._head_fn = head_fn
        self.mean, self.var, self.top, self.name = float(mean), float(var), int(top), name
        self._poisson_mean = poisson_mean
        return self

    # -- constructors ----------------------------------------------------------------------
    @classmethod
    def from_pmf(cls, pmf):
        """Demand with ``P(D = k) = pmf[k]``, ``k = 0..m``; ``pmf`` must sum to 1."""
        return cls(pmf)

    @classmethod
    def poisson(cls, mean):
        """Poisson(``mean``) demand, ``mean >= 0`` (exact: no truncation)."""
        mean = check_real("mean", mean, low=0.0, high=MAX_SUPPORT / 4)
        if mean == 0:
            return cls([1.0])
        top = int(stats.poisson.isf(_TOP_TAIL, mean)) + 1
        return cls._lazy(lambda n: stats.poisson.pmf(np.arange(n), mean), mean, mean, top,
                         f"Poisson({mean:g})", poisson_mean=mean)

    @classmethod
    def geometric(cls, mean):
        """Geometric demand on {0, 1, 2, ...}: ``P(D = k) = (1 - q) q^k``,
        ``q = mean / (1 + mean)``, ``mean >= 0`` (exact: no truncation)."""
        mean = check_real("mean", mean, low=0.0, high=MAX_SUPPORT / 40)
        if mean == 0:
            return cls([1.0])
        q = mean / (1.0 + mean)
        top = int(math.ceil(math.log(_TOP_TAIL) / math.log(q)))
        return cls._lazy(lambda n: (1 - q) * q ** np.arange(n), mean, mean * (1 + mean), top,
                         f"Geometric(mean={mean:g})")

    @classmethod
    def from_scipy(cls, law):
        """A frozen ``scipy.stats`` discrete law on the non-negative integers, e.g.
        ``stats.poisson(5)``, ``stats.nbinom(3, 0.4)`` or ``stats.geom(0.2, loc=-1)``
        (geometric on {0, 1, ...}). Exact: the head comes from ``law.pmf``."""
        if not is_scipy_law(law, stats.rv_discrete):
            raise TypeError("law must be a frozen scipy.stats discrete distribution, got "
                            f"{type(law).__name__}")
        lo, _ = law.support()
        if not lo >= 0:
            raise ValueError(f"law must live on the non-negative integers, its support starts "
                             f"at {lo} (shift it with loc=)")
        mean, var = float(law.mean()), float(law.var())
        if not (np.isfinite(mean) and np.isfinite(var)):
            raise ValueError("law must have a finite mean and variance")
        top = float(law.isf(_TOP_TAIL))
        if not np.isfinite(top) or top >= MAX_SUPPORT:
            too_large("law", top)
        name = f"{law.dist.name}{tuple(round(a, 6) for a in law.args)}"
        return cls._lazy(lambda n: law.pmf(np.arange(n)), mean, var, int(top) + 1, name)

    @classmethod
    def from_sample(cls, sample):
        """The empirical law of a sample of non-negative integers."""
        x = check_array("sample", sample, ndim=1, nonnegative=True)
        if np.any(x != np.round(x)):
            raise ValueError("sample must hold integers for a discrete law")
        if x.max() >= MAX_SUPPORT:
            too_large("sample", x.max())
        return cls(np.bincount(x.astype(np.int64)) / x.size)

    def sum_of(self, k):
        """Law of the total demand of ``k >= 1`` i.i.d. periods (the lead-time demand)."""
        k = check_int("k", k, low=1, high=MAX_SUPPORT)
        if k == 1:
            return self
        if k * (self.top + 1) > MAX_SUPPORT:
            too_large(f"the sum of k={k} periods", k * (self.top + 1))
        if self._poisson_mean is not None:
            return DiscreteDemand.poisson(k * self._poisson_mean)
        if self._finite is not None:
            out = _power(self._finite, k, None)
            out = np.clip(out, 0.0, None)
            return DiscreteDemand(out / out.sum())

        def head(n):
            # the head of a convolution of non-negative laws only needs the heads: exact
            return _power(self.head(n), k, n)

        return DiscreteDemand._lazy(head, k * self.mean, k * self.var,
                                    k * (self.top + 1), f"{k} x {self.name}")

    def convolve_power(self, n):
        """Law of the sum of ``n`` i.i.d. copies (same as :meth:`sum_of`)."""
        n = check_int("n", n, low=1, high=MAX_SUPPORT)
        try:
            return self.sum_of(n)
        except ValueError as e:
            raise ValueError(f"n={n} copies: {e}") from None

    # -- quantities used by the exact methods ----------------------------------------------
    def head(self, n):
        """``P(D = j)`` for ``j = 0..n-1`` (zeros beyond a finite support)."""
        n = check_int("n", n, low=0, high=MAX_SUPPORT)
        out = np.zeros(n)
        if self._finite is not None:
            m = min(n, self._finite.size)
            out[:m] = self._finite[:m]
        else:
            m = min(n, self.top + 1)
            out[:m] = np.asarray(self._head_fn(m), float)
        return out

    @property
    def pmf(self):
        """The pmf on ``0..top`` (exact for a finite law; see the precision note)."""
        if self._finite is not None:
            return self._finite
        return self.head(self.top + 1)

    @property
    def support(self):
        return np.arange(self.top + 1)

    @property
    def p0(self):
        return float(self.head(1)[0])

    def _cdf_array(self, n):
        return np.minimum(np.cumsum(self.head(n)), 1.0)

    def cdf(self, y):
        """``P(D <= y)`` for real ``y`` (vectorized)."""
        y = check_levels("y", y)
        k = np.floor(y)
        n = int(min(max(np.max(k, initial=0), 0), self.top)) + 1
        c = self._cdf_array(n)
        out = np.where(k < 0, 0.0, c[np.clip(k, 0, n - 1).astype(np.int64)])
        out = np.where(k > self.top, 1.0, out)
        return float(out) if out.ndim == 0 else out

    def quantile(self, ratio):
        """Smallest integer ``y >= 0`` with ``P(D <= y) >= ratio`` (the newsvendor fractile;
        a relative slack of 1e-12 absorbs the rounding of the cumulative sum)."""
        ratio = check_real("ratio", ratio, low=0.0, high=1.0)
        c = self._cdf_array(self.top + 1)
        return int(min(np.searchsorted(c, ratio - 1e-12), self.top))

    def expected_excess(self, y):
        """``E(y - D)^+`` for real ``y`` (array or scalar); 0 for ``y <= 0``."""
        y = check_levels("y", y)
        k = np.floor(y)
        n = int(min(max(np.max(k, initial=0), 0), self.top)) + 1
        F = self._cdf_array(n)
        C = np.concatenate(([0.0], np.cumsum(F)))  # C[i] = sum_{j<i} F(j) = E(i - D)^+
        kk = np.clip(k, 0, n - 1).astype(np.int64)
        inside = C[kk] + (y - kk) * F[kk]           # E(y - D)^+ = E(k - D)^+ + (y - k)F(k)
        beyond = C[n] + (y - n)                      # F = 1 from top on
        out = np.where(k < 0, 0.0, np.where(k >= n, beyond, inside))
        return float(out) if out.ndim == 0 else out

    def expected_shortfall(self, y):
        """``E(D - y)^+`` for real ``y``, from the mean: ``E D - y + E(y - D)^+``."""
        y = check_levels("y", y)
        out = np.maximum(self.mean - y + self.expected_excess(y), 0.0)
        return float(out) if np.ndim(out) == 0 else out

    def expected_positive_part(self, y):
        """``(E(y - D)^+, E(D - y)^+)`` for each ``y``, as 1-D arrays (loss functions)."""
        y = np.atleast_1d(check_levels("y", y))
        return (np.atleast_1d(self.expected_excess(y)),
                np.atleast_1d(self.expected_shortfall(y)))

    def __repr__(self):
        return f"DiscreteDemand({self.name}, mean={self.mean:.4g})"


DiscreteDistribution = DiscreteDemand
"""Former name of :class:`DiscreteDemand` (kept so older code keeps working)."""


def _conv(a, b):
    if min(a.size, b.size) > 2000:  # FFT for long vectors; clip the rounding noise below 0
        from scipy.signal import fftconvolve
        return np.clip(fftconvolve(a, b), 0.0, None)
    return np.convolve(a, b)


def _power(p, k, n):
    """``k``-fold convolution of ``p`` by repeated squaring; truncated to ``n`` if given."""
    result, base = None, p
    while k:
        if k & 1:
            result = base if result is None else _conv(result, base)
            if n is not None:
                result = result[:n]
        k >>= 1
        if k:
            base = _conv(base, base)
            if n is not None:
                base = base[:n]
    return result


def check_levels(name, y):
    """Levels (order-up-to, stock) at which a cost is evaluated: any real numbers up to 1e15
    in size, a scalar or an array of any shape (empty allowed)."""
    if isinstance(y, bool):
        raise TypeError(f"{name} must be a number or an array of numbers, got bool")
    from .validation import check_array
    return check_array(name, y, max_abs=1e15, allow_empty=True)


def is_scipy_law(law, kind):
    """Whether ``law`` is a frozen ``scipy.stats`` law of ``kind`` (``rv_discrete`` or
    ``rv_continuous``)."""
    return isinstance(getattr(law, "dist", None), kind) and hasattr(law, "ppf")


def poisson_pmf(mean, tail=_TAIL):
    """Poisson(``mean``) truncated where the remaining tail is below ``tail`` (mass
    renormalized). For figures; the solvers use the exact :meth:`DiscreteDemand.poisson`."""
    mean = check_real("mean", mean, low=0.0, high=MAX_SUPPORT / 4)
    tail = check_real("tail", tail, low=1e-300, high=0.5)
    m = int(stats.poisson.isf(tail, mean)) + 1 if mean > 0 else 0
    if m >= MAX_SUPPORT:
        too_large("poisson_pmf", m)
    pmf = stats.poisson.pmf(np.arange(m + 1), mean)
    return DiscreteDemand(pmf / pmf.sum())


def as_discrete_demand(demand, *, name="demand"):
    """Read the demand argument of a function of :mod:`deepstock_lite.classical`: a
    :class:`DiscreteDemand`, a frozen ``scipy.stats`` discrete law, or a demand process of
    :mod:`deepstock_lite.core.demand` with a discrete ``distribution()``."""
    if demand is None:
        raise TypeError(f"{name} is required: a DiscreteDemand (e.g. DiscreteDemand.poisson(5) "
                        "or DiscreteDemand(pmf)), a frozen scipy.stats discrete law or a demand "
                        "process")
    if isinstance(demand, DiscreteDemand):
        return demand
    if is_scipy_law(demand, stats.rv_discrete):
        return DiscreteDemand.from_scipy(demand)
    if is_scipy_law(demand, stats.rv_continuous):
        raise TypeError(f"{name} must be a discrete law here (integer demand); got a "
                        f"continuous scipy.stats law ({demand.dist.name})")
    if hasattr(demand, "distribution") and hasattr(demand, "sample"):
        law = demand.distribution()
        if isinstance(law, DiscreteDemand):
            return law
    if isinstance(demand, numbers.Number):
        raise TypeError(f"{name} must be a demand law, got the number {demand!r} "
                        "(use DiscreteDemand.poisson(mean) for Poisson demand)")
    raise TypeError(f"{name} must be a DiscreteDemand or a frozen scipy.stats discrete law, "
                    f"got {type(demand).__name__} (wrap a pmf in DiscreteDemand(pmf))")
