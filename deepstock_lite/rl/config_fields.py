"""Checks for the agents' configuration dataclasses: each raises a ``ValueError`` or
``TypeError`` naming ``Config.field`` (e.g. ``DDPGConfig.gamma``) and the allowed range, when
the config is built, before any work starts."""
from __future__ import annotations

from ..core.validation import check_bool, check_int, check_name, check_real
from .networks import MAX_WIDTH

__all__ = ["field_int", "field_real", "field_bool", "field_choice", "field_hidden"]


def field_int(cfg, name, low=None, high=None):
    v = check_int(f"{type(cfg).__name__}.{name}", getattr(cfg, name), low=low, high=high)
    setattr(cfg, name, v)


def field_real(cfg, name, low=None, high=None, low_open=False, high_open=False, optional=False):
    value = getattr(cfg, name)
    if optional and value is None:
        return
    v = check_real(f"{type(cfg).__name__}.{name}", value, low=low, high=high,
                   low_open=low_open, high_open=high_open)
    setattr(cfg, name, v)


def field_bool(cfg, name):
    setattr(cfg, name, check_bool(f"{type(cfg).__name__}.{name}", getattr(cfg, name)))


def field_choice(cfg, name, choices):
    """A config field that must be one of the names ``choices`` (a ``TypeError`` for a
    non-string, a ``ValueError`` for an unknown name, each naming ``Config.field``)."""
    check_name(f"{type(cfg).__name__}.{name}", getattr(cfg, name), choices)


def field_hidden(cfg, name="hidden"):
    value = getattr(cfg, name)
    full = f"{type(cfg).__name__}.{name}"
    if not isinstance(value, (list, tuple)) or len(value) == 0:
        raise TypeError(f"{full} must be a non-empty tuple of layer widths, got {value!r}")
    setattr(cfg, name, tuple(check_int(f"{full}[{i}]", h, low=1, high=MAX_WIDTH)
                             for i, h in enumerate(value)))
