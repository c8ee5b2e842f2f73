"""A rule of the design: no file of ``deepstock_lite/`` over 400 lines and no function over 80
(its docstring included), unless a comment says why.

* A file may be longer when it holds a line starting with ``# Longer than 400 lines:`` and a
  reason (e.g. an algorithm kept in one file to be read top to bottom).
* A function may be longer when its ``def`` line (or another line of its signature) carries a
  comment ``# longer than 80 lines:`` and a reason.

A function's length is ``end_lineno - lineno + 1`` of its ``def`` (decorators not counted);
methods and nested functions count on their own.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "deepstock_lite"
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 80
# the exemptions: the marker and a reason after it
FILE_REASON = re.compile(r"^# Longer than 400 lines:\s*\S")
FUNCTION_REASON = re.compile(r"#.*longer than 80 lines:\s*\S")


def _problems(text, name):
    """What in the source ``text`` (of file ``name``) breaks the rule, one line each."""
    lines = text.splitlines()
    found = []
    if len(lines) > MAX_FILE_LINES and not any(FILE_REASON.match(ln) for ln in lines):
        found.append(f"{name}: {len(lines)} lines (more than {MAX_FILE_LINES}; split it, or "
                     f"say why in a line '# Longer than 400 lines: <reason>')")
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        length = node.end_lineno - node.lineno + 1
        # the signature: from the def line to the line before the body
        header = lines[node.lineno - 1:max(node.body[0].lineno - 1, node.lineno)]
        if length > MAX_FUNCTION_LINES and not any(FUNCTION_REASON.search(ln)
                                                   for ln in header):
            found.append(f"{name}:{node.lineno}: {node.name} has {length} lines (more than "
                         f"{MAX_FUNCTION_LINES}; extract a helper, or say why in a comment "
                         f"'# longer than 80 lines: <reason>' on its def line)")
    return found


FILES = sorted(PACKAGE.rglob("*.py"))


def test_the_walk_sees_the_package():
    names = {p.relative_to(PACKAGE).as_posix() for p in FILES}
    assert {"__init__.py", "reader.py", "core/simulator.py", "rl/ddpg.py",
            "classical/lost_sales/model.py"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_files_and_functions_are_short(path):
    found = _problems(path.read_text(encoding="utf-8"), path.relative_to(PACKAGE).as_posix())
    assert not found, "\n".join(found)


def _function(n_lines, comment=""):
    body = "".join(f"    x = {i}\n" for i in range(n_lines - 1))
    return f"def f():{comment}\n{body}"


@pytest.mark.parametrize("text, n_found", [
    (_function(80), 0),
    (_function(81), 1),
    (_function(81, "  # longer than 80 lines: one table of cases"), 0),
    (_function(81, "  # longer than 80 lines:"), 1),                  # no reason given
    ("x = 1\n" * 401, 1),
    ("# Longer than 400 lines: one algorithm read top to bottom\n" + "x = 1\n" * 400, 0),
    ("# Longer than 400 lines:\n" + "x = 1\n" * 400, 1),              # no reason given
    ("def g(a,\n      b):  # longer than 80 lines: a long signature\n"
     + "".join(f"    x = {i}\n" for i in range(80)), 0),
])
def test_the_check_finds_what_it_should(text, n_found):
    assert len(_problems(text, "example.py")) == n_found
