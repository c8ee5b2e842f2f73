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
"""
from __future__ import annotations

import argparse
import copy
import html
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["READER_DIR", "COMMAND", "pages", "render_all", "write", "stale", "ReaderError",
           "format_plain_text"]

READER_DIR = "reader"
COMMAND = "python -m deepstock_lite.reader"

# Sphinx's defaults (numfig_format, admonition titles)
_NUMFIG_FORMAT = {"figure": "Fig. %s", "table": "Table %s", "code-block": "Listing %s",
                  "section": "Section %s"}
_ADMONITION_TITLES = {"attention": "Attention", "caution": "Caution", "danger": "Danger",
                      "error": "Error", "hint": "Hint", "important": "Important",
                      "note": "Note", "seealso": "See also", "tip": "Tip",
                      "warning": "Warning"}


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


def _yaml(path):
    import yaml
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def pages(root):
    """The pages of ``_toc.yml`` in order, with the web book's chapter numbers: numbered
    toctrees continue each other's numbers (``use_multitoc_numbering``), unnumbered ones
    consume none."""
    root = Path(root)
    toc = _yaml(root / "_toc.yml")
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


def _load(page):
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


def _folded(cell):
    """``cell`` with the input (output) collapsed in JupyterLab where the web book folds it."""
    for tag in cell.get("metadata", {}).get("tags", []) or []:
        for key in _FOLD.get(tag, ()):
            cell.metadata.setdefault("jupyter", {})[key] = True
    return cell


def _is_glue_output(out):
    return "scrapbook" in (out.get("metadata", {}) or {})


def _figure_options(cell):
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


class Book:
    """All pages, their labels and numbers, the glue data and the bibliography."""

    def __init__(self, root):
        self.root = Path(root)
        self.pages = pages(self.root)
        for page in self.pages:
            _load(page)
        config = _yaml(self.root / "_config.yml") or {}
        self.bib = Bibliography([self.root / p for p in config.get("bibtex_bibfiles", [])])
        self.targets = {}
        self._counters = {}
        for page in self.pages:      # pass 1: number everything, in the order of the toc
            _Converter(self, page, collect=True).convert_notebook()

    def next_number(self, kind, page):
        """Sphinx's assign_figure_numbers with numfig_secnum_depth 1: per chapter in a
        numbered chapter, one running count over the unnumbered pages, whose figures the web
        book's extension prefixes with 0 (Fig. 0.1; ``_ext/deepstock_web.py``)."""
        key = (kind, page.number)
        self._counters[key] = self._counters.get(key, 0) + 1
        n = self._counters[key]
        if page.number is not None:
            return f"{page.number}.{n}"
        return f"0.{n}" if kind == "figure" else str(n)

    def add_target(self, label, target, where):
        if label in self.targets and self.targets[label].page is not target.page:
            raise ReaderError(f"{where}: label {label!r} defined twice")
        self.targets.setdefault(label, target)


# ---------------------------------------------------------------------------- translation
_CODE_FENCE = re.compile(r"^([ \t]*)(`{3,}|~{3,})(.*)$")
_COLON_FENCE = re.compile(r"^([ \t]*)(:{3,})\{([\w:.-]+)\}(.*)$")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
_TARGET = re.compile(r"^\(([^()\s]+)\)=[ \t]*$")
_OPTION = re.compile(r"^:([\w-]+):(?:[ \t]+(.*))?$")
_MATH_CLOSE = re.compile(r"^(.*?)\$\$[ \t]*(?:\(([^()\s]+)\))?[ \t]*$")
_ROLE_NAME = re.compile(r"\{([A-Za-z][\w:.-]*)\}$")
_LINK = re.compile(r"(\]\()(<[^>]*>|[^)\s]+)")


def _md_escape(text):
    """Inserted text is literal: no emphasis, code, link, html, math or table markup."""
    return re.sub(r"([\\`*_\[\]<>$|])", r"\\\1", text)


def _inline_html(markdown):
    """Minimal Markdown -> HTML for a <summary> title (code, bold, italics)."""
    parts = re.split(r"(`[^`]+`)", markdown)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(f"<code>{html.escape(part[1:-1], quote=False)}</code>")
            continue
        text = html.escape(part, quote=False)
        text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
        text = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", text)
        out.append(text)
    return "".join(out)


def _unbreak_math(markdown):
    """Join the lines of every math span, outside code, so that a blockquote's ``> `` prefix
    never lands inside an equation (JupyterLab and Colab typeset math before Markdown)."""
    lines = markdown.split("\n")
    out, fence, in_display, in_inline = [], None, False, False
    for line in lines:
        m = _CODE_FENCE.match(line)
        if fence is None and m and not in_display and not in_inline:
            fence = m.group(2)
            out.append(line)
            continue
        if fence is not None:
            out.append(line)
            if re.match(rf"^[ \t]*{fence[0]}{{{len(fence)},}}[ \t]*$", line):
                fence = None
            continue
        if not line.strip():
            in_inline = False               # inline math never spans paragraphs
        joined = in_display or in_inline
        # scan the line for $$ and $ outside inline code
        for token in re.findall(r"``+|`|\\\$|\$\$|\$", re.sub(r"(`+).*?\1", "", line)):
            if token == "$$" and not in_inline:
                in_display = not in_display
            elif token == "$" and not in_display:
                in_inline = not in_inline
        if joined and out:
            out[-1] = out[-1] + " " + line.strip()
        else:
            out.append(line)
    return "\n".join(out)


class _Converter:
    """Translate one page. With ``collect=True`` (pass 1) it only records labels and numbers;
    pass 2 writes the reader notebook with every reference resolved."""

    def __init__(self, book, page, collect=False):
        self.book, self.page, self.collect = book, page, collect
        self.where = page.source.relative_to(book.root).as_posix()
        self.sections = 0
        self.depth = 0                  # > 0 inside a directive: headings are not sections
        self._pending_target = None

    # -- notebook
    def convert_notebook(self):
        import nbformat
        nb = self.page.nb
        cells = []
        for index, cell in enumerate(nb.cells):
            self.where_cell = f"{self.where}, cell {index}"
            if cell.cell_type == "markdown":
                source = self.markdown(cell.source)
                if not self.collect:
                    new = copy.deepcopy(cell)
                    new.source = source
                    cells.append(new)
            elif cell.cell_type == "code":
                if not self.collect:
                    cells.append(_folded(copy.deepcopy(cell)))  # source, outputs, metadata
                fig = _figure_options(cell)
                if fig is not None:
                    caption = self.figure(fig.get("name"), fig.get("caption", ""))
                    if caption:
                        cid = f"{cell.get('id', index)}-caption"[:64]
                        cells.append(nbformat.v4.new_markdown_cell(caption, id=cid))
            elif not self.collect:
                cells.append(copy.deepcopy(cell))
        if self._pending_target is not None:
            raise ReaderError(f"{self.where}: target ({self._pending_target})= ends the page")
        if self.collect:
            return None
        out = nbformat.v4.new_notebook(metadata=copy.deepcopy(nb.metadata), cells=cells)
        out.nbformat, out.nbformat_minor = nb.nbformat, nb.nbformat_minor
        return out

    def figure(self, name, caption):
        """Register a figure (pass 1) or return its caption line (pass 2)."""
        if self.collect:
            if name:
                number = self.book.next_number("figure", self.page)
                self.book.add_target(name, Target("figure", number, self.page, caption),
                                     self.where_cell)
            return ""
        if not caption:
            return ""
        text = self.inline(str(caption)).strip()
        if name:
            number = self.book.targets[name].number
            return f"**{_NUMFIG_FORMAT['figure'] % number}** {text}"
        return text

    # -- blocks
    def markdown(self, source):
        return "\n".join(self.blocks(source.split("\n"))).rstrip("\n")

    def blocks(self, lines):
        out, para = [], []

        def flush():
            if para:
                out.extend(self.inline("\n".join(para)).split("\n"))
                para.clear()

        def block():                      # a block that is not a heading starts
            flush()
            if self._pending_target is not None:
                out.extend(self.anchor())

        i = 0
        while i < len(lines):
            line = lines[i]
            m = _COLON_FENCE.match(line)
            if m:
                block()
                indent, colons, name, arg = m.groups()
                end = self._close(lines, i + 1, rf"^[ \t]*:{{{len(colons)},}}[ \t]*$")
                body = [ln[len(indent):] if ln.startswith(indent) else ln
                        for ln in lines[i + 1:end]]
                out.extend(indent + ln if ln else ln
                           for ln in self.directive(name, arg.strip(), body))
                i = end + 1
                continue
            m = _CODE_FENCE.match(line)
            if m:
                block()
                indent, fence, info = m.groups()
                end = self._close(lines, i + 1, rf"^[ \t]*{fence[0]}{{{len(fence)},}}[ \t]*$")
                if info.strip().startswith("{"):
                    dm = re.match(r"^\{([\w:.-]+)\}(.*)$", info.strip())
                    if not dm:
                        raise ReaderError(f"{self.where_cell}: malformed directive {info!r}")
                    body = [ln[len(indent):] if ln.startswith(indent) else ln
                            for ln in lines[i + 1:end]]
                    out.extend(indent + ln if ln else ln
                               for ln in self.directive(dm.group(1), dm.group(2).strip(),
                                                        body))
                else:
                    out.extend(lines[i:end + 1])      # code: verbatim
                i = end + 1
                continue
            if line.lstrip().startswith("$$"):
                block()
                i = self.math_block(lines, i, out)
                continue
            m = _TARGET.match(line)
            if m:
                flush()
                self._pending_target = m.group(1)
                i += 1
                continue
            m = _HEADING.match(line)
            if m:
                flush()
                out.append(self.heading(len(m.group(1)), m.group(2)))
                i += 1
                continue
            if line.startswith("%"):          # MyST comment
                flush()
                i += 1
                continue
            if re.match(r"^\+\+\+", line):
                flush()
                i += 1
                continue
            if (line.strip() and self._pending_target is not None
                    and not any(ln.strip() for ln in para)):
                block()
            para.append(line)
            i += 1
        flush()
        return out

    def anchor(self):
        """A ``(label)=`` target before anything but a heading: an HTML anchor."""
        label, self._pending_target = self._pending_target, None
        if self.collect:
            self.book.add_target(label, Target("anchor", "", self.page), self.where_cell)
        return [f'<a id="{label}"></a>', ""]

    def _close(self, lines, start, pattern):
        for j in range(start, len(lines)):
            if re.match(pattern, lines[j]):
                return j
        raise ReaderError(f"{self.where_cell}: a fence is never closed")

    def heading(self, level, text):
        number = ""
        if self.page.number is not None and self.depth == 0:
            if level == 1:
                number = f"{self.page.number}."
            elif level == 2:
                self.sections += 1
                number = f"{self.page.number}.{self.sections}."
        anchor = ""
        if self._pending_target is not None:
            label, self._pending_target = self._pending_target, None
            anchor = f' <a id="{label}"></a>'
            if self.collect:
                self.book.add_target(label, Target("section", number.rstrip("."),
                                                   self.page, text), self.where_cell)
        title = text if self.collect else self.inline(text)
        return f"{'#' * level} {number + ' ' if number else ''}{title}{anchor}"

    def math_block(self, lines, i, out):
        """``$$ ... $$ (label)`` -> ``$$ ... \\tag{N} $$``; returns the next line index."""
        indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
        first = lines[i].lstrip()[2:]
        body, label, end = [], None, None
        m = _MATH_CLOSE.match(first)
        if m and "$$" in first:
            body, label, end = [m.group(1)], m.group(2), i
        else:
            body = [first] if first.strip() else []
            for j in range(i + 1, len(lines)):
                m = _MATH_CLOSE.match(lines[j])
                if m and "$$" in lines[j]:
                    if m.group(1).strip():
                        body.append(m.group(1))
                    label, end = m.group(2), j
                    break
                body.append(lines[j])
            else:
                raise ReaderError(f"{self.where_cell}: a $$ math block is never closed")
        out.extend([indent + "$$", *body])
        if label:
            out.append(indent + rf"\tag{{{self.equation(label)}}}")
        out.append(indent + "$$")
        return end + 1

    def equation(self, label):
        if self.collect:
            number = self.book.next_number("equation", self.page)
            self.book.add_target(label, Target("equation", number, self.page),
                                 self.where_cell)
            return number
        return self.book.targets[label].number

    def directive(self, name, arg, body):
        self.depth += 1
        try:
            return self._directive(name, arg, body)
        finally:
            self.depth -= 1

    def _directive(self, name, arg, body):
        options, k = {}, 0
        if body and body[0].strip() == "---":           # a YAML option block
            end = next((j for j in range(1, len(body)) if body[j].strip() == "---"), None)
            if end is None:
                raise ReaderError(f"{self.where_cell}: unclosed option block of {{{name}}}")
            import yaml
            options = yaml.safe_load("\n".join(body[1:end])) or {}
            k = end + 1
        while k < len(body):
            m = _OPTION.match(body[k])
            if not m:
                break
            options[m.group(1)] = m.group(2) or ""
            k += 1
        content = body[k:]
        classes = str(options.get("class", "")).split()
        if name in ("admonition", "dropdown") or name in _ADMONITION_TITLES:
            if name in ("admonition", "dropdown"):
                title = arg or ("" if name == "dropdown" else "Note")
            else:
                title = _ADMONITION_TITLES[name]
                if arg:
                    content = [arg, *content]
            inner = self.blocks(content)
            if self.collect:
                return []
            title_md = self.inline(title) if title else "Details"
            if name == "dropdown" or "dropdown" in classes:
                return ["<details>", f"<summary>{_inline_html(title_md)}</summary>", "",
                        *inner, "", "</details>"]
            quoted = _unbreak_math("\n".join(inner)).split("\n")
            return [f"> **{title_md}**", ">",
                    *[f"> {ln}" if ln.strip() else ">" for ln in quoted]]
        if name == "math":
            label = options.get("label") or options.get("name")
            out = ["$$", *content]
            if label:
                out.append(rf"\tag{{{self.equation(label)}}}")
            return [*out, "$$"]
        if name in ("code-block", "code", "code-cell", "sourcecode"):
            if name == "code-cell":
                raise ReaderError(f"{self.where_cell}: {{code-cell}} in a notebook")
            return [f"```{arg}", *content, "```"]
        if name == "figure":
            fig_name = options.get("name")
            caption = "\n".join(content).strip()
            if self.collect:
                self.figure(fig_name, caption)
                return []
            target = self._link_target(arg)
            alt = options.get("alt", "")
            return [f"![{_md_escape(alt)}]({target})", "", self.figure(fig_name, caption)]
        if name == "image":
            return [f"![{_md_escape(options.get('alt', ''))}]({self._link_target(arg)})"]
        if name == "bibliography":
            return [] if self.collect else [self.book.bib.markdown()]
        raise ReaderError(f"{self.where_cell}: directive {{{name}}} is not supported by "
                          "the reader translation (deepstock_lite/reader.py)")

    # -- inline
    def inline(self, text):
        """Resolve roles and rewrite links, leaving code spans alone."""
        out, i = [], 0
        while True:
            j = text.find("`", i)
            if j < 0:
                out.append(self._links(text[i:]))
                break
            run = len(re.match(r"`+", text[j:]).group(0))
            if j > 0 and text[j - 1] == "\\":
                out.append(self._links(text[i:j + 1]))
                i = j + 1
                continue
            close = re.compile(rf"(?<!`)`{{{run}}}(?!`)").search(text, j + run)
            if close is None:                      # a lone backtick run: literal
                out.append(self._links(text[i:j + run]))
                i = j + run
                continue
            before = text[i:j]
            content = text[j + run:close.start()]
            role = _ROLE_NAME.search(before)
            if role:
                out.append(self._links(before[:role.start()]))
                prefix = "".join(out).rsplit("\n", 1)[-1]
                following = text[close.end():close.end() + 1]
                out.append(self.role(role.group(1), content, prefix, following))
            else:
                out.append(self._links(before))
                out.append(text[j:close.end()])   # a code span: verbatim
            i = close.end()
        return "".join(out)

    def _links(self, text):
        return _LINK.sub(lambda m: m.group(1) + self._link_target(m.group(2)), text)

    def _link_target(self, target):
        bracketed = target.startswith("<") and target.endswith(">")
        raw = target[1:-1] if bracketed else target
        if re.match(r"^[a-z][\w+.-]*:", raw) or raw.startswith(("#", "/")):
            return target
        path, _, frag = raw.partition("#")
        here = self.page.source.parent
        resolved = (here / path).resolve()
        for page in self.book.pages:
            if resolved.with_suffix("") == page.source.resolve().with_suffix("") \
                    and resolved.suffix in ("", ".md", ".ipynb"):
                new = page.out_name + (f"#{frag}" if frag else "")
                return f"<{new}>" if bracketed else new
        # reader/ sits beside the page's folder: keep what resolves the same from there
        reader = self.book.root / READER_DIR
        if path and not (reader / path).exists() and resolved.exists():
            import os
            new = os.path.relpath(resolved, reader).replace(os.sep, "/")
            new += f"#{frag}" if frag else ""
            return f"<{new}>" if bracketed else new
        return target

    def role(self, name, content, prefix, following):
        if self.collect:
            return ""
        where = self.where_cell
        if name in ("glue:text", "glue", "glue:", "glue:any"):
            value = self.glue(name, content)
            # a value at the start of a line must not start a list ("12. " or "- ")
            if not prefix.strip() and re.match(r"^(\d+[.)]|[-+*])(\s|$)", value + following):
                value = re.sub(r"^(\d+)([.)])", r"\1\\\2", value)
                value = re.sub(r"^([-+*])", r"\\\1", value)
            return value
        if name == "numref":
            label, fmt = self._label_and_text(content)
            target = self._target(label)
            if target.kind not in _NUMFIG_FORMAT or not target.number:
                raise ReaderError(f"{where}: {{numref}} to {label!r}, which has no number")
            number = target.number
            if fmt:
                return fmt.replace("{number}", number).replace("%s", number) \
                    .replace("{name}", self.inline(target.title))
            return _NUMFIG_FORMAT[target.kind] % number
        if name == "eq":
            return f"({self._target(content.strip()).number})"
        if name == "ref":
            label, text = self._label_and_text(content)
            target = self._target(label)
            text = text or self.inline(target.title)
            if target.kind == "section":
                doc = "" if target.page is self.page else target.page.out_name
                return f"[{text}]({doc}#{label})"
            return text
        if name == "doc":
            path, text = self._label_and_text(content)
            link = self._link_target(path)
            page = next((p for p in self.book.pages if p.out_name == link), None)
            if page is None:
                raise ReaderError(f"{where}: {{doc}} to {path!r}, not a page of the book")
            return f"[{text or _md_escape(_page_title(page))}]({link})"
        if name.startswith("cite"):
            cite = self.book.bib.cite(name, content, where)
            # "[...]" followed by "(" or "[" would be a link, "[...]:" opening a line a
            # link definition
            if following in ("(", "[") or (following == ":" and not prefix.strip()):
                cite = cite.replace("[", r"\[").replace("]", r"\]")
            return cite
        if name == "math":
            return f"${content}$"
        if name in ("sub", "sup", "kbd"):
            return f"<{name}>{html.escape(content, quote=False)}</{name}>"
        if name == "abbr":
            return _md_escape(re.sub(r"\s*\(.*\)\s*$", "", content))
        raise ReaderError(f"{where}: role {{{name}}} is not supported by the reader "
                          "translation (deepstock_lite/reader.py)")

    @staticmethod
    def _label_and_text(content):
        m = re.match(r"^(.*?)\s*<([^<>]+)>$", content.strip(), re.S)
        if m:
            return m.group(2).strip(), m.group(1).strip()
        return content.strip(), ""

    def _target(self, label):
        if label not in self.book.targets:
            raise ReaderError(f"{self.where_cell}: reference to an unknown label {label!r}")
        return self.book.targets[label]

    def glue(self, name, content):
        if name == "glue:text":
            key, sep, fmt = content.rpartition(":")
            if not sep:
                key, fmt = content, "s"
        else:
            key, fmt = content, None
        page = self.page
        if "::" in key:
            doc, key = key.split("::", 1)
            resolved = (self.page.source.parent / doc).resolve().with_suffix("")
            page = next((p for p in self.book.pages
                         if p.source.resolve().with_suffix("") == resolved), None)
            if page is None:
                raise ReaderError(f"{self.where_cell}: glue from unknown page {doc!r}")
        data = page.glue.get(key)
        if data is None:
            raise ReaderError(f"{self.where_cell}: glue name {key!r} is stored by no output "
                              "(re-execute the chapter)")
        if "text/plain" not in data:
            raise ReaderError(f"{self.where_cell}: glue {key!r} has no text/plain; only "
                              "text glue is supported")
        plain = data["text/plain"]
        plain = "".join(plain) if isinstance(plain, list) else plain
        if fmt is None:                       # {glue}: the text/plain output as it is
            return _md_escape(plain)
        try:
            return _md_escape(format_plain_text(plain, fmt))
        except Exception as exc:
            raise ReaderError(f"{self.where_cell}: cannot format glue {key!r} with {fmt!r}: "
                              f"{exc}") from None


def format_plain_text(text, fmt_spec):
    """A glued ``text/plain`` formatted with a Python format spec, exactly as myst-nb's
    ``myst_nb.core.variables.format_plain_text`` does (tests compare the two)."""
    from ast import literal_eval

    try:
        value = literal_eval(text)
    except (SyntaxError, ValueError):
        value = text
    if fmt_spec == "":
        return str(value)
    type_char = fmt_spec[-1]
    if type_char == "s":
        value = str(value)
    elif type_char in ("b", "c", "d", "o", "x", "X"):
        value = int(value)
    elif type_char in ("e", "E", "f", "F", "g", "G", "n", "%"):
        value = float(value)
    return format(value, fmt_spec)


def _page_title(page):
    for cell in page.nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^# (.+)$", cell.source, re.M)
            if m:
                return m.group(1).strip()
    return page.stem


# ---------------------------------------------------------------------------------- output
def render_all(root):
    """``{reader file name: notebook text}`` for every page of the table of contents."""
    import nbformat

    book = Book(root)
    out = {}
    for page in book.pages:
        nb = _Converter(book, page).convert_notebook()
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
