"""deepstock_lite.paper.heuristics and benchmarks/paper_heuristics.py (tiny budget)."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from deepstock_lite.core.policies import BaseStock, FunctionPolicy
from deepstock_lite.paper import heuristics as ph
from deepstock_lite.paper.settings import setting1, setting3, setting4

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def S3():
    return setting3()


@pytest.mark.parametrize("family", ["base_stock", "yesterday"])
def test_rule_costs_score_as_the_learned_policies_are_scored(S3, family):
    """The grid simulation gives, rule by rule, the loss PaperSetting.evaluate gives the same
    policy on the same paths (the learned methods' score)."""
    a = np.array([20.0, 31.5])
    k = np.array([1.5, 0.0]) if family == "yesterday" else np.zeros(2)
    costs = ph.rule_costs(S3, "test", family, a, k)
    assert costs.shape == (S3.data.test.shape[0], 2)
    x = ph.rule_signal(S3, "test", family)
    for j in range(2):
        def act(state, j=j):
            target = np.clip(a[j] + k[j] * x[:, state.t], 0.0, S3.q_max)
            return np.maximum(target - state.position, 0.0)
        assert costs[:, j].mean() == pytest.approx(S3.evaluate(FunctionPolicy(act)), rel=1e-12)
    if family == "base_stock":
        assert costs[:, 1].mean() == pytest.approx(S3.evaluate(BaseStock(31.5)), rel=1e-12)


def test_signals_are_what_the_learned_policies_see(S3):
    y = ph.rule_signal(S3, "val", "yesterday")
    assert np.all(y[:, 0] == 0) and np.array_equal(y[:, 1:], S3.data.val[:, :-1])
    S1 = setting1()
    f = ph.rule_signal(S1, "test", "forecast")
    m = S1.data.train.mean(0)
    assert f[0, 2] == pytest.approx(m[2:5].sum()) and np.all(f == f[0])   # training forecast
    S4 = setting4(n_train=2, horizon=4)
    s = ph.rule_signal(S4, "test", "sigma")
    assert np.allclose(s[:, 0], S4.data.info["test_sigma"])
    with pytest.raises(ValueError):
        ph.rule_signal(S3, "test", "sigma")         # the AR(1) settings have no sigma


def test_tune_fits_on_train_and_chooses_on_validation(S3):
    out = ph.tune(S3, "3", "coarse")
    fams = out["families"]
    assert set(fams) == {"base_stock", "yesterday"}
    assert out["chosen"] == min(fams, key=lambda f: fams[f]["val"])
    assert out["test"] == fams[out["chosen"]]["test"]
    for f in fams.values():
        assert f["oracle_test"] <= f["test"] + 1e-12
        assert f["val_chosen"]["val"] <= f["val"] + 1e-12
    assert out["oracle_test"] == min(f["oracle_test"] for f in fams.values())
    assert fams["yesterday"]["train"] <= fams["base_stock"]["train"] + 1e-12   # k = 0 nested


def test_default_grid_and_bad_inputs(S3):
    a, k = ph.default_grid("4", "sigma")
    assert np.any(np.isclose(a, 100.0) & np.isclose(k, 1.25)) and a.shape == k.shape
    a, k = ph.default_grid("2", "base_stock", "coarse")
    assert np.all(k == 0) and a.min() == 0
    with pytest.raises(ValueError):
        ph.default_grid("2", "sigma")
    with pytest.raises(ValueError):
        ph.default_grid("5", "base_stock")
    with pytest.raises(ValueError):
        ph.rule_costs(S3, "test", "yesterday", [1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        ph.rule_costs(S3, "test", "yesterday", [np.nan], [1.0])
    with pytest.raises(TypeError):
        ph.rule_signal("not a setting", "test", "yesterday")


def test_ar1_fit_recovers_a_long_path():
    rng = np.random.default_rng(0)
    phi, mu, sig, d = 0.7, 20.0, 2.0, [20.0]
    for _ in range(20_000):
        d.append(phi * d[-1] + (1 - phi) * mu + rng.normal(0, sig))
    fit = ph.ar1_fit(np.array([d]))
    assert fit["phi"][0] == pytest.approx(phi, abs=0.02)
    assert fit["mean"][0] == pytest.approx(mu, abs=0.2)
    assert fit["sigma"][0] == pytest.approx(sig, abs=0.05)
    with pytest.raises(ValueError):
        ph.ar1_fit(np.ones(10))


@pytest.fixture(scope="module")
def driver():
    spec = importlib.util.spec_from_file_location("paper_heuristics_driver",
                                                  ROOT / "benchmarks" / "paper_heuristics.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_tiny_driver_runs_every_part_and_resumes(driver, tmp_path, monkeypatch):
    out = tmp_path / "ph.json"
    data = driver.main(["--budget", "tiny", "--out", str(out)])
    assert json.loads(out.read_text()) == data
    assert set(data["runs"]) == {k for k, _, _ in driver.todo("tiny")}
    h = data["runs"]["heuristic/3/0"]
    assert h["chosen"] in ("base_stock", "yesterday") and np.isfinite(h["test"])
    assert h["mean_demand"]["val"] < h["mean_demand"]["test"]       # the book's draw
    assert data["runs"]["heuristic/1/42"]["benchmark"] > 0
    assert data["runs"]["heuristic/3/0"]["benchmark"] is None
    ds = data["runs"]["ds/base/sweep/0"]
    assert ds["best_epoch"] >= 0 and ds["epochs_run"] == len(ds["val_curve"])
    assert data["runs"]["ds/base/pooled/0"]["val_mean_demand"] > ds["val_mean_demand"]
    monkeypatch.setattr(driver, "heuristic_row", lambda *a: pytest.fail("re-ran a part"))
    monkeypatch.setattr(driver, "ds_row", lambda *a: pytest.fail("re-ran a part"))
    assert driver.main(["--budget", "tiny", "--out", str(out)]) == data


def test_tiny_budget_cannot_write_the_committed_file(driver, capsys):
    with pytest.raises(SystemExit):
        driver.main(["--budget", "tiny", "--write"])
    assert "committed results file" in capsys.readouterr().err
