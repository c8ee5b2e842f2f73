"""The benchmark scripts run end to end on a small budget (speed is measured by running them,
not here)."""
import importlib.util
import json
from pathlib import Path

import pytest

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


def test_paper_sweep_cost_report(tmp_path, capsys):
    import optuna

    sweep = load("paper_sweep")
    storage = f"sqlite:///{tmp_path / 'paper_s1.db'}"
    study = optuna.create_study(study_name="paper-ds-base-s1-small", storage=storage)
    dist = {"lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)}
    for k, cpu in enumerate((2.0, 3.0, 4.0)):
        study.add_trial(optuna.trial.create_trial(value=1.0 + k, params={"lr": 1e-3},
                                                  distributions=dist,
                                                  user_attrs={"cpu_seconds": cpu}))
    study.set_user_attr("rerun_0_0", {"val": 1.0, "test": 1.1, "cpu_seconds": 1.0})
    rows = sweep.main(["--studies", str(tmp_path)])
    assert rows[0]["done"] == 3 and rows[0]["trial_seconds"] == 9.0
    assert rows[0]["rerun_seconds"] == 1.0
    assert "setting 1: 0.00 h of compute" in capsys.readouterr().out


def test_wrapper_speed_benchmark_small_budget(tmp_path, capsys):
    bench = load("wrapper_speed")
    out = tmp_path / "wrapper.json"
    bench.main(["--steps", "1500", "--repeats", "1", "--json", str(out)])
    rows = {r["row"]: r for r in json.loads(out.read_text())}
    assert {f"RegularizedAction {k}" for k in ("none", "base", "coeff", "both")} <= set(rows)
    assert rows["bare env (pure Python)"]["ratio_to_bare"] == 1.0
    assert all(r["steps_per_s"] > 0 for r in rows.values())
    assert rows["RegularizedAction base"]["ratio_to_its_env"] > 0
    # the vector wrappers, beside the bare BatchInventoryEnv, at each batch size
    for n in (16, 256, 4096):
        assert rows[f"BatchInventoryEnv, {n} SKUs"]["ratio_to_bare"] == 1.0
        assert all(rows[f"RegularizedVectorAction {k}, {n} SKUs"]["sku_steps_per_s"] > 0
                   for k in ("none", "base", "coeff", "both"))
    assert "x bare env" in capsys.readouterr().out


def test_update_cost_times_each_kernel_setting(capsys):
    """One row per algorithm and kernel setting, each timed in its own process; a bad
    option is refused before anything runs."""
    bench = load("update_cost")
    rows = bench.main(["--algos", "ddpg", "--updates", "2", "--blocks", "1"])
    assert [(r["algo"], r["kernels"]) for r in rows] == [("ddpg", "pinned"),
                                                         ("ddpg", "default")]
    assert all(r["ms_per_update"] > 0 and r["ms_per_step"] == r["ms_per_update"]
               for r in rows)
    assert "ms/update" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        bench.main(["--updates", "0"])
    assert "--updates and --blocks must be at least 1" in capsys.readouterr().err


def test_sb3_efficiency_reads_a_study(tmp_path, capsys):
    """The comparison with Stable-Baselines3 is read from the study's results file; a missing
    file is refused with the command that makes it."""
    import pytest

    eff = load("sb3_efficiency")

    def run(lib, algo, seed, t5, gap):
        return {"lib": lib, "algo": algo, "reg": "base", "instance": "b", "seed": seed,
                "optimum": 10.0, "final_gap": gap, "best_gap": gap,
                "evals": [[1, t5, 10.45], [2, t5 + 1.0, 10.2]]}
    runs = {f"{lib}/{algo}/{s}": run(lib, algo, s, t5, gap)
            for lib, t5, gap in (("sb3", 2.0, 0.02), ("book", 1.0, 0.02))
            for algo in ("ppo", "ddpg") for s in range(3)}
    path = tmp_path / "study.json"
    path.write_text(json.dumps({"meta": {"command": "x"}, "runs": runs}))
    rows = eff.main(["--study", str(path)])
    assert len(rows) == 4
    assert eff.verdicts(rows) == [("ppo", "b", "book", True, True),
                                  ("ddpg", "b", "book", True, True)]
    out = capsys.readouterr().out
    assert "yes" in out and "not shown" in out      # equal gaps, no spread: no verdict
    with pytest.raises(SystemExit):
        eff.main(["--study", str(tmp_path / "missing.json")])
    assert "sb3-study" in capsys.readouterr().err


def test_end_differences_say_worse_only_where_the_interval_excludes_zero():
    """Welch's interval of the book's mean test gap minus SB3's: a clear shortfall is
    "worse", an overlap is not shown either way (the verdicts of sb3_efficiency.py)."""
    import numpy as np
    import pytest
    from scipy import stats

    from deepstock_lite.integrations import sb3_summary

    def run(lib, seed, best, final):
        return {"lib": lib, "algo": "ppo", "reg": "base", "instance": "b", "seed": seed,
                "best_gap": best, "final_gap": final}
    sb3 = [(0.010, 0.020), (0.012, 0.040), (0.011, 0.010), (0.013, 0.030)]
    book = [(0.030, 0.035), (0.032, 0.015), (0.031, 0.025), (0.033, 0.030)]
    runs = {f"{lib}/{s}": run(lib, s, *g) for lib, gaps in (("sb3", sb3), ("book", book))
            for s, g in enumerate(gaps)}
    rows = sb3_summary.end_differences({"runs": runs})
    (_, _, lib, key, diff, low, high), final = rows
    assert (lib, key) == ("book", "best_gap") and diff == pytest.approx(0.02)
    ci = stats.ttest_ind([g[0] for g in book], [g[0] for g in sb3],
                         equal_var=False).confidence_interval(0.95)
    assert (low, high) == pytest.approx((ci.low, ci.high)) and low > 0     # worse
    assert final[3] == "final_gap" and final[5] < 0 < final[6]           # not shown
    assert np.isnan(sb3_summary.end_differences({"runs": {
        k: v for k, v in runs.items() if k.endswith("/0") or k.startswith("sb3")}})[0][5])
    with pytest.raises(TypeError, match="data"):
        sb3_summary.end_differences([])
