"""Argument checks shared by every public function.

Each check raises ``TypeError`` for a wrong type and ``ValueError`` for a value outside its
allowed range, and the message always names the parameter and the range, so a reader who
mistypes a cost or a lead time learns at once what went wrong.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "MAX_QUANTITY",
    "MAX_COUNT",
    "check_real",
    "check_int",
    "check_bool",
    "check_probability",
    "check_array",
    "check_demand",
    "check_choice",
    "check_name",
    "check_names",
    "check_seeds",
]


MAX_QUANTITY = 1e12   # largest cost rate, demand, stock or order the simulator accepts
MAX_COUNT = 100_000_000  # largest number of paths, periods or samples allocated at once


def as_array(name, value):
    """``np.asarray`` that names the argument when numpy cannot read it (ragged lists)."""
    try:
        return np.asarray(value)
    except (ValueError, TypeError, RuntimeError) as e:  # RuntimeError: a tensor with grad
        raise TypeError(f"{name} must be a rectangular array of numbers ({e})") from None


def check_real(name, value, *, low=None, high=None, low_open=False, high_open=False,
               allow_array=False):
    """Return ``value`` as a float (or float array) after checking it is finite and in range.

    ``low``/``high`` are inclusive bounds unless ``low_open``/``high_open`` is set.
    """
    if isinstance(value, bool) or (not allow_array and not isinstance(value, numbers.Real)):
        if not (allow_array and isinstance(value, (np.ndarray, list, tuple))):
            raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    arr = as_array(name, value)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer)
                                 or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    rng = _range_text(low, high, low_open, high_open)
    if low is not None and (np.any(arr <= low) if low_open else np.any(arr < low)):
        raise ValueError(f"{name} must be in {rng}, got {value!r}")
    if high is not None and (np.any(arr >= high) if high_open else np.any(arr > high)):
        raise ValueError(f"{name} must be in {rng}, got {value!r}")
    if arr.ndim == 0:
        return float(arr)
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    return arr


def check_int(name, value, *, low=None, high=None):
    """Return ``value`` as a Python int after checking type and inclusive range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be in {_range_text(low, high)}, got {value}")
    return value


def check_bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__}")
    return bool(value)


def check_probability(name, value, *, open_interval=True):
    """A probability strictly inside (0, 1) by default (critical ratios, quantile levels)."""
    return check_real(name, value, low=0.0, high=1.0, low_open=open_interval,
                      high_open=open_interval)


def check_array(name, value, *, ndim=None, nonnegative=False, allow_int=True, max_abs=None,
                allow_empty=False):
    """Return a float array after checking numeric dtype, dimension and finiteness (and,
    with ``max_abs``, magnitude); an empty array only with ``allow_empty``."""
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}")
    arr = as_array(name, value)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.floating)
                                 or (allow_int and np.issubdtype(arr.dtype, np.integer))):
        raise TypeError(f"{name} must hold numbers (int or float), got dtype {arr.dtype}")
    if ndim is not None and arr.ndim not in np.atleast_1d(ndim):
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    arr = arr.astype(float)
    if arr.size == 0:
        return arr
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if nonnegative and np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative (>= 0), got minimum {arr.min()}")
    if max_abs is not None and np.abs(arr).max() > max_abs:
        raise ValueError(f"{name} must be at most {max_abs:g} in absolute value, got "
                         f"{np.abs(arr).max():g}")
    return arr


def check_demand(name, value):
    """Demand trajectories: a 2-D array (paths × periods) of finite non-negative numbers.

    A 1-D array is read as one path.
    """
    arr = check_array(name, value, ndim=(1, 2), nonnegative=True, max_abs=MAX_QUANTITY)
    return np.atleast_2d(arr)


def check_choice(name, value, choices):
    """``value`` must be one of ``choices`` (names): a ``ValueError`` naming the argument
    otherwise, also for unhashable values such as lists."""
    try:
        ok = value in choices and not (isinstance(value, bool)
                                       and not any(isinstance(c, bool) for c in choices))
    except TypeError:  # unhashable values (lists) are not in a set of names
        ok = False
    if not ok:
        shown = sorted(choices, key=repr)
        raise ValueError(f"{name} must be one of {shown}, got {value!r}")
    return value


def check_name(name, value, choices):
    """``value`` must be a string among ``choices``: a ``TypeError`` for a non-string (a list,
    a number), a ``ValueError`` for an unknown name, each naming the argument."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {list(choices)}, got "
                        f"{type(value).__name__}")
    return check_choice(name, value, set(choices))


def check_names(name, values, allowed):
    """A non-empty sequence of names, each one of ``allowed``, as a tuple: a ``TypeError`` for
    a string or a non-sequence, a ``ValueError`` for an unknown name or an empty sequence,
    each naming the argument."""
    if isinstance(values, str) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a sequence of names from {list(allowed)}, "
                        f"got {values!r}")
    values = tuple(check_choice(name, v, set(allowed)) for v in values)
    if not values:
        raise ValueError(f"{name} must name at least one of {list(allowed)}")
    return values


def check_seeds(seeds, name="seeds"):
    """A non-empty sequence of non-negative integer seeds, as a tuple."""
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise TypeError(f"{name} must be a sequence of integers, got {type(seeds).__name__}")
    seeds = tuple(check_int(name, s, low=0) for s in seeds)
    if not seeds:
        raise ValueError(f"{name} must name at least one seed")
    return seeds


def _range_text(low, high, low_open=False, high_open=False):
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    return f"{left}{lo}, {hi}{right}"
