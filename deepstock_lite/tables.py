"""Result tables for the chapters: an HTML table on the web page and in JupyterLab, aligned
text wherever HTML is not shown (a terminal, ``print``, the ``text/plain`` of the output).

A chapter formats each number as it always has (the same format specs, so the same digits)
and hands the strings to a :class:`Table`, made the last expression of its cell (or passed to
``display``)::

    from deepstock_lite.tables import Table
    t = Table(["L", "b", "optimum", "DS + Base"], title="gap to the exact optimum")
    for ...:
        t.add_row(L, b, f"{opt:.3f}", f"{gap:.2%}")
    t

The HTML carries the classes ``ds-table`` (``_static/deepstock.css`` styles it, narrow enough
for a phone: the headers wrap, the table scrolls inside the column if it still does not fit)
and plain ``text-align`` styles, so JupyterLab and GitHub show it aligned as well.
"""
from __future__ import annotations

import html
import numbers

__all__ = ["Table"]

_ALIGN = {"l": "left", "r": "right", "c": "center"}


def _cell_text(value):
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        raise TypeError(f"a table cell must be a string, a number or None, got "
                        f"{type(value).__name__} ({value!r})")
    return str(value)


def _check_text(name, value):
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__}")
    return value


class Table:
    """A table of results with a title, column headers, rows, section rows and notes.

    ``columns``: the column headers (strings). ``align``: one letter per column, ``l``, ``r``
    or ``c`` (default: the first column left, the others right). ``groups``: an optional
    header row above the columns, as ``(label, span)`` pairs whose spans add up to the number
    of columns. ``notes``: lines printed under the table. Cells are strings (format the
    numbers yourself: the table never rounds), numbers (written with ``str``) or ``None``
    (empty).
    """

    def __init__(self, columns, rows=(), *, title=None, align=None, groups=None, notes=()):
        if isinstance(columns, str) or not hasattr(columns, "__iter__"):
            raise TypeError("columns must be a list of strings")
        self.columns = [_check_text("each column header", c) for c in columns]
        if not self.columns:
            raise ValueError("columns must name at least one column")
        n = len(self.columns)
        self.title = None if title is None else _check_text("title", title)
        if align is None:
            align = "l" + "r" * (n - 1)
        align = _check_text("align", align)
        if len(align) != n or any(a not in _ALIGN for a in align):
            raise ValueError(f"align must be {n} letters among l, r and c (one per column), "
                             f"got {align!r}")
        self.align = align
        self.groups = None
        if groups is not None:
            groups = [(_check_text("a group label", label), span) for label, span in groups]
            if any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1
                   for _, s in groups) or sum(s for _, s in groups) != n:
                raise ValueError(f"groups must be (label, span) pairs with positive integer "
                                 f"spans adding up to the {n} columns, got {groups!r}")
            self.groups = [(label, int(s)) for label, s in groups]
        if isinstance(notes, str):
            notes = [notes]
        self.notes = [_check_text("each note", line) for line in notes]
        self.rows = []          # ("row", [cells]) or ("section", label)
        for row in rows:
            self.add_row(*row)

    # -------------------------------------------------------------------------- building
    def add_row(self, *cells):
        """Append a row of ``len(columns)`` cells."""
        if len(cells) != len(self.columns):
            raise ValueError(f"a row must have {len(self.columns)} cells (one per column), "
                             f"got {len(cells)}")
        self.rows.append(("row", [_cell_text(c) for c in cells]))
        return self

    def add_section(self, label):
        """Append a row spanning the whole table that heads the rows below it."""
        self.rows.append(("section", _check_text("label", label)))
        return self

    def add_note(self, line):
        """Append a line under the table."""
        self.notes.append(_check_text("line", line))
        return self

    # ------------------------------------------------------------------------------ text
    def _widths(self):
        widths = [len(c) for c in self.columns]
        for kind, cells in self.rows:
            if kind == "row":
                widths = [max(w, len(c)) for w, c in zip(widths, cells)]
        if self.groups:             # a group label wider than its columns widens the last one
            start = 0
            for label, span in self.groups:
                room = sum(widths[start:start + span]) + 2 * (span - 1)
                if len(label) > room:
                    widths[start + span - 1] += len(label) - room
                start += span
        return widths

    def _line(self, cells, widths):
        out = []
        for c, w, a in zip(cells, widths, self.align):
            out.append(c.ljust(w) if a == "l" else c.rjust(w) if a == "r" else c.center(w))
        return "  ".join(out).rstrip()

    def text(self):
        """The table as aligned text (what ``print`` and the ``text/plain`` output show)."""
        widths = self._widths()
        lines = [self.title] if self.title else []
        if self.groups:
            parts, start = [], 0
            for label, span in self.groups:
                room = sum(widths[start:start + span]) + 2 * (span - 1)
                parts.append(label.center(room))
                start += span
            lines.append("  ".join(parts).rstrip())
        lines.append(self._line(self.columns, widths))
        lines.append("  ".join("-" * w for w in widths))
        for kind, cells in self.rows:
            lines.append(cells if kind == "section" else self._line(cells, widths))
        lines += self.notes
        return "\n".join(lines)

    def __str__(self):
        return self.text()

    def __repr__(self):
        return f"<Table: {len(self.columns)} columns, {len(self.rows)} rows>"

    def _repr_pretty_(self, p, cycle):
        p.text(self.text())

    # ------------------------------------------------------------------------------ HTML
    def _repr_html_(self):
        esc = html.escape
        style = [f' style="text-align: {_ALIGN[a]}"' for a in self.align]
        out = ['<div class="ds-table-wrap">', '<table class="ds-table">']
        if self.title:
            out.append(f"<caption>{esc(self.title)}</caption>")
        out.append("<thead>")
        if self.groups:
            cells = "".join(
                f'<th colspan="{span}" class="{"ds-group" if label else "ds-nogroup"}" '
                f'style="text-align: center">{esc(label)}</th>'
                for label, span in self.groups)
            out.append(f"<tr>{cells}</tr>")
        out.append("<tr>" + "".join(f"<th{s}>{esc(c)}</th>"
                                    for c, s in zip(self.columns, style)) + "</tr>")
        out.append("</thead>")
        out.append("<tbody>")
        for kind, cells in self.rows:
            if kind == "section":
                out.append(f'<tr class="ds-section"><th colspan="{len(self.columns)}" '
                           f'style="text-align: left">{esc(cells)}</th></tr>')
            else:
                out.append("<tr>" + "".join(f"<td{s}>{esc(c)}</td>"
                                            for c, s in zip(cells, style)) + "</tr>")
        out.append("</tbody>")
        out.append("</table>")
        for line in self.notes:
            out.append(f'<p class="ds-table-note">{esc(line)}</p>')
        out.append("</div>")
        return "\n".join(out)
