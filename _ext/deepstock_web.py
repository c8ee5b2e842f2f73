"""Sphinx tweaks for the web book (loaded through ``sphinx: local_extensions`` in _config.yml).

1. Test plumbing stays off the page: lines that are only an nbval marker
   (``# NBVAL_IGNORE_OUTPUT``, ``# NBVAL_SKIP``, ...) are removed from the code cells as rendered,
   not from the notebooks (nbval still reads them there).
2. Images keep their aspect ratio: the fixed pixel heights of retina outputs are dropped.
3. MathJax is served from the build: ``_static/mathjax/`` holds MathJax 3's ``tex-chtml``
   bundle and its fonts (Apache-2.0, see ``_static/mathjax/LICENSE``) and ``mathjax_path``
   points to it, so that ``_build/html`` renders equations offline, opened from disk. Jupyter
   Book adds every ``.js`` file under ``_static`` to every page; the MathJax files must not be
   (MathJax loads its own extensions on demand), so they are taken out of ``html_js_files``.
"""
from __future__ import annotations

import re

from docutils import nodes

NBVAL_LINE = re.compile(r"^[ \t]*#[ \t]*NBVAL_[A-Z_]+[^\n]*(\n|$)", re.MULTILINE)


def strip_nbval(text: str) -> str:
    """``text`` without the lines that hold only an nbval marker comment."""
    return NBVAL_LINE.sub("", text)


def _strip_markers(app, doctree):
    for box in list(doctree.findall(nodes.container)):
        if box.get("nb_element") != "cell_code_source":
            continue
        for block in list(box.findall(nodes.literal_block)):
            text = block.astext()
            new = strip_nbval(text)
            if new == text:
                continue
            if not new.strip():
                box.parent.remove(box)
                break
            block.rawsource = new
            block.children = []
            block += nodes.Text(new)


def _free_image_heights(app, doctree):
    """IPython's retina PNGs carry their pixel width *and* height; the theme narrows the width
    to the column and the fixed height then squashes the figure. Keep the width (the theme caps
    it at 100%) and drop the height, so every image keeps its aspect ratio at every width."""
    for image in doctree.findall(nodes.image):
        image.attributes.pop("height", None)


def _drop_mathjax_from_js_files(app, config):
    files = getattr(config, "html_js_files", None) or []
    keep = []
    for entry in files:
        name = entry[0] if isinstance(entry, (tuple, list)) else entry
        if str(name).replace("\\", "/").startswith("mathjax/"):
            continue
        keep.append(entry)
    config.html_js_files = keep


def setup(app):
    app.connect("config-inited", _drop_mathjax_from_js_files)
    app.connect("doctree-read", _strip_markers)
    app.connect("doctree-read", _free_image_heights)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
