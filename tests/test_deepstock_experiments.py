"""The experiment scripts run end to end on a tiny budget and write well-formed results."""
import json

import pytest

from deepstock_lite.core import results_store
from deepstock_lite.core import results_store as _store
from lab import ds_experiments as experiments


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """A committed folder and a scratch folder of the test's own (a tiny run writes scratch)."""
    committed = tmp_path / "committed"
    committed.mkdir()
    monkeypatch.setattr(results_store, "RESULTS", committed)
    monkeypatch.setattr(results_store, "SCRATCH", tmp_path)
    return committed


def test_zipkin_ds_sweep_tiny(tmp_path, folders):
    data = experiments.zipkin_ds_sweep(cells=[(1, 4), (2, 9)], regs=("base",), budget="tiny",
                                       out="tiny")
    saved = json.loads((tmp_path / "tiny.json").read_text())
    assert saved == json.loads(json.dumps(data))
    for row in saved["rows"]:
        assert row["ds_cost"] >= row["optimal"] - 1e-6      # nothing beats the exact optimum
        assert row["capped_base_stock"] >= row["optimal"] - 1e-6
    assert saved["rows"][0]["optimal"] == pytest.approx(4.0407, abs=1e-4)


def test_shipped_results_files_are_complete():
    # the table (512 training paths) and the earlier one (128), both with None and Base
    for name, budget, regs in (("zipkin_ds", "full", {"base", "none"}),
                               ("zipkin_ds_small", "small", {"base", "none"})):
        data = _store.load_results(name)
        assert data["budget"] == budget and data.get("complete", True)
        assert {(r["L"], r["b"]) for r in data["rows"]} == set(experiments.ZIPKIN_CELLS)
        assert {r["reg"] for r in data["rows"]} == regs
    # the two controls of Chapter 9's ablation, on the four worst cells of the earlier table
    for name in ("zipkin_ds_val1024", "zipkin_ds_epochs800"):
        data = _store.load_results(name)
        assert data["budget"] == name.removeprefix("zipkin_ds_") and data.get("complete", True)
        assert {(r["L"], r["b"]) for r in data["rows"]} == {(4, 19), (4, 39), (3, 39), (4, 9)}


def test_bad_arguments():
    with pytest.raises(ValueError, match="reg must be one of"):
        experiments.zipkin_ds_cell(2, 4, reg="coeff", budget="tiny")
    with pytest.raises(ValueError, match="L must be in"):
        experiments.zipkin_ds_cell(0, 4, budget="tiny")


def test_ds_surrogate_study_tiny_and_resumable(tmp_path, monkeypatch):
    import shutil
    # the study reads the paper's best configuration from the results folder
    committed = tmp_path / "committed"
    committed.mkdir()
    shutil.copy(_store.results_path("paper_setting1"), committed / "paper_setting1.json")
    monkeypatch.setattr(results_store, "RESULTS", committed)
    monkeypatch.setattr(results_store, "SCRATCH", tmp_path)
    kw = dict(budget="tiny", seeds=(0,), settings=("1",), cells=[(1, 4)], out="surr")
    data = experiments.ds_surrogate_study(**kw)
    rows = json.loads((tmp_path / "surr.json").read_text())["rows"]
    assert len(rows) == len(data["rows"]) == 2 + 4   # setting: 2 gradients; cell: 2 x 2
    assert {r["gradient"] for r in rows} == set(experiments.GRADIENTS)
    assert data["command"].endswith("ds-surrogate --budget tiny --seeds 1")
    again = experiments.ds_surrogate_study(**kw)      # resumes: nothing new to run
    assert again["rows"] == data["rows"]


def test_ds_setting_run_matches_the_paper_evaluation():
    from deepstock_lite.paper.tuning import evaluate_config
    params = {"lr": 1e-2, "batch_size": 5, "width": 16, "initial_bias": 0.4}
    ours = experiments.ds_setting_run("1", params, 0, budget="tiny", surrogate="exact")
    theirs = evaluate_config("ds", "base", "1", params, 0, "tiny")
    assert ours["val"] == pytest.approx(theirs["val"], abs=1e-12)
    assert ours["test"] == pytest.approx(theirs["test"], abs=1e-12)


def test_more_bad_arguments():
    with pytest.raises(TypeError, match="reg must be a string"):
        experiments.zipkin_ds_cell(2, 4, reg=["base"], budget="tiny")
    with pytest.raises(ValueError, match="b must be in"):
        experiments.zipkin_ds_cell(2, -4, budget="tiny")
    with pytest.raises(ValueError, match="cells must be"):
        experiments.zipkin_ds_sweep(cells=[(9, 9)], budget="tiny", out=None)
    with pytest.raises(TypeError, match="seeds must be"):
        experiments.ds_surrogate_study(budget="tiny", seeds=3, out=None)
    with pytest.raises(ValueError, match="budget must be one of"):
        experiments.ds_surrogate_study(budget="huge", out=None)
    with pytest.raises(TypeError, match="params must be a dict"):
        experiments.ds_setting_run("1", None)
    with pytest.raises(ValueError, match="no results file"):
        _store.load_results("no_such_results")
    with pytest.raises(ValueError, match="out must be a results name"):
        _store.results_path("")
    with pytest.raises(ValueError, match="out must be a results name"):
        _store.results_path(3)
    # a plain name lands in data/results/, a path is taken as given
    assert _store.results_path("x") == results_store.RESULTS / "x.json"
    assert str(_store.results_path("tmp/x")) == "tmp/x.json"


def test_shipped_surrogate_results_are_complete():
    data = _store.load_results("ds_surrogate")
    assert data["budget"] == "full" and len(data["seeds"]) >= 3
    seen = {(r["part"], r["where"], r["reg"], r["gradient"], r["seed"]) for r in data["rows"]}
    wanted = {("setting", k, "base", g, s) for k in "1234" for g in experiments.GRADIENTS
              for s in data["seeds"]}
    wanted |= {("zipkin", f"{L},{b}", reg, g, s) for L, b in experiments.SURROGATE_CELLS
               for reg in ("base", "none") for g in experiments.GRADIENTS
               for s in data["seeds"]}
    assert wanted <= seen


def test_zipkin_results_say_which_gradient():
    for name in ("zipkin_ds", "zipkin_ds_small", "zipkin_ds_seeds", "zipkin_ds_val1024",
                 "zipkin_ds_epochs800"):
        data = _store.load_results(name)
        assert data["gradient"] == "exact"
        assert all(r["gradient"] == "exact" for r in data["rows"])
