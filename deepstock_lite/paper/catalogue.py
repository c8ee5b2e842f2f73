r"""A synthetic e-commerce catalogue: many SKUs on very different scales.

The Alibaba setting of the DeepStock paper has about a million SKU–warehouse pairs, lost sales,
daily review for some SKUs and weekly for others, promotions planned in advance and demand that
ranges from hundreds of units a day to a few units a month. This module generates a seeded
stand-in for that catalogue, vectorized over SKUs.

**Model.** SKU :math:`i`, day :math:`t` (day 0 is the first decision day; days
:math:`-H, \dots, -1` are history, so that trailing features exist on day 0):

.. math::

    m_{it} = s_i \,\bigl(1 + a_i\, w_{\mathrm{dow}(t)}\bigr)\, e^{g_i t}\,
             u_i^{\pi_{it}}, \qquad
    D_{it} = Z_{it}\, N_{it},\quad
    N_{it} \sim \operatorname{Poisson}\!\Bigl(\frac{m_{it} G_{it}}{1-z_i}\Bigr),\quad
    Z_{it} \sim \operatorname{Bernoulli}(1 - z_i),

* scale :math:`s_i \sim \operatorname{LogNormal}(\log s_{\mathrm{med}}, \sigma_s^2)`, clipped to
  ``[scale_min, scale_max]``: median ~2 units a day, a heavy right tail of fast movers;
* weekly profile :math:`w` (7 numbers, zero mean, max :math:`|w_d| = 1`, shared) with a per-SKU
  amplitude :math:`a_i \sim U(\text{amplitude\_range})`, :math:`a_i < 1` so the factor stays > 0;
* log-linear trend :math:`g_i \sim N(0, \text{trend\_sd}^2)` per day;
* promotions :math:`\pi_{it} \in \{0, 1\}`: windows start on a day with probability
  ``promo_rate`` and last ``promo_length`` days (uniform); uplift :math:`u_i` log-uniform on
  ``uplift_range``. Promotions are known in advance (they enter the features);
* multiplicative noise :math:`G_{it} \sim \operatorname{Gamma}(k, 1/k)`, mean 1, CV ``noise_cv``
  (:math:`k = 1/\mathrm{cv}^2`): Poisson–gamma is negative binomial, so slow movers are
  intermittent;
* zero inflation :math:`z_i = \text{zero\_inflation}/(1 + s_i)`: days on which a slow SKU simply
  does not sell (out of the listing, no traffic). Dividing the Poisson rate by :math:`1 - z_i`
  keeps :math:`\mathbb E[D_{it}] = m_{it}` exactly; ``mean`` is that expectation.

Then :math:`\operatorname{Var} D_{it} = (1-z_i)(\lambda + \lambda^2(1+\mathrm{cv}^2)) - m_{it}^2`
with :math:`\lambda = m_{it}/(1-z_i)` (:meth:`Catalogue.variance`).

Per SKU a review period :math:`P_i` (drawn from ``review_periods``) and a nominal lead time
:math:`L_i` (uniform on ``lead_range``). With ``random_lead_times`` the lead time of an order is
:math:`L_i + B`, :math:`B \sim \operatorname{Binomial}(\text{lead\_delay\_max}, p_i)`,
:math:`p_i \sim U(\text{lead\_delay\_prob})`: ``lead_pmf`` stores each SKU's law, ``lead_times``
one realized draw per (SKU, day of order). The batched simulator
(:mod:`deepstock_lite.core.simulator`) takes one deterministic ``L`` and ``P``: simulate SKU
groups from :meth:`Catalogue.groups`.

**Censoring.** Under lost sales the shop sees sales :math:`\min(D_{it}, x_{it}^+)`, not demand
(:func:`~deepstock_lite.paper.censoring.censor`,
:func:`~deepstock_lite.paper.censoring.observed_sales`); features are built from observed
sales, so censoring propagates into what a policy sees.

The parameters are :class:`~deepstock_lite.paper.catalogue_config.CatalogueConfig`'s.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from math import comb

import numpy as np

from ..core.validation import check_array, check_choice, check_int, check_real
from .catalogue_config import (FEATURE_NAMES, FORECAST_WINDOWS, PROMO_LOOKAHEAD,
                               TRAILING_WINDOWS, CatalogueConfig, check_tuple)

__all__ = ["Catalogue", "make_catalogue"]

# mean demand and promotions are generated this many days past the horizon so that forward
# forecasts and the promotion look-ahead exist on the last day
_FUTURE = max(max(FORECAST_WINDOWS) - 1, PROMO_LOOKAHEAD)


@dataclass(eq=False)
class Catalogue:
    """A generated catalogue. Day arrays have shape ``(n_skus, T)`` and cover days 0…T−1.

    Attributes
    ----------
    config : the :class:`CatalogueConfig` it came from.
    demand : true demand (integers stored as float64).
    mean : expected demand :math:`m_{it}`.
    promo : promotion flags (int8, 0/1).
    history_demand : true demand of the ``H`` history days −H…−1, shape ``(n, H)``.
    weekday : weekday of each day 0…T−1 (0 = Monday), shape ``(T,)``.
    scale, amplitude, trend, uplift, zero_prob : per-SKU parameters, shape ``(n,)``.
    profile : the normalized weekly profile :math:`w`, shape ``(7,)``.
    L, P : nominal lead time and review period per SKU (int64).
    lead_pmf : ``lead_pmf[i, l]`` = P(lead time of SKU i = l), shape ``(n, L_max + 1)``.
    lead_times : one realized lead time per (SKU, order day), shape ``(n, T)``.
    """
    config: CatalogueConfig
    demand: np.ndarray
    mean: np.ndarray
    promo: np.ndarray
    history_demand: np.ndarray
    weekday: np.ndarray
    scale: np.ndarray
    amplitude: np.ndarray
    trend: np.ndarray
    uplift: np.ndarray
    zero_prob: np.ndarray
    profile: np.ndarray
    L: np.ndarray
    P: np.ndarray
    lead_pmf: np.ndarray
    lead_times: np.ndarray
    _mean_ext: np.ndarray = field(repr=False)      # days −H … T−1+_FUTURE
    _promo_ext: np.ndarray = field(repr=False)
    _forecast_noise: np.ndarray = field(repr=False)  # (n, T, len(FORECAST_WINDOWS))

    feature_names = FEATURE_NAMES

    def __repr__(self):
        return (f"Catalogue(n_skus={self.n_skus}, T={self.T}, history={self.history}, "
                f"seed={self.config.seed})")

    @property
    def n_skus(self):
        return self.demand.shape[0]

    @property
    def T(self):
        return self.demand.shape[1]

    @property
    def history(self):
        return self.history_demand.shape[1]

    def variance(self):
        r"""Exact :math:`\operatorname{Var} D_{it}` under the model, shape ``(n, T)``."""
        z = self.zero_prob[:, None]
        lam = self.mean / (1.0 - z)
        return (1.0 - z) * (lam + lam ** 2 * (1.0 + self.config.noise_cv ** 2)) - self.mean ** 2

    # -- features ----------------------------------------------------------------------
    def features(self, sales=None, history_sales=None, dtype=np.float32, skus=None):
        r"""Features known at the *start* of each day, shape ``(n, T, 8)``; names in
        :data:`FEATURE_NAMES`.

        * ``sales_mean_w`` (w = 7, 28): mean observed sales of days :math:`t-w, \dots, t-1`
          (today's sales are not known yet), reaching into the history on early days;
        * ``forecast_w``: :math:`\frac1w\sum_{k=0}^{w-1} m_{i,t+k}` times a lognormal error of
          mean 1 and CV ``forecast_cv`` (drawn once at generation, so features are
          deterministic). They look ahead on the *expected* demand only, never on realized
          demand;
        * ``promo_today`` and ``promo_next_7`` (number of promotion days in t+1…t+7);
        * ``dow_sin``, ``dow_cos``: :math:`\sin, \cos(2\pi\,\mathrm{dow}/7)`.

        ``sales`` (n, T) are the observed sales of days 0…T−1 (default: the true demand, i.e.
        no stockouts); ``history_sales`` (n, H) those of the history days (default: the history
        demand, i.e. stock sufficed during the warm-up). Only days before t enter day t's
        trailing means, so sales after day t cannot change features up to day t.

        ``skus`` (an index array) restricts the rows to those SKUs, in that order (``sales``
        and ``history_sales`` then have one row per selected SKU): the same numbers as
        ``features()[skus]`` without computing the others.
        """
        T, H = self.T, self.history
        rows = slice(None)
        if skus is not None:
            rows = np.asarray(skus)
            if rows.ndim != 1 or rows.size == 0 or not np.issubdtype(rows.dtype, np.integer):
                raise TypeError("skus must be a non-empty 1-D integer index array")
            if rows.min() < 0 or rows.max() >= self.n_skus:
                raise ValueError(f"skus must index the {self.n_skus} SKUs, got range "
                                 f"[{rows.min()}, {rows.max()}]")
        demand, history_demand = self.demand[rows], self.history_demand[rows]
        mean_ext, promo_ext = self._mean_ext[rows], self._promo_ext[rows]
        forecast_noise = self._forecast_noise[rows]
        n = demand.shape[0]
        sales = demand if sales is None else _check_shape(
            "sales", check_array("sales", sales, ndim=2, nonnegative=True), (n, T))
        hist = history_demand if history_sales is None else _check_shape(
            "history_sales", check_array("history_sales", history_sales, ndim=2,
                                         nonnegative=True), (n, H))
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"dtype must be a floating dtype, got {dtype}")
        X = np.empty((n, T, len(FEATURE_NAMES)), dtype=dtype)
        # prefix sums: c[:, k] = sum of the first k days of history+sales; a window mean is a
        # difference of two prefix sums, and day t's only reads prefixes up to day t-1
        c = np.zeros((n, H + T + 1))
        np.cumsum(np.concatenate([hist, sales], axis=1), axis=1, out=c[:, 1:])
        # column H + t of c is the sum up to day t-1, so the slice c[:, H + s : H + T + s]
        # lines up day t with prefix H + t + s
        def lag(a, s):
            return a[:, H + s:H + T + s]
        for k, w in enumerate(TRAILING_WINDOWS):
            X[:, :, k] = (lag(c, 0) - lag(c, -w)) / w
        cm = np.zeros((n, mean_ext.shape[1] + 1))
        np.cumsum(mean_ext, axis=1, out=cm[:, 1:])
        for k, w in enumerate(FORECAST_WINDOWS):
            X[:, :, 2 + k] = (lag(cm, w) - lag(cm, 0)) / w * forecast_noise[:, :, k]
        X[:, :, 4] = lag(promo_ext, 0)
        cp = np.zeros((n, promo_ext.shape[1] + 1), dtype=np.int32)
        np.cumsum(promo_ext, axis=1, out=cp[:, 1:])
        X[:, :, 5] = lag(cp, 1 + PROMO_LOOKAHEAD) - lag(cp, 1)
        angle = 2 * np.pi * self.weekday / 7
        X[:, :, 6] = np.sin(angle)
        X[:, :, 7] = np.cos(angle)
        return X

    # -- splits and groups -------------------------------------------------------------
    def split(self, by="sku", fractions=(0.6, 0.2, 0.2), *, test_days=None, val_days=0,
              seed=None):
        """Index arrays for training and evaluation.

        * ``by="sku"``: a seeded random partition of the SKUs into ``len(fractions)`` sorted
          index arrays of sizes ``round(fractions · n)`` (cumulative rounding, so they cover
          all SKUs exactly). ``seed`` defaults to a stream derived from the config's seed.
        * ``by="time"``: contiguous day ranges ``(train_days, test_days)``, or
          ``(train_days, val_days, test_days)`` when ``val_days > 0``; the test days are the
          last ``test_days`` days.
        """
        check_choice("by", by, {"sku", "time"})
        if by == "time":
            T = self.T
            if test_days is None:
                raise ValueError("test_days is required when by='time'")
            test_days = check_int("test_days", test_days, low=1, high=T - 1)
            val_days = check_int("val_days", val_days, low=0, high=T - 1 - test_days)
            cut1, cut2 = T - test_days - val_days, T - test_days
            days = np.arange(T)
            parts = (days[:cut1], days[cut1:cut2], days[cut2:])
            return parts if val_days else (parts[0], parts[2])
        fr = check_tuple("fractions", fractions)
        fr = np.array([check_real(f"fractions[{k}]", f, low=0.0, low_open=True)
                       for k, f in enumerate(fr)])
        if abs(fr.sum() - 1.0) > 1e-9:
            raise ValueError(f"fractions must sum to 1, got {fr.sum()}")
        n = self.n_skus
        cuts = np.rint(np.cumsum(fr) * n).astype(int)
        cuts[-1] = n
        if np.any(np.diff(np.concatenate([[0], cuts])) < 1):
            raise ValueError(f"fractions {tuple(fr)} leave an empty part for n_skus={n}")
        rng = (np.random.default_rng(np.random.SeedSequence(self.config.seed).spawn(8)[7])
               if seed is None else np.random.default_rng(check_int("seed", seed, low=0)))
        perm = rng.permutation(n)
        return tuple(np.sort(p) for p in np.split(perm, cuts[:-1]))

    def groups(self):
        """``{(L, P): sku indices}``: SKUs sharing a nominal lead time and review period, which
        the batched simulator (one ``InventorySystem`` per group) can run together."""
        key = self.L * (max(self.P.max(), 1) + 1) + self.P
        uniq, inv = np.unique(key, return_inverse=True)
        order = np.argsort(inv, kind="stable")
        bounds = np.cumsum(np.bincount(inv, minlength=len(uniq)))[:-1]
        out = {}
        for idx in np.split(order, bounds):
            out[(int(self.L[idx[0]]), int(self.P[idx[0]]))] = idx
        return out


def _check_shape(name, arr, shape):
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    return arr


def make_catalogue(config=None, **overrides):
    """Generate a :class:`Catalogue` from ``config`` (a :class:`CatalogueConfig`), or from
    keyword overrides of the default config: ``make_catalogue(n_skus=1000, seed=3)``.

    Independent random streams (one per component, spawned from ``config.seed``) make the
    per-SKU parameters, promotions, noise, forecasts and lead times reproducible separately.
    """
    if config is None:
        config = CatalogueConfig(**overrides)
    elif not isinstance(config, CatalogueConfig):
        raise TypeError(f"config must be a CatalogueConfig, got {type(config).__name__}")
    elif overrides:
        config = replace(config, **overrides)  # re-validated by __post_init__
    cfg = config
    n, T, H = cfg.n_skus, cfg.horizon, cfg.history
    rng_par, rng_promo, rng_noise, rng_zero, rng_pois, rng_fc, rng_lead = (
        np.random.default_rng(s) for s in np.random.SeedSequence(cfg.seed).spawn(8)[:7])

    # per-SKU parameters
    scale = np.clip(cfg.scale_median * np.exp(cfg.scale_sigma * rng_par.standard_normal(n)),
                    cfg.scale_min, cfg.scale_max)
    amplitude = rng_par.uniform(*cfg.amplitude_range, n)
    trend = cfg.trend_sd * rng_par.standard_normal(n)
    lo, hi = np.log(cfg.uplift_range)
    uplift = np.exp(rng_par.uniform(lo, hi, n))
    zero_prob = cfg.zero_inflation / (1.0 + scale)
    P = rng_par.choice(np.array(cfg.review_periods, dtype=np.int64), size=n,
                       p=cfg.review_probs)
    L = rng_par.integers(cfg.lead_range[0], cfg.lead_range[1] + 1, size=n, dtype=np.int64)

    prof = np.array(cfg.weekday_profile, float)
    prof = prof - prof.mean()
    if np.abs(prof).max() > 0:      # a flat profile means no weekly seasonality
        prof = prof / np.abs(prof).max()

    # the timeline: days -H … T-1+_FUTURE (mean and promotions), -H … T-1 (demand)
    n_ext = H + T + _FUTURE
    days = np.arange(-H, T + _FUTURE)
    weekday_ext = (cfg.start_weekday + days) % 7
    promo_ext = _promo_windows(n, n_ext, cfg.promo_rate, cfg.promo_length, rng_promo)
    # in place: at 100 000 SKUs every (n, days) temporary costs ~140 MB
    mean_ext = amplitude[:, None] * prof[weekday_ext]
    mean_ext += 1.0
    mean_ext *= scale[:, None]
    mean_ext *= np.exp(trend[:, None] * days)
    np.multiply(mean_ext, uplift[:, None], out=mean_ext, where=promo_ext.astype(bool))

    m = mean_ext[:, :H + T]
    if cfg.noise_cv > 0:
        k = 1.0 / cfg.noise_cv ** 2
        lam = rng_noise.gamma(k, 1.0 / k, size=m.shape)
        lam *= m
    else:
        lam = m.copy()
    lam /= (1.0 - zero_prob)[:, None]
    D = rng_pois.poisson(lam).astype(float)
    D[rng_zero.random(m.shape, dtype=np.float32) < zero_prob[:, None]] = 0.0

    # forecast errors: lognormal with mean 1 and CV forecast_cv
    s2 = np.log1p(cfg.forecast_cv ** 2)
    fc_noise = np.exp(np.sqrt(s2) * rng_fc.standard_normal(
        (n, T, len(FORECAST_WINDOWS)), dtype=np.float32) - np.float32(s2 / 2))

    lead_pmf, lead_times = _lead_times(cfg, L, n, T, rng_lead)

    return Catalogue(
        config=cfg, demand=D[:, H:], mean=mean_ext[:, H:H + T], promo=promo_ext[:, H:H + T],
        history_demand=D[:, :H], weekday=weekday_ext[H:H + T], scale=scale,
        amplitude=amplitude, trend=trend, uplift=uplift, zero_prob=zero_prob, profile=prof,
        L=L, P=P, lead_pmf=lead_pmf, lead_times=lead_times, _mean_ext=mean_ext,
        _promo_ext=promo_ext, _forecast_noise=fc_noise)


def _lead_times(cfg, L, n, T, rng_lead):
    """``(lead_pmf, lead_times)`` of the ``n`` SKUs of nominal lead times ``L``: each SKU's
    lead-time law, shape ``(n, L_max + 1)``, and one draw per (SKU, order day), shape ``(n, T)``.
    """
    # lead times: nominal L plus a Binomial(delay_max, p_i) delay when random
    if cfg.random_lead_times and cfg.lead_delay_max > 0:
        p = rng_lead.uniform(*cfg.lead_delay_prob, n)
        dmax = cfg.lead_delay_max
        delays = np.arange(dmax + 1)
        binom = np.array([comb(dmax, j) for j in delays], float)
        pmf_delay = binom * p[:, None] ** delays * (1 - p[:, None]) ** (dmax - delays)
        lead_times = L[:, None] + rng_lead.binomial(dmax, p[:, None], size=(n, T))
    else:
        dmax = 0
        pmf_delay = np.ones((n, 1))
        lead_times = np.broadcast_to(L[:, None], (n, T)).copy()
    lead_pmf = np.zeros((n, cfg.lead_range[1] + dmax + 1))
    cols = L[:, None] + np.arange(pmf_delay.shape[1])
    np.put_along_axis(lead_pmf, cols, pmf_delay, axis=1)
    return lead_pmf, lead_times


def _promo_windows(n, n_days, rate, length, rng):
    """0/1 flags (int8, shape (n, n_days)): windows start on each day with probability
    ``rate`` and last a uniform number of days in ``length``; overlapping windows merge.

    The start process runs ``length[1] - 1`` days before the first day, so windows already
    under way on day −H are there too (the process is stationary from the first day)."""
    pre = length[1] - 1
    total = n_days + pre
    if rate == 0:
        return np.zeros((n, n_days), dtype=np.int8)
    # window length at each start day (0 = no start); a day is in a promotion when some
    # start j days earlier (j < its length) covers it: one shifted OR per possible j
    starts = rng.random((n, total), dtype=np.float32) < rate
    length_at = np.zeros((n, total), dtype=np.int8)
    length_at[starts] = rng.integers(length[0], length[1] + 1, size=int(starts.sum()),
                                     dtype=np.int8)
    flag = np.zeros((n, total), dtype=bool)
    for j in range(length[1]):
        flag[:, j:] |= length_at[:, :total - j] > j
    return flag[:, pre:].astype(np.int8)
