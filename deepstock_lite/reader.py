"""Reader notebooks: the chapters in plain Markdown, for JupyterLab, Colab and GitHub.

    python -m deepstock_lite.reader            write reader/ from the chapters of _toc.yml
    python -m deepstock_lite.reader --check    exit 1 (and say which) if reader/ is out of date

The chapters in ``book/`` are MyST Markdown: the web book (Jupyter Book) resolves their glued
numbers, cross-references, citations and directives, but JupyterLab and Colab render plain
CommonMark and would show the raw markup, and every solution unfolded. This module writes, for
every page of ``_toc.yml``, a notebook ``reader/<name>.ipynb`` with the same code cells and
outputs, byte for byte, and Markdown cells translated to CommonMark (with ``$...$`` math):

- ``{glue:text}`name:fmt``` -> the stored value, formatted exactly as myst-nb formats it;
- ``{numref}``, ``{eq}``, ``{ref}``, ``{doc}`` -> "Fig. 9.2", "(9.1)", a link, with the web
  book's numbering (Chapter N is the N-th numbered chapter; figures, equations and ``##``
  sections are numbered per chapter in order of appearance, unnumbered pages count 1, 2, ...);
  headings carry their numbers ("## 9.3. ...") as on the web;
- ``{cite}`` -> the web book's author-year text, "[Zipkin, 2008]", from ``references.bib``;
- ``$$ ... $$ (label)`` -> ``$$ ... \\tag{9.1} $$``; ``(label)=`` targets -> an HTML anchor;
- admonitions -> a blockquote with a bold title; dropdown admonitions (hints, solutions) ->
  ``<details><summary>Title</summary> ... </details>``, folded until clicked;
- a figure cell (``mystnb.figure`` metadata) -> the same cell followed by a Markdown cell
  holding its numbered caption; a ``{figure}`` directive -> an image and its caption;
- a code cell the web book folds (tag ``hide-input``, ``hide-output`` or ``hide-cell``) -> the
  same cell, collapsed in JupyterLab (``jupyter.source_hidden``, ``jupyter.outputs_hidden``);
- ``{bibliography}`` -> the list of references; links to ``*.md`` pages of the book -> the
  reader notebook of that page.

The part introductions and the bibliography (``.md`` pages of the table of contents) become
one-cell notebooks too, so that every link between reader pages opens rendered. A construct the
translation does not know stops the generator with its location, instead of leaking raw MyST.
The output depends only on the sources: running it twice writes the same bytes.

This module is the command line and the writing of ``reader/``; the translation is
:mod:`~deepstock_lite.reader_markdown` (blocks, and the book's two passes),
:mod:`~deepstock_lite.reader_inline` (roles, links, glue) and
:mod:`~deepstock_lite.reader_pages` (the pages, the bibliography, the numbered targets).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .reader_inline import format_plain_text
from .reader_markdown import Book, Converter
from .reader_pages import READER_DIR, ReaderError, pages

__all__ = ["READER_DIR", "COMMAND", "pages", "render_all", "write", "stale", "ReaderError",
           "format_plain_text"]

COMMAND = "python -m deepstock_lite.reader"


# ---------------------------------------------------------------------------------- output
def render_all(root):
    """``{reader file name: notebook text}`` for every page of the table of contents."""
    import nbformat

    book = Book(root)
    out = {}
    for page in book.pages:
        nb = Converter(book, page).convert_notebook()
        text = nbformat.writes(nb)
        out[page.out_name] = text if text.endswith("\n") else text + "\n"
    return out


def stale(root):
    """Reader files that differ from what the generator writes now (missing, changed, or not
    generated at all), as relative paths; empty when reader/ is up to date."""
    root = Path(root)
    folder = root / READER_DIR
    want = render_all(root)
    bad = [f"{READER_DIR}/{name}" for name, text in want.items()
           if not (folder / name).exists()
           or (folder / name).read_text(encoding="utf-8") != text]
    extra = [f"{READER_DIR}/{p.name}" for p in sorted(folder.glob("*.ipynb"))
             if p.name not in want] if folder.exists() else []
    return bad + extra


def write(root):
    """Write reader/ (and remove reader notebooks whose page left the table of contents)."""
    root = Path(root)
    folder = root / READER_DIR
    folder.mkdir(exist_ok=True)
    want = render_all(root)
    changed = []
    for name, text in want.items():
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8", newline="\n")
            changed.append(name)
    for path in sorted(folder.glob("*.ipynb")):
        if path.name not in want:
            path.unlink()
            changed.append(f"{path.name} (removed)")
    return changed


def main(argv=None):
    from .book import find_root

    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if reader/ is out of date")
    args = parser.parse_args(argv)
    root = find_root()
    try:
        if args.check:
            bad = stale(root)
            for path in bad:
                print(f"{path}: out of date")
            print("reader/ is up to date" if not bad else f"run: {COMMAND}")
            return 1 if bad else 0
        changed = write(root)
    except ReaderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name in changed:
        print(f"{READER_DIR}/{name}")
    print(f"{len(changed)} reader notebook(s) written" if changed
          else "reader/ is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
