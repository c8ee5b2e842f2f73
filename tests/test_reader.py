"""The reader notebooks (reader/): in sync with the chapters, and free of raw MyST when rendered
as plain CommonMark, as JupyterLab, Colab and GitHub render them."""
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from deepstock_lite.reader import COMMAND, READER_DIR, ReaderError, render_all

ROOT = Path(__file__).resolve().parents[1]
READER = ROOT / READER_DIR
REGENERATE = f"regenerate them with `{COMMAND}` and commit reader/"


@pytest.fixture(scope="module")
def rendered():
    return render_all(ROOT)


def test_reader_notebooks_match_the_chapters(rendered):
    missing = [n for n in rendered if not (READER / n).exists()]
    changed = [n for n in rendered if (READER / n).exists()
               and (READER / n).read_text(encoding="utf-8") != rendered[n]]
    extra = [p.name for p in READER.glob("*.ipynb") if p.name not in rendered]
    assert not (missing or changed or extra), (
        f"reader/ is out of date (missing: {missing}, changed: {changed}, not in the table of "
        f"contents: {extra}): {REGENERATE}")


def test_every_page_has_a_reader_notebook_and_the_install_cell_stays_first(rendered):
    from deepstock_lite.book import chapters

    for chapter in chapters(ROOT):
        book = json.loads(chapter.read_text(encoding="utf-8"))
        reader = json.loads(rendered[chapter.name])
        code = [c for c in book["cells"] if c["cell_type"] == "code"]
        read = [c for c in reader["cells"] if c["cell_type"] == "code"]
        for cell in read:               # folded in JupyterLab where the web book folds it
            folded = "hide-input" in cell["metadata"].get("tags", [])
            assert cell["metadata"].get("jupyter", {}).get("source_hidden", False) == folded
            if "jupyter" not in next(c for c in code if c["id"] == cell["id"])["metadata"]:
                cell["metadata"].pop("jupyter", None)
        assert read == code, chapter.name
    assert (READER / "README.md").exists()


# ------------------------------------------------------------------ rendered as CommonMark
class _Text(HTMLParser):
    """The rendered page's visible text outside code, and any Hint/Solution outside
    <details>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text, self.code, self.details, self.loose = [], 0, 0, []
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in ("code", "pre"):
            self.code += 1
        if tag == "details":
            self.details += 1
        if tag == "summary" and not self.details:
            self.loose.append("<summary> outside <details>")

    def handle_endtag(self, tag):
        if tag in ("code", "pre"):
            self.code -= 1
        if tag == "details":
            self.details -= 1

    def handle_data(self, data):
        if self.code:
            self.text.append("\x00")          # code: neither checked nor joined to prose
            return
        self.text.append(data)
        if not self.details and re.fullmatch(r"\s*(Hint|Solution)s?\s*:?\s*", data):
            self.loose.append(f"a {data.strip()} outside <details>")


def _markdown_cells():
    for path in sorted(READER.glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] == "markdown":
                yield path.name, i, "".join(cell["source"])


def _problems(markdown):
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").render(markdown)
    parser = _Text()
    parser.feed(html)
    text = "".join(parser.text)
    problems = list(parser.loose)
    if re.search(r'class="language-\{', html):
        problems.append("a ```{directive} fence")
    checks = [
        (r"\{[A-Za-z][\w:.-]*\}\s*(`|\x00)", "a MyST role"),
        (r":{3,}", "a ::: directive fence"),
        (r"`{3,}\s*\{", "a ```{directive} fence"),
        (r"(?m)^\s*:[\w-]+:", "a directive option line such as :class:"),
        (r"(?m)^\s*\([^()\s]+\)=\s*$", "a (label)= target"),
        (r"\$\$\s*\([\w:-]+\)", "an equation label after $$"),
        (r"\{glue", "a glue role"),
    ]
    problems += [f"{what}: {m.group(0)!r}" for pattern, what in checks
                 for m in [re.search(pattern, text)] if m]
    # a glue key left as code, e.g. `saa_5:.1%`
    for m in re.finditer(r"<code>([\w-]+:[+,.#0-9]*[a-zA-Z%])</code>", html):
        problems.append(f"a glue key: {m.group(1)!r}")
    return problems


def test_reader_markdown_shows_no_myst():
    problems = [f"reader/{name} cell {i}: {p}" for name, i, md in _markdown_cells()
                for p in _problems(md)]
    assert not problems, "\n".join(problems[:20]) + f"\n({REGENERATE})"


def test_every_dropdown_of_the_chapters_is_folded():
    import nbformat

    from deepstock_lite.book import chapters

    for chapter in chapters(ROOT):
        nb = nbformat.read(chapter, as_version=4)
        want = sum(len(re.findall(r"(?m)^:class:.*\bdropdown\b", c.source))
                   for c in nb.cells if c.cell_type == "markdown")
        reader = json.loads((READER / chapter.name).read_text(encoding="utf-8"))
        got = sum("".join(c["source"]).count("<details>") for c in reader["cells"]
                  if c["cell_type"] == "markdown")
        assert got == want, f"{chapter.name}: {want} dropdowns, {got} <details> ({REGENERATE})"


def test_the_check_sees_raw_myst():
    for bad in ["SAA's regret is {glue:text}`saa_5:.0%`.",
                "See {numref}`fig-nv-cost`.",
                ":::{admonition} Solution\n:class: dropdown\nx = 1\n:::",
                "```{figure} a.png\n:name: fig-a\n```",
                "**Solution**\n\nThe answer.",
                "(nv-exercises)=\n## Exercises",
                "$$\nx\n$$ (nv-cost)"]:
        assert _problems(bad), bad
    good = ("Fig. 1.1 shows it [Zipkin, 2008]; `code {x}` and\n\n```python\nd = {'a': 1}\n```\n"
            "<details>\n<summary>Solution</summary>\n\nIt is $x$.\n\n</details>")
    assert _problems(good) == []


# ------------------------------------------------------- the translation, on a small book
def _tiny_book(tmp_path, markdown, figure_caption="A cost curve."):
    import nbformat

    (tmp_path / "_config.yml").write_text("title: t\nbibtex_bibfiles:\n  - references.bib\n")
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/00_intro\nparts:\n  - numbered: 2\n    chapters:\n"
        "      - file: book/01_first\n      - file: book/02_second\n")
    (tmp_path / "references.bib").write_text(
        "@book{zipkin2000foundations, author={Paul H. Zipkin}, title={Foundations}, "
        "publisher={McGraw-Hill}, year={2000}}\n"
        "@article{xie2026deepstock, author={Yaqi Xie and Xinru Hao and Jiaxi Liu}, "
        "title={DeepStock}, journal={arXiv}, year={2026}}\n")
    book = tmp_path / "book"
    book.mkdir()

    def notebook(cells):
        nb = nbformat.v4.new_notebook()
        nb.cells = cells
        return nb

    code = nbformat.v4.new_code_cell("glue('gap', 0.1234)", id="c1")
    code.outputs = [nbformat.v4.new_output(
        "display_data", data={"application/papermill.record/text/plain": "0.1234"},
        metadata={"scrapbook": {"name": "gap", "mime_prefix": "application/papermill.record/"}})]
    fig = nbformat.v4.new_code_cell("plot()", id="c2",
                                    metadata={"mystnb": {"figure": {
                                        "caption": figure_caption, "name": "fig-cost"}}})
    fig.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=",
                                                                "text/plain": "<Figure>"})]
    nbformat.write(notebook([nbformat.v4.new_markdown_cell("# Intro", id="m0")]),
                   book / "00_intro.ipynb")
    nbformat.write(notebook([nbformat.v4.new_markdown_cell("# First\n\n## A\n\n$$\nx\n$$ (eq-a)",
                                                           id="m1"), code, fig]),
                   book / "01_first.ipynb")
    nbformat.write(notebook([nbformat.v4.new_markdown_cell(markdown, id="m2")]),
                   book / "02_second.ipynb")
    return tmp_path


def _second(tmp_path, markdown, **kw):
    root = _tiny_book(tmp_path, markdown, **kw)
    return render_all(root)


def test_translation_of_each_construct(tmp_path):
    md = ("# Second\n\n## Setup\n\nIntro text.\n\n(sec-b)=\n## B\n\n"
          "Gap {glue:text}`01_first.ipynb::gap:.1%`, Fig. {numref}`fig-cost`, eq {eq}`eq-a`, "
          "{eq}`eq-b`, see {ref}`sec-b` and {cite}`xie2026deepstock,zipkin2000foundations`, "
          "{cite:t}`zipkin2000foundations`; code `{glue:text}` stays.\n\n"
          "$$\ny = 1\n$$ (eq-b)\n\n"
          ":::{admonition} Algorithm 2.1 — `run`\n:class: tip\nStep $a +\nb$ and\n$$\nc\n$$\n:::\n\n"
          ":::{admonition} Solution\n:class: dropdown\n```python\nprint(1)\n```\n:::\n")
    out = _second(tmp_path, md)
    first = json.loads(out["01_first.ipynb"])
    sources = ["".join(c["source"]) for c in first["cells"]]
    assert sources[0].startswith("# 1. First\n\n## 1.1. A\n\n$$\nx\n\\tag{1.1}\n$$")
    assert sources[-1] == "**Fig. 1.1** A cost curve."
    assert first["cells"][1]["outputs"][0]["metadata"]["scrapbook"]["name"] == "gap"
    text = "".join(json.loads(out["02_second.ipynb"])["cells"][0]["source"])
    assert text.startswith("# 2. Second\n\n## 2.1. Setup")
    assert '## 2.2. B <a id="sec-b"></a>' in text
    assert "Gap 12.3%, Fig. Fig. 1.1, eq (1.1), (2.1), see [B](#sec-b)" in text
    assert "[Xie *et al.*, 2026, Zipkin, 2000], Zipkin [2000]" in text
    assert "code `{glue:text}` stays" in text
    assert "$$\ny = 1\n\\tag{2.1}\n$$" in text
    assert "> **Algorithm 2.1 — `run`**\n>\n> Step $a + b$ and\n> $$ c $$" in text
    assert "<details>\n<summary>Solution</summary>\n\n```python\nprint(1)\n```\n\n</details>" \
        in text
    assert _problems(text) == []
    assert render_all(tmp_path) == out      # deterministic


@pytest.mark.parametrize("markdown, message", [
    ("{unknownrole}`x`", "role {unknownrole}"),
    (":::{seealsoX} x\n:::", "directive {seealsoX}"),
    ("{numref}`fig-nowhere`", "unknown label 'fig-nowhere'"),
    ("{glue:text}`nothing:.1f`", "glue name 'nothing'"),
    ("{cite}`nobody1999`", "citation key 'nobody1999'"),
])
def test_unknown_constructs_stop_the_generator(tmp_path, markdown, message):
    with pytest.raises(ReaderError, match=re.escape(message)):
        _second(tmp_path, "# Second\n\n" + markdown)


@pytest.mark.parametrize("text, spec", [
    ("0.2397", ".0%"), ("0.0521", ".1%"), ("-0.0123", "+.1%"), ("4.39512", ".3f"),
    ("1234567", ","), ("1234.5", ",.0f"), ("0.00012", ".0e"), ("'total'", "s"), ("True", "s"),
    ("12", ""), ("3.0", ".0f"), ("7", "d"), ("np.float64(0.5)", "s")])
def test_glue_values_are_formatted_as_myst_nb_formats_them(text, spec):
    from deepstock_lite.reader import format_plain_text

    variables = pytest.importorskip("myst_nb.core.variables")
    assert format_plain_text(text, spec) == variables.format_plain_text(text, spec)


def test_the_web_books_launch_buttons_open_the_reader_notebooks():
    import sys

    sys.path.insert(0, str(ROOT / "_ext"))
    try:
        from deepstock_web import reader_url
    finally:
        sys.path.remove(str(ROOT / "_ext"))
    colab = "https://colab.research.google.com/github/o/r/blob/main/book/01_newsvendor.ipynb"
    binder = "https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/book/01_newsvendor.ipynb"
    assert reader_url(colab, "book/01_newsvendor", ROOT) == colab.replace("/book/", "/reader/")
    assert reader_url(binder, "book/01_newsvendor", ROOT) == binder.replace("/book/", "/reader/")
    # a page without a reader notebook keeps its link
    assert reader_url(colab, "book/99_missing", ROOT) == colab
