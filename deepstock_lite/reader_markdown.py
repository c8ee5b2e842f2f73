"""MyST -> Markdown for the reader notebooks (:mod:`deepstock_lite.reader`), block by block:
:class:`Converter` translates one page (its cells, headings, math blocks, directives and
admonitions; the inline half, roles and links, is
:class:`~deepstock_lite.reader_inline.InlineTranslation`), and :class:`Book` holds every page
with its labels and numbers, found by a first pass of the converter over the whole book.
"""
from __future__ import annotations

import copy
import html
import re
from pathlib import Path

from .reader_inline import InlineTranslation, md_escape
from .reader_pages import (NUMFIG_FORMAT, Bibliography, ReaderError, Target, figure_options,
                           folded, load_page, pages, read_yaml)

__all__ = ["Converter", "Book"]

# Sphinx's default admonition titles
_ADMONITION_TITLES = {"attention": "Attention", "caution": "Caution", "danger": "Danger",
                      "error": "Error", "hint": "Hint", "important": "Important",
                      "note": "Note", "seealso": "See also", "tip": "Tip",
                      "warning": "Warning"}


# ------------------------------------------------------------------------------ numbering
class Book:
    """All pages, their labels and numbers, the glue data and the bibliography."""

    def __init__(self, root):
        self.root = Path(root)
        self.pages = pages(self.root)
        for page in self.pages:
            load_page(page)
        config = read_yaml(self.root / "_config.yml") or {}
        self.bib = Bibliography([self.root / p for p in config.get("bibtex_bibfiles", [])])
        self.targets = {}
        self._counters = {}
        for page in self.pages:      # pass 1: number everything, in the order of the toc
            Converter(self, page, collect=True).convert_notebook()

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


class Converter(InlineTranslation):
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
                    cells.append(folded(copy.deepcopy(cell)))  # source, outputs, metadata
                fig = figure_options(cell)
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
            return f"**{NUMFIG_FORMAT['figure'] % number}** {text}"
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
            target = self.link_target(arg)
            alt = options.get("alt", "")
            return [f"![{md_escape(alt)}]({target})", "", self.figure(fig_name, caption)]
        if name == "image":
            return [f"![{md_escape(options.get('alt', ''))}]({self.link_target(arg)})"]
        if name == "bibliography":
            return [] if self.collect else [self.book.bib.markdown()]
        raise ReaderError(f"{self.where_cell}: directive {{{name}}} is not supported by "
                          "the reader translation (deepstock_lite/reader_markdown.py)")
