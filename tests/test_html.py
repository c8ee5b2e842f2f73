"""The built web book, as a reader's browser gets it (runs after ``jupyter-book build .``).

Skipped when ``_build/html`` does not exist (a unit-test run without a build); CI builds the book
first (the README's Quick start), so there it always runs. It fails on what a reader would see:
an image with a fixed height (squashed once the theme narrows its width), a test marker on the
page, raw LaTeX in a title (the sidebar, the browser tab and search cannot render math), a
chapter whose number is not its file's, equations that MathJax cannot load offline, widgets or
any other script loaded from another host (offline they render nothing), a script that throws
on load, or a figure number that reads like another chapter's.

Whether a display equation fits the column cannot be decided from the HTML alone: it depends on
MathJax's glyph metrics and the theme's layout. ``scripts/screenshots.py`` measures it in a
browser; when its ``report.json`` is newer than the build, the test below reads it and fails on
any display equation that does not fit beside its number at a desktop width (1000 px or more).
"""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from deepstock_lite.book import chapters, find_root

ROOT = find_root(__file__)
HTML = ROOT / "_build" / "html"

pytestmark = pytest.mark.skipif(not (HTML / "index.html").exists() and
                                not any(HTML.glob("book/*.html")),
                                reason="the book is not built (jupyter-book build .)")


class _Page(HTMLParser):
    """Collects image tags, the <title>, the sidebar's link texts, visible text and the
    chapter heading's section number."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.images, self.nav, self.text = [], [], []
        self.title, self.h1_number = "", None
        self._stack, self._in_title, self._in_nav, self._in_h1 = [], False, 0, False
        self._in_secnum = False
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a)
        if tag == "title":
            self._in_title = True
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "nav":        # the sidebar's table of contents and the page's own
            self._in_nav += 1
        if tag == "h1":
            self._in_h1 = True
        if tag == "span" and "section-number" in (a.get("class") or "") and self._in_h1:
            self._in_secnum = True

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        if tag in ("script", "style"):
            self._skip = max(self._skip - 1, 0)
        if tag == "nav":
            self._in_nav = max(self._in_nav - 1, 0)
        if tag == "h1":
            self._in_h1 = False
        if tag == "span":
            self._in_secnum = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self._in_secnum and self.h1_number is None:
            self.h1_number = data.strip()
        if self._skip:
            return
        if self._in_nav:
            self.nav.append(data)
        self.text.append(data)


def _pages():
    return sorted(p for p in HTML.rglob("*.html") if "_static" not in p.parts
                  and "_sources" not in p.parts)


def _parse(path):
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_no_image_has_a_fixed_height():
    bad = []
    for path in _pages():
        for img in _parse(path).images:
            style = (img.get("style") or "").replace(" ", "")
            if "height" in img or re.search(r"(^|;)height:\d", style):
                bad.append(f"{path.relative_to(HTML)}: {img.get('src', '')[:60]} "
                           f"style={img.get('style')!r} height={img.get('height')!r}")
    assert not bad, "images with a fixed height (squashed at narrow widths):\n" + \
        "\n".join(bad[:20])


def test_no_test_marker_on_any_page():
    bad = [str(p.relative_to(HTML)) for p in _pages()
           if re.search(r"NBVAL_[A-Z_]+", " ".join(_parse(p).text))]
    assert not bad, f"nbval markers rendered on: {bad}"


def test_titles_hold_no_raw_latex():
    bad = []
    for path in _pages():
        page = _parse(path)
        for where, text in (("<title>", page.title), ("sidebar", " ".join(page.nav))):
            if "\\(" in text or "\\)" in text or "$" in text and re.search(r"\$[^$]+\$", text):
                bad.append(f"{path.relative_to(HTML)} {where}: {text.strip()[:80]!r}")
    search = HTML / "searchindex.js"
    if search.exists():
        text = search.read_text(encoding="utf-8")
        index = json.loads(text[text.index("(") + 1:text.rindex(")")])
        titles = list(index.get("titles", [])) + list(index.get("alltitles", {}))
        bad += [f"search result title: {t!r}" for t in titles
                if "\\(" in t or re.search(r"\\[a-zA-Z]+", re.sub(r"<[^>]+>", "", t))]
    assert not bad, "\n".join(bad[:20])


def test_chapter_numbers_match_their_files():
    """Chapter N is book/NN_*: what the text's "Chapter N" references count on."""
    bad = []
    for nb in chapters(ROOT):
        m = re.match(r"(\d\d)_", nb.stem)
        page = HTML / "book" / f"{nb.stem}.html"
        if not m or int(m.group(1)) == 0 or not page.exists():
            continue
        number = _parse(page).h1_number
        if number is None or number.rstrip(". ") != str(int(m.group(1))):
            bad.append(f"{nb.stem}: heading numbered {number!r}")
    assert not bad, "\n".join(bad)


def test_mathjax_is_served_locally():
    """Equations render offline: every chapter page loads MathJax from _static, no CDN."""
    bad = []
    for nb in chapters(ROOT):
        page = HTML / "book" / f"{nb.stem}.html"
        if not page.exists():
            continue
        text = page.read_text(encoding="utf-8")
        srcs = re.findall(r"<script[^>]+src=\"([^\"]*mathjax[^\"]*)\"", text, flags=re.I)
        if not srcs or any(s.startswith(("http:", "https:", "//")) for s in srcs):
            bad.append(f"{nb.stem}: {srcs}")
    assert not bad, "\n".join(bad)
    assert (HTML / "_static" / "mathjax" / "tex-chtml.js").exists()


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def test_widgets_load_their_scripts_locally():
    """Widgets render offline: no page loads a script from another host (myst-nb's default
    fetches require.js and the widget manager from CDNs, so offline the widgets drew nothing),
    and every page with a saved widget view loads the widget manager vendored in
    _static/ipywidgets (``nb_ipywidgets_js`` in _config.yml)."""
    bad, widget_pages = [], 0
    for path in _pages():
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(HTML)
        tags = re.findall(r"<script\b[^>]*>", text, flags=re.I)
        srcs = [m.group(1) for tag in tags
                for m in [re.search(r"""\bsrc=["']([^"']*)["']""", tag)] if m]
        bad += [f"{name}: loads {s}" for s in srcs if re.match(r"(?i)(https?:)?//", s)]
        bad += [f"{name}: {a}" for tag in tags
                for a in re.findall(r"data-jupyter-widgets-cdn[^\s>]*", tag)]
        if WIDGET_VIEW in text:
            widget_pages += 1
            if not any(re.search(r"(^|/)_static/ipywidgets/embed\.js(\?|$)", s) for s in srcs):
                bad.append(f"{name}: has widgets but no _static/ipywidgets/embed.js ({srcs})")
    assert not bad, "scripts that need the network (widgets render nothing offline):\n" + \
        "\n".join(bad[:20])
    if widget_pages:
        assert (HTML / "_static" / "ipywidgets" / "embed.js").exists()


def test_bibliography_keeps_capitals():
    page = HTML / "book" / "references.html"
    if not page.exists():
        pytest.skip("no bibliography page")
    text = " ".join(_parse(page).text)
    assert "(s, s)" not in text and "(S, s)" in text and "(s, S)" in text


def test_bibliography_labels_read_like_the_citations():
    """The list is labelled as the text cites it ("Achiam 2018"), not "[Ach18]"."""
    page = HTML / "book" / "references.html"
    if not page.exists():
        pytest.skip("no bibliography page")
    text = " ".join(_parse(page).text)
    assert "Achiam 2018" in text and "Agarwal et al. 2021" in text
    left = re.findall(r"\b(?:[A-Z][a-z]{2}|[A-Z]{2,4}\+?)\d\d\b", text)
    assert not left, f"alpha-style labels left: {left[:5]}"


def test_no_script_is_declared_twice():
    """An inline script registered twice (sphinx-thebe's ``const THEBE_JS_URL`` under Sphinx 7.4)
    throws "Identifier ... has already been declared" on every page."""
    bad = []
    for path in _pages():
        text = path.read_text(encoding="utf-8")
        inline = re.findall(r"<script>(.*?)</script>", text, flags=re.S)
        for body in set(inline):
            if body.strip() and inline.count(body) > 1:
                bad.append(f"{path.relative_to(HTML)}: {body.strip()[:60]!r}")
        for name in re.findall(r"\bconst\s+([A-Za-z_$][\w$]*)\s*=", " ".join(inline)):
            if len(re.findall(rf"\bconst\s+{re.escape(name)}\s*=", " ".join(inline))) > 1:
                bad.append(f"{path.relative_to(HTML)}: const {name} declared twice")
    assert not bad, "\n".join(sorted(set(bad))[:20])


def test_figure_numbers_name_their_chapter():
    """Fig. N.k on the page of Chapter N; the introduction, outside the numbered chapters,
    numbers its figures 0.k (a bare "Fig. 1" read like a figure of Chapter 1)."""
    bad = []
    for nb in chapters(ROOT):
        m = re.match(r"(\d\d)_", nb.stem)
        page = HTML / "book" / f"{nb.stem}.html"
        if not m or not page.exists():
            continue
        text = page.read_text(encoding="utf-8")
        numbers = re.findall(r'class="caption-number">(?:Fig\.|Table) ([\d.]+)', text)
        want = str(int(m.group(1)))
        bad += [f"{nb.stem}: Fig. {n}" for n in numbers if n.split(".")[0] != want
                or "." not in n]
    assert not bad, "\n".join(bad[:20])


def _screenshot_report():
    """The screenshot report (``python scripts/screenshots.py``), skipping the test when there
    is none newer than the build."""
    report = ROOT / "_build" / "screenshots" / "report.json"
    built = [p.stat().st_mtime for p in HTML.glob("book/*.html")]
    if not report.exists() or not built or report.stat().st_mtime < max(built):
        pytest.skip("no screenshot report newer than the build (python scripts/screenshots.py)")
    return json.loads(report.read_text(encoding="utf-8"))


def test_equations_fit_at_desktop_width():
    """Read the screenshot report when it is newer than the build: at 1000 px and more every
    display equation fits beside its number."""
    bad = []
    for key, info in _screenshot_report().items():
        page, _, width = key.rpartition("@")
        if int(width) < 1000:
            continue
        bad += [f"{page} at {width} px: {e['name']} {e['state']} ({e['width']} px, room "
                f"{e['room']} px, number {e['number']} px)"
                for e in info.get("equations", []) if e["state"] != "fits"]
    assert not bad, "display equations wider than the column:\n" + "\n".join(bad)


def test_figure_text_is_readable_on_a_phone():
    """Read the screenshot report when it is newer than the build: at a phone's width (under
    1000 px) no figure's smallest text is drawn below the report's threshold (8 px by default:
    ``scripts/screenshots.py --min-text-px``), which is the smallest text a reader can still
    read without zooming."""
    bad = []
    for key, info in _screenshot_report().items():
        page, _, width = key.rpartition("@")
        if int(width) >= 1000 or not info.get("small_figures"):
            continue
        bad.append(f"{page} at {width} px: {info['small_figures']} figure(s) with text under "
                   "the threshold")
    assert not bad, "figures unreadable on a phone:\n" + "\n".join(bad)
