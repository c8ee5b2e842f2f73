"""The parameters of the synthetic catalogue of :mod:`deepstock_lite.paper.catalogue`:
:class:`CatalogueConfig` (every field checked on construction), and the feature names and
windows that the catalogue's features, the retail environment and per-SKU normalization share.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.validation import check_bool, check_int, check_real

__all__ = ["CatalogueConfig", "FEATURE_NAMES", "UNIT_FEATURES", "TRAILING_WINDOWS",
           "FORECAST_WINDOWS"]

TRAILING_WINDOWS = (7, 28)
FORECAST_WINDOWS = (7, 28)
PROMO_LOOKAHEAD = 7
FEATURE_NAMES = ("sales_mean_7", "sales_mean_28", "forecast_7", "forecast_28",
                 "promo_today", "promo_next_7", "dow_sin", "dow_cos")
# features measured in units per day: the ones per-SKU normalization divides by the scale
UNIT_FEATURES = (0, 1, 2, 3)
MAX_DAYS = 10_000  # longest review period and lead time (days), as for the simulator

_DEFAULT_PROFILE = (-0.1, -0.2, -0.15, -0.05, 0.1, 0.35, 0.25)  # Mon … Sun


@dataclass
class CatalogueConfig:
    """Parameters of :func:`~deepstock_lite.paper.catalogue.make_catalogue` (the docstring
    of :mod:`deepstock_lite.paper.catalogue` describes the model).

    Every field is checked on construction; a bad value raises ``ValueError`` (or
    ``TypeError``) naming the field and its allowed range.
    """
    n_skus: int = 10_000
    horizon: int = 120                       # decision days T
    seed: int = 0
    history: int = 28                        # warm-up days H before day 0 (>= 28)
    start_weekday: int = 0                   # weekday of day 0 (0 = Monday)
    # scales
    scale_median: float = 2.0
    scale_sigma: float = 1.5
    scale_min: float = 0.02
    scale_max: float = 1000.0
    # weekly seasonality
    weekday_profile: tuple = _DEFAULT_PROFILE
    amplitude_range: tuple = (0.0, 0.6)
    # trend (log growth per day)
    trend_sd: float = 0.002
    # promotions
    promo_rate: float = 1 / 30
    promo_length: tuple = (2, 5)
    uplift_range: tuple = (1.5, 4.0)
    # noise and intermittency
    noise_cv: float = 0.3
    zero_inflation: float = 0.3
    # forecasts in the features
    forecast_cv: float = 0.2
    # review periods and lead times
    review_periods: tuple = (1, 2, 7)
    review_probs: tuple | None = None
    lead_range: tuple = (1, 7)
    random_lead_times: bool = False
    lead_delay_max: int = 3
    lead_delay_prob: tuple = (0.0, 0.5)

    def __post_init__(self):
        self.n_skus = check_int("n_skus", self.n_skus, low=1)
        self.horizon = check_int("horizon", self.horizon, low=1)
        self.seed = check_int("seed", self.seed, low=0, high=2**63 - 1)
        self.history = check_int("history", self.history, low=max(TRAILING_WINDOWS))
        self.start_weekday = check_int("start_weekday", self.start_weekday, low=0, high=6)
        self.scale_median = check_real("scale_median", self.scale_median, low=0.0,
                                       low_open=True)
        self.scale_sigma = check_real("scale_sigma", self.scale_sigma, low=0.0)
        self.scale_min = check_real("scale_min", self.scale_min, low=0.0, low_open=True)
        self.scale_max = check_real("scale_max", self.scale_max, low=self.scale_min)
        prof = check_tuple("weekday_profile", self.weekday_profile, 7)
        self.weekday_profile = tuple(check_real(f"weekday_profile[{d}]", v)
                                     for d, v in enumerate(prof))
        self.amplitude_range = _check_range("amplitude_range", self.amplitude_range,
                                            low=0.0, high=1.0, high_open=True)
        self.trend_sd = check_real("trend_sd", self.trend_sd, low=0.0, high=0.1)
        self.promo_rate = check_real("promo_rate", self.promo_rate, low=0.0, high=1.0,
                                     high_open=True)
        self.promo_length = _check_range("promo_length", self.promo_length, low=1,
                                         high=60, integer=True)
        self.uplift_range = _check_range("uplift_range", self.uplift_range, low=1.0)
        self.noise_cv = check_real("noise_cv", self.noise_cv, low=0.0, high=10.0)
        self.zero_inflation = check_real("zero_inflation", self.zero_inflation, low=0.0,
                                         high=1.0, high_open=True)
        self.forecast_cv = check_real("forecast_cv", self.forecast_cv, low=0.0, high=10.0)
        rp = check_tuple("review_periods", self.review_periods)
        self.review_periods = tuple(check_int(f"review_periods[{k}]", v, low=1, high=MAX_DAYS)
                                    for k, v in enumerate(rp))
        if self.review_probs is not None:
            pr = check_tuple("review_probs", self.review_probs, len(self.review_periods))
            pr = tuple(check_real(f"review_probs[{k}]", v, low=0.0) for k, v in enumerate(pr))
            if abs(sum(pr) - 1.0) > 1e-9:
                raise ValueError(f"review_probs must sum to 1, got {sum(pr)}")
            self.review_probs = pr
        self.lead_range = _check_range("lead_range", self.lead_range, low=0, high=MAX_DAYS,
                                       integer=True)
        self.random_lead_times = check_bool("random_lead_times", self.random_lead_times)
        self.lead_delay_max = check_int("lead_delay_max", self.lead_delay_max, low=0, high=60)
        self.lead_delay_prob = _check_range("lead_delay_prob", self.lead_delay_prob,
                                            low=0.0, high=1.0)


def check_tuple(name, value, length=None):
    """``value`` as a non-empty tuple (of ``length`` entries if given); a 1-D array is one."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") \
            or (isinstance(value, np.ndarray) and value.ndim != 1):
        shape = f" of shape {value.shape}" if isinstance(value, np.ndarray) else ""
        raise TypeError(f"{name} must be a sequence (1-D), got {type(value).__name__}{shape}")
    value = tuple(np.asarray(value).tolist()) if isinstance(value, np.ndarray) else tuple(value)
    if length is not None and len(value) != length:
        raise ValueError(f"{name} must have {length} entries, got {len(value)}")
    if len(value) == 0:
        raise ValueError(f"{name} must not be empty")
    return value


def _check_range(name, value, *, low=None, high=None, high_open=False, integer=False):
    """A (lo, hi) pair with low <= lo <= hi (<= or < high)."""
    lo, hi = check_tuple(name, value, 2)
    chk = ((lambda n, v: check_int(n, v, low=low, high=high)) if integer else
           (lambda n, v: check_real(n, v, low=low, high=high, high_open=high_open)))
    lo, hi = chk(f"{name}[0]", lo), chk(f"{name}[1]", hi)
    if lo > hi:
        raise ValueError(f"{name} must satisfy {name}[0] <= {name}[1], got {value!r}")
    return (lo, hi)
