"""The calling convention of ``deepstock_lite.classical`` and how chapters import it.

* Every public callable of the classical package takes costs (``h``, ``b``, ``p``, ``K``,
  ``c``), lead times and review periods (``L``, ``P``) keyword-only.
* The demand is the one positional argument of a function that needs it, given one way: a
  demand law (no ``mean=``/``pmf=``/``mu=``/``sigma=`` shortcuts).
* Chapters import from the subpackages themselves (``deepstock_lite.classical``,
  ``deepstock_lite.core``, ``deepstock_lite.rl``, ``deepstock_lite.paper``, ...), never from
  their modules, and never an underscore (private) name from anywhere in ``deepstock_lite``.
* (The sizes of files and functions, for the whole package: ``tests/test_sizes.py``.)
"""
from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import json
import pkgutil
import re
from pathlib import Path

import pytest

import deepstock_lite.classical as C

ROOT = Path(__file__).resolve().parents[1]
COSTS_AND_LEAD_TIMES = {"h", "b", "p", "K", "c", "L", "P"}
DEMAND_SHORTCUTS = {"mean", "pmf", "mu", "sigma", "laws", "train_demand"}
# callables with more than one positional argument, and why
SEVERAL_POSITIONAL = {
    "LookupPolicy": "built by the solvers from their private state space and order table",
    "Setting1Solution.order": "the policy's (day, inventory) interface",
}


def _classical_modules():
    mods = [C]
    for info in pkgutil.walk_packages(C.__path__, prefix=C.__name__ + "."):
        mods.append(importlib.import_module(info.name))
    return mods


def _public_callables():
    """(qualified name, callable) for every public function, class and public method of the
    classical package: the names of ``deepstock_lite.classical.__all__`` and of each module's
    ``__all__``."""
    seen, out = set(), []
    for mod in _classical_modules():
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if not callable(obj) or id(obj) in seen:
                continue
            seen.add(id(obj))
            out.append((f"{obj.__module__}.{name}", obj))
            if inspect.isclass(obj) and obj.__module__.startswith(C.__name__):
                for meth_name, meth in vars(obj).items():
                    if not meth_name.startswith("_") and inspect.isfunction(meth):
                        out.append((f"{obj.__module__}.{name}.{meth_name}", meth))
    return out


CALLABLES = _public_callables()


def test_the_inspection_sees_the_whole_api():
    names = {q.rsplit(".", 1)[-1] for q, _ in CALLABLES}
    for expected in ("solve_lost_sales", "optimal_s_S", "optimal_base_stock",
                     "newsvendor_cost", "solve_setting1_dp", "memory_estimate",
                     "LostSalesModel", "SSResult", "lead_time_law", "exact_loss"):
        assert expected in names
    assert len(CALLABLES) > 50


@pytest.mark.parametrize("qualname, obj", CALLABLES, ids=[q for q, _ in CALLABLES])
def test_costs_and_lead_times_are_keyword_only(qualname, obj):
    params = inspect.signature(obj).parameters.values()
    bad = [p.name for p in params
           if p.name in COSTS_AND_LEAD_TIMES and p.kind is not inspect.Parameter.KEYWORD_ONLY]
    assert not bad, f"{qualname}: {bad} must be keyword-only (after *)"


# the functions and classes that take arguments (the results are records: all keyword-only)
TAKERS = [(q, o) for q, o in CALLABLES
          if o.__module__.startswith(C.__name__) and not dataclasses.is_dataclass(o)]


@pytest.mark.parametrize("qualname, obj", TAKERS, ids=[q for q, _ in TAKERS])
def test_demand_is_the_one_positional_argument(qualname, obj):
    params = list(inspect.signature(obj).parameters.values())
    positional = [p.name for p in params
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    if positional[:1] == ["self"]:
        positional = positional[1:]
    assert len(positional) <= 1 or qualname.endswith(tuple(SEVERAL_POSITIONAL)), (
        f"{qualname}: one positional argument at most, got {positional}")
    names = {p.name for p in params}
    assert not names & DEMAND_SHORTCUTS, (
        f"{qualname}: pass the demand as a law, not {sorted(names & DEMAND_SHORTCUTS)}")
    if "demand" in names:
        assert positional == ["demand"], f"{qualname}: demand must come first, positionally"


def test_a_positional_cost_is_caught():
    """The check above fails on the old style (h, b positional-or-keyword)."""
    def old(S, mean, h, b, L=0):
        return S
    params = inspect.signature(old).parameters.values()
    assert {p.name for p in params if p.name in COSTS_AND_LEAD_TIMES
            and p.kind is not p.KEYWORD_ONLY} == {"h", "b", "L"}


# -- chapters ---------------------------------------------------------------------------------
def _chapter_code():
    """(chapter, where, code) for every code cell and every ``python`` block of a markdown
    cell (the worked solutions), with IPython magics and shell lines removed."""
    out = []
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for i, cell in enumerate(nb["cells"]):
            src = "".join(cell["source"])
            if cell["cell_type"] == "code":
                blocks = [src]
            elif cell["cell_type"] == "markdown":
                blocks = re.findall(r"^```python[ \t]*\n(.*?)^```", src, re.S | re.M)
            else:
                continue
            for code in blocks:
                code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                                 for line in code.splitlines())
                out.append((path.name, f"cell {i}", code))
    return out


def _bad_imports(code):
    """The imports of ``code`` that break the chapters' rules."""
    bad = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            mod, names = node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            mod, names = None, [a.name for a in node.names]
        else:
            continue
        modules = [mod] if mod else names
        for m in modules:
            if not m.split(".")[0] == "deepstock_lite":
                continue
            if any(part.startswith("_") for part in m.split(".")):
                bad.append(f"private module {m}")
            parts = m.split(".")
            if len(parts) > 2:      # below a subpackage: the chapters use its __init__
                bad.append(f"{m}: import from {'.'.join(parts[:2])} instead")
        if mod and mod.split(".")[0] == "deepstock_lite":
            bad += [f"underscore name {mod}.{n}" for n in names if n.startswith("_")]
    return bad


CHAPTER_CODE = _chapter_code()


def test_chapters_import_no_private_name_and_only_from_subpackage_inits():
    problems = [f"{ch} {where}: {b}" for ch, where, code in CHAPTER_CODE
                for b in _bad_imports(code)]
    assert not problems, "\n".join(problems)
    assert len({ch for ch, _, _ in CHAPTER_CODE}) >= 13


@pytest.mark.parametrize("code, n_bad", [
    ("from deepstock_lite.classical import solve_lost_sales", 0),
    ("from deepstock_lite.classical.lost_sales import _Space", 2),
    ("from deepstock_lite.classical.s_S import optimal_s_S", 1),
    ("from deepstock_lite.core.distributions import _real_levels", 2),
    ("from deepstock_lite.rl.instances import make_envs", 1),
    ("from deepstock_lite.rl import make_envs, ddpg", 0),
    ("import deepstock_lite.classical.lost_sales.state_space as ss", 1),
    ("from deepstock_lite.paper import _private_helper", 1),
    ("from numpy import _globals", 0),
])
def test_the_import_check_catches_bad_imports(code, n_bad):
    assert len(_bad_imports(code)) == n_bad


def test_no_chapter_reads_a_private_name_of_the_package():
    """Chapter code (cells and solution blocks) uses the package's public names: no
    ``module._name`` or ``obj._attr`` read (a class the chapter defines may use ``self._``)."""
    found = [f"{chapter} {where}: {m.group(0)}" for chapter, where, code in _chapter_code()
             for m in re.finditer(r"\b([A-Za-z_][A-Za-z0-9_]*)\.(_[A-Za-z][A-Za-z0-9_]*)\b",
                                  code)
             if m.group(1) != "self" and not m.group(2).startswith("__")]
    assert not found, found
