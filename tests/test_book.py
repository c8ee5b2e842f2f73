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

