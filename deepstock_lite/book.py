"""Author tools for the book (not needed to read it).

    python -m deepstock_lite.book execute [book/01_newsvendor.ipynb ...]
        re-execute chapters in place, top to bottom, saving outputs and widget state
        (all chapters of _toc.yml when no path is given);
    python -m deepstock_lite.book check
        check every chapter: a readable notebook, listed in _toc.yml, kernel python3, one
        title, committed outputs, a Colab install cell that uses the repository URL of
        _config.yml, every glued name defined, every figure captioned (and so numbered),
        plain-text headings, and no hand-typed result in the prose (a decimal or percentage
        neither glued nor listed in book/_literals.yml), and one notation: every range a
        chapter states for the actions u~, u and a is the one of the introduction's notation
        table, and the letters that table replaced (mu for a policy, tot(s) or pos for the
        position, P(...) for a probability, k for the safety factor, H for the horizon) do not
        come back in a chapter's math.

Run from the repository root. Needs nbclient and PyYAML (installed with jupyter-book).
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

__all__ = ["find_root", "chapters", "repository_url", "execute", "check", "prose_numbers",
           "glued_names", "math_segments", "action_ranges", "notation_clashes"]


def find_root(start=None):
    """The book root: the nearest folder upwards holding ``_config.yml`` and ``_toc.yml``."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_config.yml").exists() and (folder / "_toc.yml").exists():
            return folder
    raise FileNotFoundError("no _config.yml/_toc.yml found here or above: run from the book")


def _yaml(path):
    import yaml
    return yaml.safe_load(Path(path).read_text())


def chapters(root=None):
    """Chapter notebooks in table-of-contents order."""
    root = find_root(root)
    toc = _yaml(root / "_toc.yml")
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return [root / f"{f}.ipynb" for f in files if (root / f"{f}.ipynb").exists()]


def repository_url(root=None):
    return _yaml(find_root(root) / "_config.yml")["repository"]["url"].rstrip("/")


def execute(paths=None, timeout=600):
    """Execute notebooks in place (outputs and widget state saved, no timing metadata); each
    executed notebook replaces its file atomically."""
    import nbformat
    from nbclient import NotebookClient

    from .core.results_store import atomic_write

    paths = [Path(p) for p in paths] if paths else chapters()
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}},
                                store_widget_state=True, record_timing=False)
        client.execute()
        # into a temporary file of the same folder, then moved over the chapter: a full disk
        # or an interrupt leaves the committed notebook as it was
        atomic_write(path, lambda f: nbformat.write(nb, f))
        print(f"{path}: executed in {time.perf_counter() - t0:.1f} s")
        # errors raised while *displaying* (e.g. a bad LaTeX label in a figure) do not stop
        # the kernel, so look for them in the outputs
        bad = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
               if o.output_type == "error"]
        if bad:
            raise RuntimeError(f"{path}: an output holds an error: {bad[0].ename}: "
                               f"{bad[0].evalue}")


# What is not prose: fenced code, display and inline math, inline code and roles, links' targets,
# html tags, MyST directive options and label/target lines.
_NOT_PROSE = [
    re.compile(r"^(```|~~~)[^\n]*\n.*?^\1[ \t]*$", re.S | re.M),     # fenced blocks
    re.compile(r"\$\$.*?\$\$", re.S),                                # display math
    re.compile(r"\\begin\{(\w+\*?)\}.*?\\end\{\1\}", re.S),          # LaTeX environments
    re.compile(r"(?<![\\\w])\$[^$\n]+?\$"),                             # inline math
    re.compile(r"\{[\w:-]+\}`[^`]*`"),                                 # MyST roles ({glue:text}`x`)
    re.compile(r"`[^`\n]*`"),                                          # inline code
    re.compile(r"\]\([^)]*\)"),                                         # link targets
    re.compile(r"<[^>\n]+>"),                                          # html tags, autolinks
    re.compile(r"^:[\w-]+:.*$", re.M),                                 # directive options
    re.compile(r"^\(\S+\)=\s*$", re.M),                                # (label)= targets
    re.compile(r"https?://\S+"),
]
# A result a cell could have printed: a decimal (0.867, 4.40) or a percentage (12%, +2.5 %).
_NUMBER = re.compile(r"(?<![\w.])[+\-\u2212]?(\d+\.\d+ ?%?|\d+ ?%)(?![\w.]*\d)")
# a number right after these words names a part of the book, not a result ("Section 12.7")
_REFERENCE = re.compile(r"(Section|Sections|Chapter|Chapters|Algorithm|Example|Exercise|Table|"
                        r"Figure|Fig\.|Eq\.|eq\.|§)\s*$")
_GLUE_USE = re.compile(r"\{glue(?::\w+)?\}`([\w-]+)")
_GLUE_MIME = "application/papermill.record/"


def prose_numbers(markdown):
    """Decimals and percentages in ``markdown`` outside code, math, roles and links, as written
    (``'28.1%'``, ``'0.867'``), in order. A number a cell computed belongs in a glue role."""
    text = markdown
    for pattern in _NOT_PROSE:
        text = pattern.sub(" ", text)
    return [m.group(0).lstrip("+-\u2212").replace(" ", "") for m in _NUMBER.finditer(text)
            if not _REFERENCE.search(text[max(m.start() - 14, 0):m.start()])]


def glued_names(nb):
    """Names a notebook's outputs store with myst-nb's glue."""
    names = set()
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            meta = out.get("metadata", {}) if hasattr(out, "get") else {}
            for key in (meta.get("scrapbook", {}) or {},):
                if key.get("name"):
                    names.add(key["name"])
            if any(k.startswith(_GLUE_MIME) for k in out.get("data", {})):
                names.update(k[len(_GLUE_MIME):] for k in out.get("data", {})
                             if k.startswith(_GLUE_MIME))
    return names


# One notation. The introduction's table (its "## Notation" section) states the range of each
# action symbol; a chapter that writes "u \in [-1, 1]" contradicts it. Math is read from display
# ($$...$$) and inline ($...$, which may wrap onto a second line) math outside fenced code.
_MATH = re.compile(r"\$\$.*?\$\$|(?<![\\\w$])\$(?!\$)(?:[^$\n]|\n(?![ \t]*\n))+?\$", re.S)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_TILDE_U = re.compile(r"\\tilde\s*\{\s*u\s*\}|\\tilde\s*u(?![a-zA-Z])")
# an action symbol, possibly with a subscript, stated in a range: "u_i \in [0, 1]^k"
_ACTION_RANGE = re.compile(r"(?<![\\\w])(ũ|u|a)(?:_\{?[\w,]+\}?)?\s*\\in\s*\[([^\]\n]*)\]")
_ACTION_NAMES = {"ũ": r"\tilde u", "u": "u", "a": "a"}
# Letters the notation table replaced, found in a chapter's math: (rule, pattern, message).
_NOTATION_FORBIDDEN = [
    ("policy", re.compile(r"\\mu_\{?\\(?:bar\s*\{?\s*\\)?(?:phi|theta)|\^\{?\\mu(?![a-zA-Z])"),
     r"a policy is \pi (\mu is a mean demand)"),
    ("position", re.compile(r"\\mathrm\{tot\}\((?!I|\\tilde\s*I)|\\mathrm\{pos\}"
                             r"|\\text\{position\}"),
     r"the inventory position is written \mathrm{tot}(I)"),
    ("probability", re.compile(r"(?<![\\\w])P\s*\("),
     r"a probability is written \Pr(...) (P is the review period)"),
    ("safety factor", re.compile(r"(?<![\\\w])k\s*(?:\\,)?\s*\\(?:sqrt|sigma)(?![a-zA-Z])"),
     "the safety factor is z"),
    ("horizon", re.compile(r"(?<![\\\w{])H\s*(?:=|\\times|\\cdot)"
                           r"|(?:\\times|\\cdot|N)\s*H(?![\w(^{_])"),
     "the horizon is T"),
]
_NOTATION_HEAD = re.compile(r"^## Notation\s*$", re.M)
_NOT_H = re.compile(r"\\mathcal\s*\{?\s*H\}?")
_TERM_START = ("$", "(", "[", "{", ",", "=", ";", ":", "&", "\\quad", "\\qquad")
def math_segments(markdown):
    """The math of ``markdown``: display and inline segments, outside fenced and inline code."""
    text = _NOT_PROSE[0].sub(" ", markdown)
    text = _INLINE_CODE.sub(" ", text)
    return [m.group(0) for m in _MATH.finditer(text)]


def _starts_a_term(before):
    """True when a symbol preceded by ``before`` starts a term (it is not a factor)."""
    before = before.rstrip()
    return not before or before.endswith(_TERM_START)


def _range_key(text):
    text = text.replace("\u2212", "-")
    return re.sub(r"\s+|\\[,;!]", "", text)


def action_ranges(markdown):
    """``{symbol: range}`` stated by the rows of the notation table in ``markdown`` (the
    symbols u~, u, a written ``$\\tilde u \\in [-1, 1]^k$`` in a row's first cell)."""
    ranges = {}
    for line in markdown.splitlines():
        if not line.startswith("|"):
            continue
        first = line.split("|")[1]
        for seg in math_segments(first):
            for m in _ACTION_RANGE.finditer(_TILDE_U.sub("ũ", seg)):
                ranges.setdefault(m.group(1), _range_key(m.group(2)))
    return ranges


def notation_clashes(markdown, ranges):
    """Where ``markdown`` (a chapter's Markdown) departs from the notation table: an action
    stated in a range other than ``ranges`` (see :func:`action_ranges`), or a letter the table
    replaced. One line per clash, with the offending math."""
    problems = []
    for seg in math_segments(markdown):
        flat = " ".join(_TILDE_U.sub("ũ", seg).split())
        for m in _ACTION_RANGE.finditer(flat):
            sym, stated = m.group(1), _range_key(m.group(2))
            if not _starts_a_term(flat[:m.start()]):
                continue                      # "a_{\max} u \in [0, a_{\max}]" ranges a product
            if sym in ranges and stated != ranges[sym]:
                problems.append(f"{_ACTION_NAMES[sym]} is stated in [{m.group(2)}], the "
                                f"notation table says [{ranges[sym]}]: {seg.strip()[:80]!r}")
        for rule, pattern, message in _NOTATION_FORBIDDEN:
            text = _NOT_H.sub(" ", flat) if rule == "horizon" else flat
            if pattern.search(text):
                problems.append(f"{message}: {seg.strip()[:80]!r}")
    return problems


def _literals(root):
    path = Path(root) / "book" / "_literals.yml"
    if not path.exists():
        return {}
    data = _yaml(path) or {}
    return {chapter: {str(k) for k in (tokens or {})} for chapter, tokens in data.items()}


def _read_notebook(path):
    """(notebook, None) or (None, a one-line reason it cannot be read)."""
    import nbformat
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        return nb, None
    except Exception as exc:  # any failure to parse or validate is the notebook's problem
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return None, f"{type(exc).__name__}: {reason}"[:160]


def check(root=None):
    """Return a list of problems (empty when every chapter is in order), one line each.

    ``root``: a folder in the book (str or os.PathLike), or None for the current folder."""
    import os
    if root is not None:
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"root must be a str or os.PathLike folder (or None for the "
                            f"current folder), got {type(root).__name__}")
        text = os.fspath(root)
        if not isinstance(text, str):
            raise TypeError(f"root must be a str or os.PathLike naming a str path, got "
                            f"{type(text).__name__}")
        if not text or "\0" in text:
            raise ValueError(f"root must be a non-empty folder path without NUL characters "
                             f"(or None for the current folder), got {text!r}")
    root = find_root(root)
    url = repository_url(root)
    problems = []
    literals = _literals(root)
    listed = {p.resolve() for p in chapters(root)}
    ranges = _notation_table(root, problems)
    for path in sorted((root / "book").glob("*.ipynb")):
        name = path.relative_to(root)
        if path.resolve() not in listed:
            problems.append(f"{name}: not listed in _toc.yml")
        nb, reason = _read_notebook(path)
        if nb is None:
            problems.append(f"{name}: not a readable notebook ({reason})")
            continue
        if nb.metadata.get("kernelspec", {}).get("name") != "python3":
            problems.append(f"{name}: kernelspec must be python3")
        markdown = [_NOT_PROSE[0].sub("", c.source) for c in nb.cells
                    if c.cell_type == "markdown"]
        titles = [ln for md in markdown for ln in md.splitlines() if re.match(r"^# \S", ln)]
        if len(titles) != 1:
            problems.append(f"{name}: needs exactly one '# ' title, found {len(titles)}")
        math_heads = [ln.strip() for md in markdown for ln in md.splitlines()
                      if re.match(r"^#{1,6} ", ln) and ("$" in ln or "\\(" in ln)]
        if math_heads:
            problems.append(f"{name}: headings must be plain text (the sidebar, the browser "
                            f"tab and search cannot render math): {math_heads[0]!r}")
        code = [c for c in nb.cells if c.cell_type == "code"]
        if not code or "import deepstock_lite" not in code[0].source or url not in code[0].source:
            problems.append(f"{name}: first code cell must install deepstock_lite from {url}")
        if code and not any(c.get("outputs") for c in code):
            problems.append(f"{name}: committed without outputs")
        if any("{bibliography}" in c.source for c in nb.cells if c.cell_type == "markdown"):
            problems.append(f"{name}: cite with {{cite}} only; the one bibliography is "
                            "book/references.md (several give duplicate-citation warnings)")
        errors = [o for c in code for o in c.get("outputs", []) if o.output_type == "error"]
        if errors:
            problems.append(f"{name}: committed with an error output")
        uncaptioned = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                       and any("image/png" in o.get("data", {}) or "image/svg+xml" in
                               o.get("data", {}) for o in c.get("outputs", []))
                       and not (c.metadata.get("mystnb", {}).get("figure", {}) or {})
                       .get("caption")]
        if uncaptioned:
            problems.append(f"{name}: figure(s) without a caption and number (cell metadata "
                            "mystnb.figure.caption and .name, e.g. fig-...) in cell(s) "
                            f"{', '.join(map(str, uncaptioned))}")
        glued = glued_names(nb)
        used = {m for c in nb.cells if c.cell_type == "markdown"
                for m in _GLUE_USE.findall(c.source)}
        for missing in sorted(used - glued):
            problems.append(f"{name}: glue name '{missing}' is used in the prose but no output "
                            "stores it (re-execute the chapter)")
        allowed = literals.get(path.stem, set())
        typed = [t for md in markdown for t in prose_numbers(md) if t not in allowed]
        if typed:
            problems.append(f"{name}: hand-typed number(s) in the prose, neither glued nor in "
                            f"book/_literals.yml: {', '.join(dict.fromkeys(typed))}")
        if ranges:
            clashes = [clash for cell in nb.cells if cell.cell_type == "markdown"
                       for clash in notation_clashes(cell.source, ranges)]
            problems += [f"{name}: notation: {clash}" for clash in dict.fromkeys(clashes)]
    return problems


def _notation_table(root, problems):
    """The action ranges of the notation table, from the first chapter that has a
    "## Notation" section; a problem is added when none states all three."""
    for path in chapters(root):
        nb, _ = _read_notebook(path)
        cells = [c.source for c in nb.cells if c.cell_type == "markdown"] if nb else []
        heads = [(md, _NOTATION_HEAD.search(md)) for md in cells]
        table = [md[head.start():] for md, head in heads if head]
        if table:
            ranges = action_ranges(table[0])
            if set(ranges) != set(_ACTION_NAMES):
                problems.append(f"{path.relative_to(root)}: the notation table must state the "
                                r"ranges of \tilde u, u and a (rows like '| $u \in [0, 1]^k$ |')")
            return ranges
    problems.append(r"no chapter has a '## Notation' table stating the ranges of \tilde u, u "
                    "and a")
    return {}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m deepstock_lite.book")
    sub = parser.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("execute", help="re-execute chapters in place")
    ex.add_argument("paths", nargs="*")
    ex.add_argument("--timeout", type=int, default=600)
    sub.add_parser("check", help="check chapters for the book's conventions")
    args = parser.parse_args(argv)
    if args.cmd == "execute":
        execute(args.paths, args.timeout)
        return 0
    problems = check()
    for p in problems:
        print(p)
    print("all chapters OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
