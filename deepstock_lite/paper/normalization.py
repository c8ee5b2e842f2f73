r"""Per-SKU normalization, so one network serves SKUs that sell 0.1 or 500 units a day.

Each SKU :math:`i` gets a scale :math:`\hat s_i`, its mean observed sales per day over the
training days, floored:

.. math::

    \hat s_i = \max\Bigl(\frac{1}{|\mathcal T|}\sum_{t \in \mathcal T} y_{it},\ \varepsilon\Bigr).

Quantities in units per day (sales means, forecasts) are divided by :math:`\hat s_i` and become
multiples of the SKU's usual rate; stock quantities in units (on hand, pipeline, order-up-to
targets, orders) are divided by :math:`\hat s_i` and become **days of cover**. Both maps are
linear, so the inverses (multiply by :math:`\hat s_i`) are exact up to rounding, and a policy
that outputs a target in days of cover, as the Coeff regularization does, is turned back into
units by :meth:`SkuScaler.inverse_inventory`.

**The floor** :math:`\varepsilon` (default ``1/28`` unit a day) guards SKUs that sold nothing in
training: without it their scale is 0 and every feature divides by 0. ``1/28`` is one unit per
four weeks, the smallest positive value of a trailing 28-day mean, so a dead SKU is scaled like
a SKU that sold a single unit in four weeks and one unit of its stock reads as 28 days of cover.
The scales are fitted on *observed* (censored) sales, which underestimate demand when stock ran
out; for a normalization that only needs the order of magnitude, that bias is harmless.
"""
from __future__ import annotations

import numpy as np

from ..core.validation import check_array, check_int, check_real
from .catalogue_config import UNIT_FEATURES

__all__ = ["SkuScaler", "DEFAULT_FLOOR"]

DEFAULT_FLOOR = 1.0 / 28.0


class SkuScaler:
    """Per-SKU scale fitted on training-period mean observed sales.

    Parameters
    ----------
    floor : the smallest scale (units per day, > 0); see the module docstring.
    unit_features : indices of the feature columns measured in units per day (default: the
        catalogue's trailing means and forecasts); the other columns (flags, calendar) pass
        through unchanged.

    After :meth:`fit`, ``scale_`` (shape ``(n_skus,)``) holds :math:`\\hat s_i`.
    Every transform takes an optional ``sku`` index array: the rows of its input are then the
    SKUs ``sku`` (a minibatch) instead of all SKUs in order.
    """

    def __init__(self, floor=DEFAULT_FLOOR, unit_features=UNIT_FEATURES):
        self.floor = check_real("floor", floor, low=0.0, low_open=True)
        if isinstance(unit_features, (str, bytes)) or not hasattr(unit_features, "__len__") \
                or (isinstance(unit_features, np.ndarray) and unit_features.ndim != 1):
            raise TypeError("unit_features must be a sequence (1-D) of column indices, got "
                            f"{type(unit_features).__name__}")
        cols = tuple(check_int(f"unit_features[{k}]", c, low=0)
                     for k, c in enumerate(unit_features))
        if len(set(cols)) != len(cols):
            raise ValueError(f"unit_features must not repeat a column, got {cols}")
        self.unit_features = cols
        self.scale_ = None

    def __repr__(self):
        fitted = "unfitted" if self.scale_ is None else f"n_skus={self.scale_.size}"
        return f"SkuScaler(floor={self.floor:g}, {fitted})"

    # -- fitting -----------------------------------------------------------------------
    def fit(self, sales, days=None):
        """Fit on observed ``sales`` (n_skus, T); ``days`` (index array or slice) selects the
        training days, default all. Returns ``self``."""
        y = check_array("sales", sales, ndim=2, nonnegative=True)
        if days is not None:
            if isinstance(days, slice):
                y = y[:, days]
            else:
                d = np.asarray(days)
                if d.ndim != 1 or d.size == 0 or not np.issubdtype(d.dtype, np.integer):
                    raise TypeError("days must be a slice or a non-empty 1-D integer index "
                                    "array")
                if d.min() < -y.shape[1] or d.max() >= y.shape[1]:
                    raise ValueError(f"days must index the {y.shape[1]} days of sales, "
                                     f"got range [{d.min()}, {d.max()}]")
                y = y[:, d]
            if y.shape[1] == 0:
                raise ValueError("days must select at least one day")
        self.scale_ = np.maximum(y.mean(axis=1), self.floor)
        return self

    @property
    def n_skus(self):
        return None if self.scale_ is None else self.scale_.size

    def _rows(self, name, x, sku, min_ndim=1):
        """Checked array and the per-row scale (broadcastable against it)."""
        if self.scale_ is None:
            raise ValueError("SkuScaler is not fitted: call fit(sales) first")
        arr = np.asarray(x) if isinstance(x, np.ndarray) else None
        if arr is not None and arr.dtype.kind == "f" and arr.size:
            # float arrays keep their dtype (float32 features stay float32) and are not copied
            # to float64 just to be checked: at 100 000 SKUs that copy is most of the cost
            if not np.isfinite(arr).all():
                raise ValueError(f"{name} must be finite (no NaN or inf)")
        else:
            arr = check_array(name, x)
        if arr.ndim < min_ndim:
            raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape "
                             f"{arr.shape}")
        if sku is None:
            s = self.scale_
        else:
            idx = np.asarray(sku)
            if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
                raise TypeError("sku must be a 1-D integer index array")
            if idx.size and (idx.min() < 0 or idx.max() >= self.scale_.size):
                raise ValueError(f"sku must be in [0, {self.scale_.size - 1}], got range "
                                 f"[{idx.min()}, {idx.max()}]")
            s = self.scale_[idx]
        if arr.shape[0] != s.size:
            raise ValueError(f"{name} must have {s.size} rows (one per SKU), got shape "
                             f"{arr.shape}")
        return arr, s.reshape((-1,) + (1,) * (arr.ndim - 1)).astype(arr.dtype)

    # -- features ----------------------------------------------------------------------
    def _feature_scale(self, name, X, sku):
        X, s = self._rows(name, X, sku, min_ndim=2)
        F = X.shape[-1]
        if self.unit_features and max(self.unit_features) >= F:
            raise ValueError(f"{name} has {F} feature columns but unit_features refers to "
                             f"column {max(self.unit_features)}")
        cols = list(self.unit_features)
        return X, s, cols

    def transform_features(self, X, sku=None):
        """Divide the unit-per-day columns of ``X`` (n, F) or (n, T, F) by each SKU's scale."""
        X, s, cols = self._feature_scale("X", X, sku)
        out = X.copy()
        out[..., cols] = X[..., cols] / s
        return out

    def inverse_features(self, Z, sku=None):
        """The exact inverse of :meth:`transform_features`."""
        Z, s, cols = self._feature_scale("Z", Z, sku)
        out = Z.copy()
        out[..., cols] = Z[..., cols] * s
        return out

    # -- inventory ---------------------------------------------------------------------
    def transform_inventory(self, x, sku=None):
        """Units → days of cover: on hand, pipeline, targets or orders of shape (n, ...)."""
        x, s = self._rows("x", x, sku)
        return x / s

    def inverse_inventory(self, d, sku=None):
        """Days of cover → units (the exact inverse of :meth:`transform_inventory`)."""
        d, s = self._rows("d", d, sku)
        return d * s
