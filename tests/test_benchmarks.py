"""The benchmark scripts run end to end on a small budget (speed is measured by running them,
not here)."""
import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_agents_benchmark_small_budget(tmp_path, capsys):
    agents = load("agents")
    out = tmp_path / "rows.json"
    agents.main(["--algos", "ddpg", "ppo", "dsac", "--instances", "a", "--seeds", "0",
                 "--steps", "512", "--test-paths", "20", "--json", str(out)])
    rows = json.loads(out.read_text())
    assert {r["algo"] for r in rows} == {"ddpg", "ppo", "dsac"}
    assert all(r["test_cost"] > 7.0 for r in rows)       # nothing beats the optimum 7.123
    assert "mean gap to optimum" in capsys.readouterr().out
