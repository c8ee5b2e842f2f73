"""The paper diagnoses (Chapter 10) run end to end on a tiny budget."""
import json
import shutil

import pytest

from deepstock_lite.core import results_store
from deepstock_lite.core import results_store as _store
from lab import paper_diagnose
from deepstock_lite.core.record_returns import record_returns


@pytest.fixture
def one_thread():
    import torch
    n = torch.get_num_threads()
    torch.set_num_threads(1)      # several threads on a loaded machine are much slower
    yield
    torch.set_num_threads(n)


def test_paper_diagnose_tiny(tmp_path, monkeypatch, one_thread):
    # the diagnoses read the tuned configurations from the results folder
    committed = tmp_path / "committed"
    committed.mkdir()
    for k in ("1", "4"):
        shutil.copy(_store.results_path(f"paper_setting{k}"),
                    committed / f"paper_setting{k}.json")
    monkeypatch.setattr(results_store, "RESULTS", committed)
    monkeypatch.setattr(results_store, "SCRATCH", tmp_path)
    data = paper_diagnose.run("tiny", out="diag")       # a tiny run: into the scratch folder
    saved = json.loads((tmp_path / "diag.json").read_text())
    assert saved == json.loads(json.dumps(data))
    runs = saved["ds_lr"]["runs"]
    assert [r["config"] for r in runs] == ["tuned", "six_trial", "low_lr"]
    assert runs[0]["lr"] == saved["ds_lr"]["tuned_lr"]
    assert runs[1]["params"] == paper_diagnose.SIX_TRIAL_PARAMS
    assert runs[2]["lr"] == paper_diagnose.LOW_LR
    for r in runs:
        assert len(r["val_curve"]) == r["epochs_run"]
        assert 0 <= r["best_epoch"] < r["epochs_run"]
        # the kept model is the best validation epoch, and its loss is the run's val
        assert min(r["val_curve"]) == pytest.approx(r["val"], abs=1e-4)
        assert r["test"] >= saved["ds_lr"]["benchmark"] * 0.9
    row = saved["s4_none"]["rows"][0]
    assert row["method"] == "ddpg" and len(row["trajectory"]["order"]) == 16
    assert 0.0 <= row["first_order"] <= 200.0
    assert row["test"] >= saved["s4_none"]["benchmark"] - 1e-6   # the true optimum


def test_record_returns_restores():
    from deepstock_lite.paper import differentiable_simulator as ds
    original = ds.train_ds
    with pytest.raises(RuntimeError):
        with record_returns(ds, "train_ds"):
            raise RuntimeError
    assert ds.train_ds is original
    with pytest.raises(ValueError, match="budget must be one of"):
        paper_diagnose.run("huge", out=None)
