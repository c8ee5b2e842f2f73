"""Figure defaults for the book: sharp, large enough for a projector, colour-blind safe."""
from __future__ import annotations

__all__ = ["use_book_style", "COLORS"]

# Okabe–Ito palette: distinguishable with the common forms of colour blindness.
COLORS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
          "#000000"]


def use_book_style():
    """Apply the book's matplotlib defaults (call once in a chapter's setup cell)."""
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update({
        "figure.figsize": (7.0, 4.2),
        "figure.dpi": 100,
        "savefig.dpi": 150,
        "font.size": 12,
        "axes.titlesize": 13,
        "axes.labelsize": 12,
        "legend.fontsize": 11,
        "lines.linewidth": 2.0,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": cycler(color=COLORS),
        "svg.hashsalt": "deepstock-lite",  # deterministic SVG ids
    })
    try:  # sharp (2x) PNG figures; PNG rather than SVG because nbval compares SVG text,
        # which holds a timestamp, but skips PNG images
        from matplotlib_inline.backend_inline import set_matplotlib_formats
        set_matplotlib_formats("retina")
    except ImportError:  # pragma: no cover
        pass
