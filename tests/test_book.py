"""The book's conventions: README ↔ CI, chapter structure, one repository URL."""
import subprocess
from pathlib import Path

from deepstock_lite.book import check, chapters

ROOT = Path(__file__).resolve().parents[1]


def readme_commands():
    lines, in_block, seen = [], False, False
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("## Quick start"):
            seen = True
        elif seen and line.startswith("```bash"):
            in_block = True
        elif in_block and line.startswith("```"):
            break
        elif in_block and line.strip():
            lines.append(line.strip())
    return lines


def test_readme_has_exactly_the_two_commands():
    cmds = readme_commands()
    assert len(cmds) == 2
    assert "pip install -r requirements.txt" in cmds[0] and "jupyter-book build ." in cmds[0]
    assert cmds[1] == "pytest"


def test_ci_reads_the_same_commands():
    awk = "/^## Quick start/{q=1} q&&/^```bash/{f=1;next} f&&/^```/{exit} f&&NF"
    out = subprocess.run(["awk", awk, "README.md"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert [c.strip() for c in out] == readme_commands()
    assert awk in (ROOT / ".ci" / "run").read_text()


def test_requirements_pin_jupyter_book_1_and_leave_colab_packages_free():
    req = (ROOT / "requirements.txt").read_text()
    assert "jupyter-book>=1.0.4,<2" in req
    for line in req.splitlines():
        name = line.split(">")[0].split("=")[0].split("<")[0].strip()
        if name in {"torch", "numpy", "ipywidgets"}:
            assert "<" not in line and "==" not in line, line
    import tomllib
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert {"torch", "numpy"} <= set(deps)  # unpinned in the package


def test_every_chapter_follows_the_conventions():
    assert len(chapters(ROOT)) >= 3
    assert check(ROOT) == []


def test_check_catches_a_hand_typed_result(tmp_path):
    """A decimal or percentage typed in prose is flagged; glued, cited-literal, math and code
    numbers are not."""
    from deepstock_lite.book import prose_numbers

    md = ("The gap is 28.1% and the cost 4.617, while {glue:text}`gap:.1%` is glued, "
          "$x = 0.5$ is math, `lr=3e-4, 0.99` is code and [a link](https://x.org/1.5) too.\n"
          "```python\nprint(0.25)\n```\n$$\ny = 2.5\n$$\n:width: 80%\nThe 10th step.")
    assert prose_numbers(md) == ["28.1%", "4.617"]


def test_check_names_a_broken_notebook(tmp_path):
    """A corrupted notebook is reported by name with a one-line reason, not a traceback."""
    import shutil

    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "01_newsvendor.ipynb").write_text("{not json")
    (tmp_path / "book" / "02_base_stock.ipynb").write_text('{"cells": 3}')
    problems = check(tmp_path)
    for stem in ("01_newsvendor", "02_base_stock"):
        line = [p for p in problems if stem in p]
        assert line and "not a readable notebook" in line[0] and "\n" not in line[0]



def test_notation_check_flags_a_second_action_range_and_replaced_letters():
    """One notation: an action stated in another range than the notation table's, and the
    letters the table replaced, are flagged in math only; pending chapters skip one rule."""
    from deepstock_lite.book import action_ranges, notation_clashes

    table = ("| Symbol | Meaning |\n|---|---|\n| $\\tilde u \\in [-1, 1]^k$ | agent's action |\n"
             "| $u \\in [0, 1]^k$ | unit action |\n| $a \\in [0, a_{\\max}]$ | raw action |\n")
    ranges = action_ranges(table)
    assert ranges == {"ũ": "-1,1", "u": "0,1", "a": "0,a_{\\max}"}
    good = ("The actor outputs $\\tilde u \\in [-1, 1]$, the decoder reads\n"
            "$u = (\\tilde u + 1)/2 \\in [0, 1]$ and Part II scales it to\n"
            "$a = a_{\\max} u \\in [0, a_{\\max}]$; $u_i \\in [0,1]$, $H_t(y)$, $H_\\kappa$,\n"
            "$\\mathcal H(\\pi_\\theta)$, $\\Pr(D = 0)$, $S = \\mu + z\\sigma$, $N \\cdot T$,\n"
            "$\\mathrm{tot}(I_t)$ and $\\mathrm{tot}(\\tilde I)$ are fine, and so are `P(x)`,\n"
            "`u in [-1, 1]` and\n"
            "```python\nP(3)  # u \\in [-1, 1]\n```\n")
    assert notation_clashes(good, ranges) == []
    bad = {"every agent outputs $u \\in [-1, 1]$": "u is stated in [-1, 1]",
           "an action $\\tilde u \\in [0, 1]$": "\\tilde u is stated in [0, 1]",
           "inline math on two lines, $u \\in\n[-1, 1]$": "u is stated in [-1, 1]",
           "the actor $\\mu_\\phi(s)$": "a policy is \\pi",
           "$$\nQ^{\\mu}(s, u)\n$$": "a policy is \\pi",
           "$q = \\max(a - \\mathrm{tot}(s), 0)$": "\\mathrm{tot}(I)",
           "$\\widetilde{\\mathrm{pos}}$": "\\mathrm{tot}(I)",
           "$p_0 = P(D = 0)$": "\\Pr",
           "$S = \\mu + k\\sigma$": "safety factor is z",
           "$N \\cdot H$ demands": "horizon is T"}
    for md, message in bad.items():
        found = notation_clashes(md, ranges)
        assert len(found) == 1 and message in found[0], (md, found)
    # every chapter follows the table: no rule is skipped for any chapter
    assert notation_clashes("$a \\in [-1, 1]$", ranges)
    assert notation_clashes("$P(D = 0)$", ranges)


def test_check_reads_the_notation_table_and_names_a_clash(tmp_path):
    """`book check` takes the ranges from the introduction's table and reports a chapter that
    states another one; a table without the action rows is itself reported."""
    import json
    import shutil

    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "book").mkdir()
    shutil.copy(ROOT / "book" / "00_introduction.ipynb", tmp_path / "book")
    mdp = json.loads((ROOT / "book" / "05_inventory_mdp.ipynb").read_text())
    cell = next(c for c in mdp["cells"] if c["cell_type"] == "markdown")
    cell["source"] = list(cell["source"]) + ["\n", "Every agent outputs $u \\in [-1, 1]$.\n"]
    (tmp_path / "book" / "05_inventory_mdp.ipynb").write_text(json.dumps(mdp))
    problems = [p for p in check(tmp_path) if "notation" in p]
    assert len(problems) == 1 and problems[0].startswith("book/05_inventory_mdp.ipynb")
    assert "u is stated in [-1, 1]" in problems[0]

    intro = json.loads((ROOT / "book" / "00_introduction.ipynb").read_text())
    for c in intro["cells"]:
        c["source"] = [ln for ln in c["source"] if not ln.startswith("| $a \\in")]
    (tmp_path / "book" / "00_introduction.ipynb").write_text(json.dumps(intro))
    problems = check(tmp_path)
    assert any("00_introduction" in p and "notation table must state" in p for p in problems)
