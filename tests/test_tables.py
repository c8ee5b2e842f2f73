"""The chapters' result tables: HTML for the page, the same cells as aligned text."""
import json

import pytest

from deepstock_lite.tables import Table


def test_text_and_html_hold_the_same_cells():
    t = Table(["where", "exact", "leaky"], title="gap <per seed>",
              groups=[("", 1), ("gradient", 2)], notes=["n = 3 & more"])
    t.add_section("Settings")
    t.add_row("Setting 1", "+3.4% +74.3%", "-0.0%")
    t.add_row("Zipkin L=2 b=4", None, 12)
    text = t.text()
    assert text.splitlines()[0] == "gap <per seed>"
    assert "+3.4% +74.3%" in text and "-0.0%" in text and "n = 3 & more" in text
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("where"))
    row = next(line for line in lines if line.startswith("Zipkin"))
    assert header.index("leaky") + len("leaky") == row.index("12") + 2   # right-aligned
    html = t._repr_html_()
    assert html.count("<tr>") == 4 and 'class="ds-section"' in html     # groups, head, 2 rows
    assert "gap &lt;per seed&gt;" in html and "n = 3 &amp; more" in html
    assert '<th colspan="2" class="ds-group"' in html
    assert "<td style=\"text-align: right\">12</td>" in html
    assert t._repr_html_() == html                                       # deterministic


def test_ipython_shows_the_html_and_the_text():
    from IPython.core.formatters import format_display_data

    t = Table(["a", "b"], [["x", "1.0"]])
    data, _ = format_display_data(t)
    assert data["text/html"] == t._repr_html_()
    assert data["text/plain"] == t.text()


@pytest.mark.parametrize("kwargs, cells, error, match", [
    (dict(columns="ab"), None, TypeError, "columns"),
    (dict(columns=[]), None, ValueError, "at least one"),
    (dict(columns=["a", 2]), None, TypeError, "column header"),
    (dict(columns=["a", "b"], align="lx"), None, ValueError, "align"),
    (dict(columns=["a", "b"], align="lrr"), None, ValueError, "align"),
    (dict(columns=["a", "b"], groups=[("g", 1)]), None, ValueError, "groups"),
    (dict(columns=["a", "b"], groups=[("g", 0), ("h", 2)]), None, ValueError, "groups"),
    (dict(columns=["a", "b"], title=3), None, TypeError, "title"),
    (dict(columns=["a", "b"]), ("x",), ValueError, "2 cells"),
    (dict(columns=["a", "b"]), ("x", True), TypeError, "cell"),
    (dict(columns=["a", "b"]), ("x", [1]), TypeError, "cell"),
])
def test_bad_tables_are_refused_naming_the_argument(kwargs, cells, error, match):
    with pytest.raises(error, match=match):
        t = Table(**kwargs)
        if cells is not None:
            t.add_row(*cells)


def test_the_sb3_summary_table_shows_the_numbers_of_the_text_table():
    from deepstock_lite.integrations import sb3_summary as sb3_study

    data = json.loads(sb3_study.RESULTS.read_text())
    text = sb3_study.format_table(data)
    table = sb3_study.summary_table(data)
    rows = [cells for kind, cells in table.rows if kind == "row"]
    assert len(rows) == len(text.splitlines()) - 1
    for line, cells in zip(text.splitlines()[1:], rows):
        assert line.split()[4:] == cells[1:]          # final gap ... seeds, digit for digit
    assert [label for kind, label in table.rows if kind == "section"] == [
        sb3_study.LIB_NAMES[lib] for lib in ("sb3", "book", "book_ortho")]


# ---------------------------------------------------------------- glued values as prose reads
@pytest.mark.parametrize("value, spec, text", [
    (-1.66e-05, "+.1%", "0.0%"), (0.00328, "+.1%", "+0.3%"), (-0.0123, "+.1%", "-1.2%"),
    (-0.004, ".2f", "0.00"), (-0.006, ".2f", "-0.01"), (0.0, "+.2f", "0.00"),
    (1234.5, ",.0f", "1,234"), (1e-20, ".1e", "1.0e-20"), (0.0, "+.1e", "0.0e+00"),
    (-1e-4, ">+8.1%", "    0.0%")])
def test_fmt_writes_a_zero_without_a_sign(value, spec, text):
    import numpy as np
    from deepstock_lite.glue import fmt

    assert fmt(value, spec) == text
    assert fmt(np.float64(value), spec) == text


def test_words_and_fmt_refuse_what_they_cannot_write():
    import numpy as np
    from deepstock_lite.glue import fmt, words

    assert words(np.bool_(True), "in every seed", "not in every seed") == "in every seed"
    assert words(False, "is", "is not") == "is not"
    with pytest.raises(TypeError, match="flag"):
        words(1, "a", "b")
    with pytest.raises(TypeError, match="if_false"):
        words(True, "a", None)
    with pytest.raises(TypeError, match="value"):
        fmt(True, ".1f")
    with pytest.raises(TypeError, match="spec"):
        fmt(0.5, 1)
