"""The data-draw re-run of Settings 2-3 (``paper_draws``): rows are written unit by unit, a
killed run resumes to the rows of an uninterrupted one, a run with another method adds rows
and keeps the old ones, bad options are refused before any work, the committed file is written
only on request, and the summary's t-interval is right on a toy input.

Runs work in a temporary folder with their own committed folder (copies of the sweep's
``paper_setting2/3.json``, whose configurations the driver reads). Learned units train for
real at the ``tiny`` budget; the benchmark (DS trained 400 epochs on the test paths, tens of
seconds per draw) is replaced by a fake, as is the training where only the files matter.
"""
import json
import shutil
from pathlib import Path

import pytest
from scipy import stats

from deepstock_lite.core import results_store as store
from lab import paper_draws as pd
from deepstock_lite.paper import analysis

REAL_RESULTS = store.RESULTS
SWEEP = ("paper_setting2.json", "paper_setting3.json")
TIMINGS = {"cpu_seconds", "wall_seconds"}
TINY = ["--budget", "tiny", "--settings", "2", "--draws", "0", "1", "--seeds", "0",
        "--methods", "ds", "--out", "r.json"]


def untimed(x):
    """``x`` without its timing fields (they differ between any two runs)."""
    if isinstance(x, dict):
        return {k: untimed(v) for k, v in x.items() if k not in TIMINGS}
    if isinstance(x, list):
        return [untimed(v) for v in x]
    return x


def fake_benchmark(key, reading="total", data_seed=None):
    return {"benchmark": 2.0 + 0.1 * data_seed, "kind": "fake"}


def fake_learned(key, draw, method, reg, seed, params, budget="small"):
    test = 2.5 + 0.1 * draw + 0.01 * seed + (0.05 if reg == "none" else 0.0)
    return {"setting": key, "draw": draw, "method": method, "reg": reg, "seed": seed,
            "params": params, "val": test, "test": test, "cpu_seconds": 0.0,
            "wall_seconds": 0.0}


def fake_heuristic(key, draw, budget="small"):
    return {"setting": key, "draw": draw, "method": "heuristic", "test": 2.6 + 0.1 * draw,
            "cpu_seconds": 0.0, "wall_seconds": 0.0}


def no_work(*args, **kwargs):
    raise AssertionError("worked although the command should have stopped before")


class Interrupt:
    """Wrap a unit function: call ``at`` (1-based) raises ``KeyboardInterrupt``; counts calls."""

    def __init__(self, fn, at=None):
        self.fn, self.at, self.calls = fn, at, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return self.fn(*args, **kwargs)


@pytest.fixture
def place(tmp_path, monkeypatch):
    """``place(name)``: a fresh working folder (the current directory from then on) whose
    committed folder holds copies of the sweep files; the benchmark is faked."""
    monkeypatch.setattr(pd, "benchmark", fake_benchmark)

    def make(name):
        root = tmp_path / name
        committed = root / "committed"
        committed.mkdir(parents=True)
        for f in SWEEP:
            shutil.copy(REAL_RESULTS / f, committed / f)
        monkeypatch.setattr(store, "RESULTS", committed)
        monkeypatch.setattr(store, "SCRATCH", root / "results_tmp")
        monkeypatch.chdir(root)
        return root
    return make


def read(name="r.json"):
    return json.loads(Path(name).read_text())


def test_a_killed_run_resumes_to_the_rows_of_an_uninterrupted_run(place, monkeypatch, capsys):
    """Real tiny training: interrupted in its third learned unit, started again with the same
    command, the file is the uninterrupted run's (timings aside)."""
    real = pd.learned_unit
    place("whole")
    pd.main(TINY)
    whole = read()
    assert whole["complete"] is True
    assert [(r["draw"], r["reg"]) for r in whole["rows"]] == [
        (0, "none"), (0, "base"), (1, "none"), (1, "base")]
    assert [h["draw"] for h in whole["heuristic"]] == [0, 1]
    assert [b["benchmark"] for b in whole["benchmarks"]] == [2.0, 2.1]
    r = whole["rows"][1]
    assert r["gap"] == r["test"] / 2.0 - 1 and "best_epoch" in r
    assert r["params"] == pd.sweep_configs(("2",), ("ds",))["2", "ds", "base"]["params"]

    place("cut")
    monkeypatch.setattr(pd, "learned_unit", Interrupt(real, 3))
    with pytest.raises(KeyboardInterrupt):
        pd.main(TINY)
    partial = read()
    assert partial["complete"] is False
    assert untimed(partial["rows"]) == untimed(whole["rows"][:2])
    assert untimed(partial["heuristic"]) == untimed(whole["heuristic"])  # draw 1's came first
    again = Interrupt(real)
    monkeypatch.setattr(pd, "learned_unit", again)
    pd.main(TINY)
    assert again.calls == 2                       # only the units the file did not hold
    assert "resuming r.json: 4 of 6 units done" in capsys.readouterr().out
    assert untimed(read()) == untimed(whole)


def test_another_method_adds_rows_and_keeps_the_old_ones(place, monkeypatch):
    place("add")
    pd.main(TINY)
    first = read()
    pd.main(TINY[:-4] + ["--methods", "dsac", "--out", "r.json"])
    both = read()
    assert both["complete"] is True
    assert [r for r in both["rows"] if r["method"] == "ds"] == first["rows"]   # verbatim
    assert [(r["draw"], r["method"]) for r in both["rows"]] == [
        (d, m) for d in (0, 1) for m in ("ds", "ds", "dsac", "dsac")]
    assert both["heuristic"] == first["heuristic"]
    assert len(both["commands"]) == 2
    # the same command again runs nothing
    monkeypatch.setattr(pd, "learned_unit", no_work)
    monkeypatch.setattr(pd, "heuristic_unit", no_work)
    pd.main(TINY)
    assert read()["rows"] == both["rows"]
    # a row whose configuration is no longer the sweep's is dropped and recomputed
    sweep = json.loads((store.RESULTS / "paper_setting2.json").read_text())
    next(r for r in sweep["rows"] if (r["method"], r["reg"]) == ("ds", "base"))[
        "params"]["lr"] = 0.01
    (store.RESULTS / "paper_setting2.json").write_text(json.dumps(sweep))
    monkeypatch.setattr(pd, "learned_unit", again := Interrupt(fake_learned))
    pd.main(TINY)
    assert again.calls == 2
    assert [r["params"]["lr"] for r in read()["rows"] if r["method"] == "ds"
            and r["reg"] == "base"] == [0.01, 0.01]
    # --force recomputes: only the request's rows remain
    monkeypatch.setattr(pd, "heuristic_unit", fake_heuristic)
    pd.main(TINY[:-4] + ["--methods", "dsac", "--out", "r.json", "--force"])
    assert {r["method"] for r in read()["rows"]} == {"dsac"}


@pytest.mark.parametrize("argv, words", [
    (["--settings", "4"], ["--settings"]),
    (["--settings"], ["--settings"]),
    (["--draws", "-1"], ["--draws", "-1"]),
    (["--draws"], ["--draws"]),
    (["--draws", "1", "1"], ["--draws"]),
    (["--seeds", "x"], ["--seeds"]),
    (["--methods", "sac"], ["--methods"]),
    (["--budget", "full"], ["--budget"]),
    (["--budget", "tiny", "--write"], ["committed", "--budget small"]),
])
def test_bad_options_are_refused_before_any_work(place, monkeypatch, capsys, argv, words):
    place("bad")
    for name in ("learned_unit", "heuristic_unit", "benchmark"):
        monkeypatch.setattr(pd, name, no_work)
    with pytest.raises(SystemExit) as e:
        pd.main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert "error:" in last and "Traceback" not in err, err
    for w in words:
        assert w in last, last
    assert not Path("results_tmp").exists()


def test_a_missing_sweep_and_bad_arguments_are_refused(place, monkeypatch, capsys):
    place("api")
    for name in ("learned_unit", "heuristic_unit", "benchmark"):
        monkeypatch.setattr(pd, name, no_work)
    for kw, word in ((dict(draws=[]), "draws"), (dict(draws=[-1]), "draws"),
                     (dict(seeds=[0, 0]), "seeds"), (dict(settings="2"), "settings"),
                     (dict(settings=[1]), "settings"), (dict(methods=["sac"]), "methods"),
                     (dict(budget="full"), "budget")):
        with pytest.raises((TypeError, ValueError), match=word):
            pd.run_draws(out=None, **kw)
    (store.RESULTS / "paper_setting3.json").unlink()
    with pytest.raises(SystemExit):
        pd.main(["--settings", "2"])
    assert "paper_setting3.json" in capsys.readouterr().err.strip().splitlines()[-1]


def test_the_committed_file_is_written_only_with_write(place, monkeypatch):
    root = place("committed")
    monkeypatch.setattr(pd, "learned_unit", fake_learned)
    monkeypatch.setattr(pd, "heuristic_unit", fake_heuristic)
    small = ["--settings", "2", "--draws", "0", "--seeds", "0", "--methods", "ds"]
    pd.main(small)                                  # the committing budget, no --write
    assert not (store.RESULTS / "paper_draws.json").exists()
    assert len(read(root / "results_tmp" / "paper_draws.json")["rows"]) == 2
    pd.main(small + ["--write"])
    assert read(store.RESULTS / "paper_draws.json")["budget"] == "small"
    assert sorted(p.name for p in store.RESULTS.iterdir()) == ["paper_draws.json", *SWEEP]


def test_summary_on_a_toy_input():
    """Two draws x two seeds: the Base − None differences, their mean and t-interval (3
    degrees of freedom), the draw-level interval, the gaps, and a diverged run left unpaired."""
    bench = {0: 2.0, 1: 2.5}
    tests = {(0, 0): (3.0, 2.8), (0, 1): (3.2, 2.9), (1, 0): (3.0, 3.0), (1, 1): (3.5, 3.1)}
    rows = []
    for (d, s), pair in tests.items():
        for reg, t in zip(("none", "base"), pair):
            rows.append({"setting": "2", "draw": d, "method": "ds", "reg": reg, "seed": s,
                         "test": t, "gap": t / bench[d] - 1})
    rows.append({"setting": "2", "draw": 1, "method": "ds", "reg": "none", "seed": 2,
                 "test": None, "gap": None})
    heur = [{"setting": "2", "draw": d, "test": 2.6, "gap": 2.6 / bench[d] - 1}
            for d in (0, 1)]
    out = analysis.paired_differences({"rows": rows, "heuristic": heur}, "2", "ds")
    diffs = [100 * (b - n) / bench[d] for (d, s), (n, b) in tests.items()]
    assert [p["diff_pp"] for p in out["pairs"]] == pytest.approx(diffs)   # -10, -15, 0, -16
    mean, sd = sum(diffs) / 4, stats.tstd(diffs)
    half = 3.182446305284263 * sd / 2               # t(0.975, 3) x sd / sqrt(4)
    assert out["diff_pp"]["mean"] == pytest.approx(-10.25)
    assert (out["diff_pp"]["low"], out["diff_pp"]["high"]) == pytest.approx(
        (mean - half, mean + half))
    rel = [b / n - 1 for n, b in tests.values()]
    assert out["rel_cost"]["mean"] == pytest.approx(sum(rel) / 4)
    assert out["by_draw"]["diff_pp"]["n"] == 2
    assert out["by_draw"]["diff_pp"]["mean"] == pytest.approx(-10.25)
    assert out["unpaired"] == [{"draw": 1, "seed": 2}]
    assert out["gaps"]["base"][0]["seeds"] == pytest.approx([0.4, 0.45])
    assert out["heuristic_gaps"] == {0: pytest.approx(0.3), 1: pytest.approx(0.04)}

