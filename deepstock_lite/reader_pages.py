"""The book as the reader translation sees it (:mod:`deepstock_lite.reader`): the pages of
``_toc.yml`` with the web book's chapter numbers (:func:`pages`, :class:`Page`), each page's
notebook and glue data (:func:`load_page`), what the web book does with a code cell (folding,
figures), the bibliography formatted as the web book formats it (:class:`Bibliography`), and
the numbered targets of references (:class:`Target`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["READER_DIR", "NUMFIG_FORMAT", "ReaderError", "Page", "read_yaml", "pages",
           "load_page", "folded", "figure_options", "Bibliography", "Target"]

READER_DIR = "reader"

# Sphinx's default numfig_format
NUMFIG_FORMAT = {"figure": "Fig. %s", "table": "Table %s", "code-block": "Listing %s",
                 "section": "Section %s"}


class ReaderError(ValueError):
    """A construct of a chapter that the reader translation does not handle."""


# --------------------------------------------------------------------------------- the pages
@dataclass
class Page:
    """One page of ``_toc.yml``: its source, its chapter number (None if unnumbered)."""
    name: str               # "book/01_newsvendor"
    source: Path            # the .ipynb or .md file
    number: int | None      # chapter number, None for unnumbered pages
    nb: object = None       # the notebook (an .md page becomes a one-cell notebook)
    glue: dict = field(default_factory=dict)

    @property
    def stem(self):
        return Path(self.name).name

    @property
    def out_name(self):
        return f"{self.stem}.ipynb"


def read_yaml(path):
    import yaml
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def pages(root):
    """The pages of ``_toc.yml`` in order, with the web book's chapter numbers: numbered
    toctrees continue each other's numbers (``use_multitoc_numbering``), unnumbered ones
    consume none."""
    root = Path(root)
    toc = read_yaml(root / "_toc.yml")
    entries = [(toc["root"], False)]
    for part in toc.get("parts", []):
        numbered = bool(part.get("numbered"))
        entries += [(c["file"], numbered) for c in part.get("chapters", [])]
    out, n = [], 0
    for name, numbered in entries:
        name = re.sub(r"\.(ipynb|md)$", "", name)
        for ext in (".ipynb", ".md"):
            if (root / f"{name}{ext}").exists():
                source = root / f"{name}{ext}"
                break
        else:
            raise ReaderError(f"{name}: listed in _toc.yml but no .ipynb or .md file found")
        if numbered:
            n += 1
        out.append(Page(name, source, n if numbered else None))
    return out


def load_page(page):
    import nbformat
    if page.source.suffix == ".ipynb":
        page.nb = nbformat.read(page.source, as_version=4)
    else:
        nb = nbformat.v4.new_notebook()
        nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python",
                                      "name": "python3"},
                       "language_info": {"name": "python"}}
        text = page.source.read_text(encoding="utf-8")
        nb.cells = [nbformat.v4.new_markdown_cell(text.rstrip("\n"), id=page.stem)]
        page.nb = nb
    page.glue = _glue_data(page.nb)


def _glue_data(nb):
    """Glued name -> its mime bundle without the glue prefix (as myst-nb's extract_glue_data)."""
    data = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            meta = out.get("metadata", {}) or {}
            if "scrapbook" not in meta:
                continue
            prefix = len(meta["scrapbook"].get("mime_prefix", ""))
            data[meta["scrapbook"]["name"]] = {k[prefix:]: v for k, v in out["data"].items()}
    return data


# Jupyter Book's folding tags -> JupyterLab's collapsed input/output (cell metadata "jupyter")
_FOLD = {"hide-input": ("source_hidden",), "hide-output": ("outputs_hidden",),
         "hide-cell": ("source_hidden", "outputs_hidden")}


def folded(cell):
    """``cell`` with the input (output) collapsed in JupyterLab where the web book folds it."""
    for tag in cell.get("metadata", {}).get("tags", []) or []:
        for key in _FOLD.get(tag, ()):
            cell.metadata.setdefault("jupyter", {})[key] = True
    return cell


def _is_glue_output(out):
    return "scrapbook" in (out.get("metadata", {}) or {})


def figure_options(cell):
    if cell.cell_type != "code":
        return None
    fig = (cell.metadata.get("mystnb", {}) or {}).get("figure")
    if not isinstance(fig, dict):
        return None
    # myst-nb wraps every display output (glue outputs are taken out first) in a figure
    if not any(o.output_type in ("display_data", "execute_result") and not _is_glue_output(o)
               for o in cell.get("outputs", [])):
        return None
    return fig


# ------------------------------------------------------------------------------ citations
class Bibliography:
    """``references.bib`` formatted as the web book formats it (sphinxcontrib-bibtex,
    ``bibtex_reference_style: author_year``, the default ``alpha`` bibliography style)."""

    def __init__(self, paths):
        from pybtex.database import BibliographyData, parse_file
        from pybtex.plugin import find_plugin

        data = BibliographyData()
        for path in paths:
            for key, entry in parse_file(str(path)).entries.items():
                data.entries[key] = entry
        self.style = find_plugin("pybtex.style.formatting", "alpha")()
        self.names = find_plugin("pybtex.style.names", "last")()
        self.markdown_backend = find_plugin("pybtex.backends", "markdown")()
        self.formatted = list(self.style.format_entries(data.entries.values()))
        self.order = {e.key: i for i, e in enumerate(self.formatted)}
        self.entries = data.entries
        self._author_text = {}

    def _authors(self, key):
        if key not in self._author_text:
            self._author_text[key] = self._format_authors(key)
        return self._author_text[key]

    def _format_authors(self, key):
        entry = self.entries[key]
        persons = entry.persons.get("author") or entry.persons.get("editor")
        if not persons:
            return "*" + _plain_latex(entry.fields.get("title", key)) + "*"
        last = [str(self.names.format(p, True).format()) for p in persons]
        if len(last) == 1:
            return last[0]
        if len(last) == 2:
            return f"{last[0]} and {last[1]}"
        return f"{last[0]} *et al.*"

    def _year(self, key):
        return self.entries[key].fields.get("year", "")

    def cite(self, role, content, where):
        keys = [k.strip() for k in content.split(",") if k.strip()]
        if "{" in content:
            raise ReaderError(f"{where}: citations with pre- or post-text are not supported: "
                              f"{{{role}}}`{content}`")
        for key in keys:
            if key not in self.entries:
                raise ReaderError(f"{where}: citation key {key!r} not in the bibliography")
        # sphinxcontrib-bibtex lists several keys in the bibliography's order
        keys.sort(key=self.order.__getitem__)
        kind = role.split(":", 1)[1] if ":" in role else "p"
        if kind in ("p", "ps"):
            return "[" + ", ".join(f"{self._authors(k)}, {self._year(k)}" for k in keys) + "]"
        if kind in ("t", "ts"):
            return ", ".join(f"{self._authors(k)} [{self._year(k)}]" for k in keys)
        if kind == "author":
            return ", ".join(self._authors(k) for k in keys)
        if kind == "year":
            return ", ".join(self._year(k) for k in keys)
        raise ReaderError(f"{where}: citation role {{{role}}} is not supported")

    def markdown(self):
        """The whole bibliography as a Markdown list, in the web book's order."""
        lines = []
        for entry in self.formatted:
            text = entry.text.render(self.markdown_backend).replace("\n", " ")
            text = re.sub(r"\\([.\-()!#+])", r"\1", text).replace("&amp;", "&")
            lines.append(f"- {text}")
        return "\n".join(lines)


def _plain_latex(text):
    return re.sub(r"[{}]", "", text)


# ------------------------------------------------------------------------------ numbering
@dataclass
class Target:
    kind: str        # "figure", "equation", "section", "anchor"
    number: str      # "9.2", "" when unnumbered
    page: Page
    title: str = ""  # a section's title or a figure's caption (Markdown)
