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
