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
    assert all(r["cpu_ms_per_step"] > 0 for r in rows)
    assert "mean gap to optimum" in capsys.readouterr().out


def test_retail_benchmark_small_budget(tmp_path, capsys):
    retail = load("retail")
    out = tmp_path / "retail.json"
    retail.main(["--train", "200", "--val", "50", "--test", "200", "--epochs", "1",
                 "--scale", "300", "--train-scale", "100", "--json", str(out)])
    data = json.loads(out.read_text())
    assert data["train_eval"]["n_test"] == 200
    assert data["speed"][0]["n_skus"] == 300 and data["speed"][0]["sku_days_per_s"] > 0
    assert set(data["train_eval"]["rows"]) == {"ds_both", "base_stock", "s_S"}
    assert data["train_speed"][0]["n_train"] == 100
    assert data["train_speed"][0]["seconds_per_epoch"] > 0
    assert "lower J" in capsys.readouterr().out
