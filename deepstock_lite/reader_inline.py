"""Inline MyST -> Markdown for the reader notebooks (:mod:`deepstock_lite.reader`): the roles
(``{glue:text}``, ``{numref}``, ``{eq}``, ``{ref}``, ``{doc}``, ``{cite}``, ...) resolved
against the book's targets, glue data and bibliography, links to the book's pages rewritten to
reader notebooks, and glued values formatted as myst-nb formats them
(:func:`format_plain_text`).
"""
from __future__ import annotations

import html
import re

from .reader_pages import NUMFIG_FORMAT, READER_DIR, ReaderError

__all__ = ["InlineTranslation", "md_escape", "format_plain_text"]

_ROLE_NAME = re.compile(r"\{([A-Za-z][\w:.-]*)\}$")
_LINK = re.compile(r"(\]\()(<[^>]*>|[^)\s]+)")


def md_escape(text):
    """Inserted text is literal: no emphasis, code, link, html, math or table markup."""
    return re.sub(r"([\\`*_\[\]<>$|])", r"\\\1", text)


class InlineTranslation:
    """The inline half of :class:`~deepstock_lite.reader_markdown.Converter`: roles and links.
    It reads the converter's ``book``, ``page``, ``collect`` (pass 1: record, write nothing)
    and ``where_cell`` (the location errors name)."""

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
        return _LINK.sub(lambda m: m.group(1) + self.link_target(m.group(2)), text)

    def link_target(self, target):
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
            if target.kind not in NUMFIG_FORMAT or not target.number:
                raise ReaderError(f"{where}: {{numref}} to {label!r}, which has no number")
            number = target.number
            if fmt:
                return fmt.replace("{number}", number).replace("%s", number) \
                    .replace("{name}", self.inline(target.title))
            return NUMFIG_FORMAT[target.kind] % number
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
            link = self.link_target(path)
            page = next((p for p in self.book.pages if p.out_name == link), None)
            if page is None:
                raise ReaderError(f"{where}: {{doc}} to {path!r}, not a page of the book")
            return f"[{text or md_escape(_page_title(page))}]({link})"
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
            return md_escape(re.sub(r"\s*\(.*\)\s*$", "", content))
        raise ReaderError(f"{where}: role {{{name}}} is not supported by the reader "
                          "translation (deepstock_lite/reader_inline.py)")

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
            return md_escape(plain)
        try:
            return md_escape(format_plain_text(plain, fmt))
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
