"""The experiment scripts run end to end on a tiny budget and write well-formed results."""
import json

import pytest

from deepstock_lite.deepstock import experiments


def test_zipkin_ds_sweep_tiny(tmp_path, monkeypatch):
    monkeypatch.setattr(experiments, "RESULTS", tmp_path)
    data = experiments.zipkin_ds_sweep(cells=[(1, 4), (2, 9)], regs=("base",), budget="tiny",
                                       out="tiny")
    saved = json.loads((tmp_path / "tiny.json").read_text())
    assert saved == json.loads(json.dumps(data))
    for row in saved["rows"]:
        assert row["ds_cost"] >= row["optimal"] - 1e-6      # nothing beats the exact optimum
        assert row["capped_base_stock"] >= row["optimal"] - 1e-6
    assert saved["rows"][0]["optimal"] == pytest.approx(4.0407, abs=1e-4)


def test_shipped_results_file_is_complete():
    data = experiments.load_results("zipkin_ds")
    assert data["budget"] == "full"
    cells = {(r["L"], r["b"]) for r in data["rows"]}
    assert cells == set(experiments.ZIPKIN_CELLS)
    assert {r["reg"] for r in data["rows"]} == {"base", "none"}


def test_bad_arguments():
    with pytest.raises(ValueError, match="reg must be one of"):
        experiments.zipkin_ds_cell(2, 4, reg="coeff", budget="tiny")
    with pytest.raises(ValueError, match="L must be in"):
        experiments.zipkin_ds_cell(0, 4, budget="tiny")
