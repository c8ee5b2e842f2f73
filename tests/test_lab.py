"""The experiment lab (``python -m lab``): one command line for every experiment, outside the
installed package; every command a results file, a chapter or the README records parses."""
import argparse
import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lab.__main__ import COMMANDS, WHAT, module_and_argv
from lab.budgets import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "deepstock_lite" / "data" / "results"


class _Parsed(Exception):
    pass


def parses(command, monkeypatch):
    """Parse ``command`` ("python -m lab <experiment> ...") with the experiment's own parser,
    stopping before anything runs; argparse's error (SystemExit) if it does not parse."""
    words = command.split()
    assert words[:3] == ["python", "-m", "lab"], command
    assert words[3] in COMMANDS, f"unknown experiment in {command!r}"
    module, argv = module_and_argv(words[3:])
    real = argparse.ArgumentParser.parse_args

    def parse_only(self, args=None, namespace=None):
        real(self, args, namespace)
        raise _Parsed
    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_only)
    with pytest.raises(_Parsed):
        module.main(argv)


def _recorded_commands():
    """Every command a committed results file records (``command``, ``commands``, and the
    sb3 study's ``meta.command``)."""
    out = []
    for path in sorted(RESULTS.glob("*.json")):
        data = json.loads(path.read_text())
        meta = data.get("meta", {}) if isinstance(data.get("meta"), dict) else {}
        for c in [data.get("command"), meta.get("command"), *(data.get("commands") or [])]:
            if isinstance(c, str) and c.startswith("python -m lab"):
                out.append((path.name, c))
    return out


def _documented_commands():
    """Every ``python -m lab ...`` inside backticks in the README and the chapters' Markdown
    (a span may wrap lines; spans with ``...`` elisions or ``<placeholders>`` are left out)."""
    texts = [("README.md", (ROOT / "README.md").read_text())]
    for nb in sorted((ROOT / "book").glob("*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        texts += [(nb.name, "".join(c["source"])) for c in cells if c["cell_type"] == "markdown"]
    out = []
    for name, text in texts:
        for span in re.findall(r"`(python -m lab\b[^`]*)`", text):
            command = " ".join(span.replace("\\\n", " ").split())
            if "..." not in command and "<" not in command \
                    and command.split()[3:4] not in ([], ["budgets"]):
                out.append((name, command))
    return out


RECORDED = _recorded_commands()
DOCUMENTED = _documented_commands()


def test_the_results_files_record_lab_commands():
    stale = [p.name for p in RESULTS.glob("*.json") if "python -m deepstock_lite" in p.read_text()]
    assert not stale, f"results files with an old command: {stale}"
    assert len(RECORDED) >= 20


@pytest.mark.parametrize("where,command", RECORDED + DOCUMENTED,
                         ids=[f"{w}:{c[14:50]}" for w, c in RECORDED + DOCUMENTED])
def test_every_recorded_and_documented_command_parses(where, command, monkeypatch):
    parses(command, monkeypatch)


def test_a_bad_command_is_refused_before_it_runs(monkeypatch, capsys):
    with pytest.raises(SystemExit):
        parses("python -m lab zipkin-ds --budget huge", monkeypatch)
    assert "--budget" in capsys.readouterr().err


def test_the_command_line_lists_and_refuses():
    run = [sys.executable, "-m", "lab"]
    listing = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert listing.returncode == 0 and all(k in listing.stdout for k in WHAT)
    bad = subprocess.run(run + ["zipkin"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "unknown experiment 'zipkin'" in bad.stderr
    budgets = subprocess.run(run + ["budgets"], cwd=ROOT, capture_output=True, text=True,
                             timeout=120)
    assert budgets.returncode == 0 and "zipkin-ds" in budgets.stdout


def test_one_budget_registry_names_every_experiment():
    assert set(REGISTRY) == set(COMMANDS)
    for cmd, budgets in REGISTRY.items():
        assert "tiny" in budgets, cmd


def test_the_runtime_package_never_imports_the_lab():
    for path in (ROOT / "deepstock_lite").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n == "lab" or n.startswith("lab.") for n in names), path


def test_the_paper_sweep_takes_a_storage_url(monkeypatch, capsys, tmp_path):
    from lab import paper
    seen = {}
    monkeypatch.setattr(paper, "setting_target", lambda *a, **k: (None, None))
    monkeypatch.setattr(paper, "run_setting", lambda key, **kw: seen.update({key: kw}))
    url = f"sqlite:///{tmp_path}/shared.db"
    paper.main(["--settings", "1", "2", "--budget", "tiny", "--storage", url])
    assert {k: kw["storage"] for k, kw in seen.items()} == {"1": url, "2": url}
    with pytest.raises(SystemExit):
        paper.main(["--settings", "1", "--storage", "shared.db"])
    assert "--storage must be a database URL" in capsys.readouterr().err
