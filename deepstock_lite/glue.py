"""Bind a number computed in a chapter to the prose that quotes it (myst-nb's *glue*).

In a code cell::

    from deepstock_lite.glue import glue
    glue("gap_base", gap)            # stores the value in the cell's outputs, shows nothing

and in the markdown below it: ``{glue:text}`gap_base:.1%``` . The web book (myst-nb) renders
the stored value with the format spec; a re-executed chapter can therefore never contradict its
prose. Works without myst-nb installed (e.g. on Colab): the output format is the same.

Glue numbers, not their rendering, except where the rendering would mislead: ``fmt`` writes a
value that rounds to zero as ``0.0%`` (not ``-0.0%``), and ``words`` turns a computed yes-or-no
into the words of its sentence (never ``(True)`` in the prose).
"""
from __future__ import annotations

import numbers

__all__ = ["glue", "fmt", "words"]

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


def fmt(value, spec):
    """``value`` formatted with ``spec`` as prose should read it, to glue as text.

    A number that rounds to zero at that precision is written without a sign: ``0.0%``, not
    the ``-0.0%`` of a median of -0.00002 or the ``+0.0%`` of a signed spec. Quote it without a
    format spec: ``{glue:text}`name```.
    """
    value = _plain(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"value must be a real number, got {type(value).__name__}")
    if not isinstance(spec, str):
        raise TypeError(f"spec must be a format spec string, got {type(spec).__name__}")
    text = format(value, spec)
    body = text.lstrip()
    lead = text[:len(text) - len(body)]
    mantissa = body[1:].lower().split("e")[0]
    if body[:1] in "+-" and "0" in mantissa and not any(c in "123456789" for c in mantissa):
        text = (lead + " " if lead else "") + body[1:]    # a padded width keeps its width
    return text


def words(flag, if_true, if_false):
    """``if_true`` when ``flag`` holds, else ``if_false``: a computed yes-or-no glued as the
    words of the sentence that states it (never as ``True``/``False`` in the prose)."""
    if hasattr(flag, "item") and getattr(flag, "ndim", None) == 0:
        flag = flag.item()
    if not isinstance(flag, bool):
        raise TypeError(f"flag must be a bool, got {type(flag).__name__}")
    for name, text in (("if_true", if_true), ("if_false", if_false)):
        if not isinstance(text, str):
            raise TypeError(f"{name} must be a string, got {type(text).__name__}")
    return if_true if flag else if_false
