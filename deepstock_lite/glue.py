"""Bind a number computed in a chapter to the prose that quotes it (myst-nb's *glue*).

In a code cell::

    from deepstock_lite.glue import glue
    glue("gap_base", gap)            # stores the value in the cell's outputs, shows nothing

and in the markdown below it: ``{glue:text}`gap_base:.1%``` . The web book (myst-nb) renders
the stored value with the format spec; a re-executed chapter can therefore never contradict its
prose. Works without myst-nb installed (e.g. on Colab): the output format is the same.
"""
from __future__ import annotations

import numbers

__all__ = ["glue"]

_PREFIX = "application/papermill.record/"  # myst-nb's GLUE_PREFIX


def _plain(value):
    """numpy scalars -> Python scalars, so that the stored ``text/plain`` is ``0.25``, not
    ``np.float64(0.25)`` (myst-nb's format specs need a literal number)."""
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (numbers.Number, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


def glue(name, value, display=False):
    """Store ``value`` under ``name`` for ``{glue:text}`` / ``{glue}`` in the chapter's prose.

    ``name`` must be an identifier-like string (letters, digits, ``_``, ``-``), unique within
    the chapter. With ``display=True`` the value is also shown in the cell's output.
    """
    if not isinstance(name, str) or not name or not all(c.isalnum() or c in "_-" for c in name):
        raise ValueError(f"name must be a non-empty string of letters, digits, '_' or '-', "
                         f"got {name!r}")
    import IPython.core.formatters
    from IPython.display import display as ipy_display

    value = _plain(value)
    mimebundle, metadata = IPython.core.formatters.format_display_data(value)
    prefix = "" if display else _PREFIX
    metadata["scrapbook"] = dict(name=name, mime_prefix=prefix)
    ipy_display({prefix + k: v for k, v in mimebundle.items()}, raw=True, metadata=metadata)
