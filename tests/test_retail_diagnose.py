"""The Chapter 11 diagnosis of DDPG + None against DDPG + Both, end to end on a tiny budget,
and its measurements on hand-made records."""
import json
from types import SimpleNamespace

import numpy as np
import pytest

from deepstock_lite.core import results_store
from lab import retail_diagnose as rd


@pytest.fixture
def one_thread():
    import torch
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_retail_diagnose_tiny(tmp_path, monkeypatch, one_thread):
    monkeypatch.setattr(results_store, "RESULTS", tmp_path / "committed")
    monkeypatch.setattr(results_store, "SCRATCH", tmp_path)
    data = rd.run("tiny", seeds=(0,), out="diag")       # a tiny run: into the scratch folder
    saved = json.loads((tmp_path / "diag.json").read_text())
    assert saved == json.loads(json.dumps(data))
    assert [(r["kind"], r["critic"], r["seed"]) for r in saved["rows"]] == [
        ("none", "action", 0), ("both", "action", 0), ("both", "order", 0)]
    # no Table 1 file for the tiny study: nothing to compare with
    assert all(r["table1_objective"] is None for r in saved["rows"])
    h = saved["heuristic"]
    # a base-stock rule gives back exactly one day of order per day of cover on hand
    assert h["response"] == pytest.approx(-1.0, abs=1e-6)
    for r in saved["rows"] + [h]:
        # beta = 1 is the policy itself
        assert r["damping"]["1.0"] == r["test"]
        assert 0.0 <= r["share_ordering"] <= 1.0
        for v in r["by_period"].values():
            assert 0.0 <= v["no_order"] <= 1.0 and v["bullwhip"] >= 0.0
            assert v["stock_mean"] >= 0.0 and v["stock_sd"] >= 0.0
    for both in saved["rows"][1:]:
        assert both["level"]["0.0"] == both["test"]        # no shift: the policy itself
        sr = [both["level"][str(s)]["stockout_rate"] for s in rd.SHIFTS]
        assert sr == sorted(sr, reverse=True)                # more stock, fewer stockouts
        assert 0.0 <= both["clamp"]["share_idle"] <= 1.0
    # the order critic passes no gradient where the order is clamped
    oc = saved["rows"][2]["clamp"]
    assert oc["share_idle"] == 0.0 or oc["grad_idle"] == 0.0


def test_cycle_stats_on_a_hand_record():
    env = SimpleNamespace(_Pc=np.array([1, 2]))
    demand = np.array([[1.0, 3.0, 1.0, 3.0], [1.0, 3.0, 1.0, 3.0]])
    # SKU 0 (P = 1) orders twice its demand swing; SKU 1 (P = 2) orders 4 every other day
    order = np.array([[0.0, 4.0, 0.0, 4.0], [4.0, 0.0, 4.0, 0.0]])
    end = np.array([[2.0, 2.0, 2.0, 2.0], [1.0, 3.0, 1.0, 3.0]])
    out = rd.cycle_stats(env, {"order": order, "demand": demand, "end": end})
    assert out["1"]["bullwhip"] == pytest.approx(4.0)     # var 4 against var 1
    assert out["1"]["no_order"] == pytest.approx(0.5)
    assert out["2"]["no_order"] == 0.0                    # cycles of 2 days, 4 each
    assert out["2"]["bullwhip"] == 0.0                    # constant cycle demand and order
    assert out["1"]["stock_sd"] == 0.0 and out["2"]["stock_sd"] == pytest.approx(1.0)


def test_order_response_uses_the_ordering_states_only():
    rec = {"q": np.array([0.0, 0.5, 2.0, 3.0]), "dq": np.array([0.0, -0.5, -1.0, -2.0])}
    slope, share = rd.order_response(rec)
    assert slope == pytest.approx(-1.5) and share == pytest.approx(0.5)
    slope, share = rd.order_response(rec, min_order=10.0)
    assert np.isnan(slope) and share == 0.0


def test_retail_diagnose_rejects_bad_input():
    with pytest.raises(ValueError, match="budget"):
        rd.run("short", out=None)
    with pytest.raises(ValueError, match="seeds"):
        rd.run("tiny", seeds=(-1,), out=None)
    with pytest.raises(TypeError, match="env"):
        rd.review_states(object(), lambda o: o[:, 0])
