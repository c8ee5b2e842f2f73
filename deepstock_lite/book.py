"""Author tools for the book (not needed to read it).

    python -m deepstock_lite.book execute [book/01_newsvendor.ipynb ...]
        re-execute chapters in place, top to bottom, saving outputs and widget state
        (all chapters of _toc.yml when no path is given);
    python -m deepstock_lite.book check
        check every chapter: a readable notebook, listed in _toc.yml, kernel python3, one
        title, committed outputs, a Colab install cell that uses the repository URL of
        _config.yml, every glued name defined, every figure captioned (and so numbered),
        plain-text headings, and no hand-typed result in the prose (a decimal or percentage
        neither glued nor listed in book/_literals.yml).

Run from the repository root. Needs nbclient and PyYAML (installed with jupyter-book).
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

__all__ = ["find_root", "chapters", "repository_url", "execute", "check", "prose_numbers",
           "glued_names"]


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
    return problems


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
