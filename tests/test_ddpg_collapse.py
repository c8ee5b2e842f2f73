"""benchmarks/ddpg_collapse.py: the factor study of DDPG + None's collapse, at a tiny budget."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def collapse():
    spec = importlib.util.spec_from_file_location("ddpg_collapse",
                                                  ROOT / "benchmarks" / "ddpg_collapse.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_probe_states_are_short(collapse):
    s = collapse.probe_states()
    assert s.shape == (66, 2) and s[:, 0].max() == 10 and s[:, 1].max() == 5


def test_tiny_study_runs_each_book_factor_and_resumes(collapse, tmp_path, monkeypatch):
    out = tmp_path / "collapse.json"
    conds = ["book", "reward_scale_only", "reward_sb3", "actor_init_default", "no_lr_decay",
             "preact_penalty"]
    data = collapse.main(["--budget", "tiny", "--conditions", *conds, "--out", str(out)])
    assert set(data["runs"]) == {f"none/b/{c}/0" for c in conds}
    assert json.loads(out.read_text()) == data
    for row in data["runs"].values():
        assert np.isfinite(row["final_test_cost"]) and len(row["trace"]) == 2
        t = row["trace"][-1]
        assert 0.0 <= t["saturated"] <= 1.0 and 0.0 <= t["decoded"] <= 50.0
        assert np.isfinite(t["dq_du"]) and np.isfinite(t["preact"])
    runs = {k.split("/", 2)[2]: r for k, r in data["runs"].items()}
    assert runs["book/0"]["r_shift"] < 0 and runs["reward_scale_only/0"]["r_shift"] == 0.0
    assert runs["reward_scale_only/0"]["r_scale"] == runs["book/0"]["r_scale"]
    assert runs["reward_sb3/0"]["r_scale"] < runs["book/0"]["r_scale"]   # return std > reward's
    # the changed factor leaves the book's run untouched where it does not act
    assert runs["no_lr_decay/0"]["r_shift"] == runs["book/0"]["r_shift"]

    # a second call finds every run done and trains nothing
    monkeypatch.setattr(collapse, "run_one", lambda *a: pytest.fail("re-ran a finished run"))
    again = collapse.main(["--budget", "tiny", "--conditions", *conds, "--out", str(out)])
    assert again == data


def test_tiny_budget_cannot_write_the_committed_file(collapse, capsys):
    with pytest.raises(SystemExit):
        collapse.main(["--budget", "tiny", "--write", "--conditions", "book"])
    assert "committed results file" in capsys.readouterr().err


def test_tiny_base_decoding_on_both_instances(collapse, tmp_path):
    out = tmp_path / "base.json"
    data = collapse.main(["--budget", "tiny", "--conditions", "book", "--decodings", "base",
                          "--instances", "a", "b", "--out", str(out)])
    assert set(data["runs"]) == {"base/a/book/0", "base/b/book/0"}
    for key, row in data["runs"].items():
        assert (row["decoding"], row["instance"]) == tuple(key.split("/")[:2])
        assert np.isfinite(row["final_gap"]) and isinstance(row["collapsed"], bool)
