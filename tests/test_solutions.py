"""Every exercise's worked solution that contains code is run here, so no answer rots.

A chapter writes each solution as a dropdown admonition whose title starts with "Solution"::

    :::{admonition} Solution
    :class: dropdown
    Some words, then the code a student would run:
    ```python
    from deepstock_lite.classical import optimal_newsvendor
    ...
    assert ...
    ```
    :::

Each ``python`` block of a solution runs in a fresh namespace (blocks of one solution share
it, in order), with matplotlib drawing off screen. A solution proves its answer with ``assert``s.
"""
from __future__ import annotations

import re

import matplotlib
import pytest

from deepstock_lite.book import chapters, find_root

matplotlib.use("Agg")

ROOT = find_root(__file__)
# ::: or :::: fences; the title line names the admonition kind
_ADMONITION = re.compile(r"^(?P<fence>:{3,})\{admonition\}[ \t]*(?P<title>[^\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$",
                         re.S | re.M)
_CODE = re.compile(r"^```(?:python|\{code-cell\}[^\n]*|py)[ \t]*\n(?P<code>.*?)^```[ \t]*$", re.S | re.M)


def solutions(path):
    """(exercise label, [code blocks]) for each solution dropdown of a chapter."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    found = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for m in _ADMONITION.finditer(cell.source):
            if not m.group("title").strip().lower().startswith("solution"):
                continue
            blocks = [c.group("code") for c in _CODE.finditer(m.group("body"))]
            found.append((m.group("title").strip(), blocks))
    return found


def _cases():
    cases = []
    for path in chapters(ROOT):
        for i, (title, blocks) in enumerate(solutions(path)):
            if blocks:
                cases.append(pytest.param(path, i, blocks, id=f"{path.stem}-{i + 1}"))
    return cases


def test_solutions_are_found():
    """The extraction works on the convention above (a guard against a silent empty suite)."""
    assert len(_cases()) >= 1


@pytest.mark.parametrize("path,index,blocks", _cases())
def test_solution_runs(path, index, blocks, tmp_path, monkeypatch):
    import matplotlib.pyplot as plt
    import torch

    torch.set_num_threads(1)
    monkeypatch.chdir(tmp_path)              # a solution that writes files writes them here
    namespace = {"__name__": f"solution_{path.stem}_{index}"}
    try:
        for code in blocks:
            exec(compile(code, f"{path.name}: solution {index + 1}", "exec"), namespace)
    finally:
        plt.close("all")


def test_every_exercise_has_a_solution():
    """Each chapter's exercises section has as many solution dropdowns as exercises."""
    import nbformat

    missing = []
    for path in chapters(ROOT):
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        part = re.split(r"^## Exercises[^\n]*$", text, maxsplit=1, flags=re.M)
        if len(part) < 2:
            continue
        section = re.split(r"^## ", part[1], maxsplit=1, flags=re.M)[0]
        # exercises are a numbered list at the start of a line
        n_ex = len(re.findall(r"^\d+\. ", section, flags=re.M))
        n_sol = sum(1 for m in _ADMONITION.finditer(section)
                    if m.group("title").strip().lower().startswith("solution"))
        n_hint = sum(1 for m in _ADMONITION.finditer(section)
                     if m.group("title").strip().lower().startswith("hint"))
        if n_sol < n_ex or n_hint < n_ex:
            missing.append(f"{path.stem}: {n_ex} exercises, {n_hint} hints, {n_sol} solutions")
    assert not missing, "\n".join(missing)
