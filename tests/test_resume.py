"""Every long experiment resumes from its last finished unit: a run interrupted after its first
unit (the unit's function raises ``KeyboardInterrupt`` on its second call, as a killed process
stops) leaves a results file with that unit, ``complete`` false; started again with the same
arguments it runs only the other units, and its final file equals an uninterrupted run's
(timings aside). A file of another budget is refused, not resumed.

Each run works in a temporary folder with its own committed folder (``results_store.RESULTS``
monkeypatched) and writes ``--out r.json`` (so the recorded commands are the same); the units'
training is replaced by instant deterministic fakes, except in the two tiny real runs (DS on
Zipkin's cells, the overfitting study), which check that a resumed run reproduces the numbers
themselves.
"""
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from deepstock_lite.core import results_store as store
from lab import ds_experiments as experiments, paper, paper_diagnose, retail_diagnose
from deepstock_lite.paper import retail_study as rs
from lab import retail_study as rs_lab

REAL_RESULTS = store.RESULTS
TIMINGS = {"train_seconds", "seconds", "cpu_seconds", "wall_seconds",
           "wall_seconds_this_run"}


def untimed(x):
    """``x`` without its timing fields (they differ between any two runs)."""
    if isinstance(x, dict):
        return {k: untimed(v) for k, v in x.items() if k not in TIMINGS}
    if isinstance(x, list):
        return [untimed(v) for v in x]
    return x


@pytest.fixture
def place(tmp_path, monkeypatch):
    """``place(name)``: a fresh working folder (the current directory from then on) with an
    empty committed folder, holding copies of the committed files listed in ``copy``."""
    def make(name, copy=()):
        root = tmp_path / name
        committed = root / "committed"
        committed.mkdir(parents=True)
        for f in copy:
            shutil.copy(REAL_RESULTS / f, committed / f)
        monkeypatch.setattr(store, "RESULTS", committed)
        monkeypatch.setattr(store, "SCRATCH", root / "results_tmp")
        monkeypatch.chdir(root)
        return root
    return make


class Interrupt:
    """Wrap a unit function: call ``k`` (1-based) raises ``KeyboardInterrupt``; counts calls."""

    def __init__(self, fn, at=None):
        self.fn, self.at, self.calls = fn, at, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return self.fn(*args, **kwargs)


def interrupted_then_resumed(place, monkeypatch, target, name, make_unit, run, copy=(),
                             first=1):
    """Run uninterrupted in one folder, then interrupted after ``first`` unit(s) and started
    again in another; return ``(uninterrupted, resumed, calls of the second start)``.
    ``make_unit(at)`` returns the unit function (interrupting at call ``at``) to install as
    ``target.name``."""
    place("whole", copy)
    monkeypatch.setattr(target, name, make_unit(None))
    run()
    whole = json.loads(Path("r.json").read_text())
    assert whole["complete"] is True
    place("cut", copy)
    monkeypatch.setattr(target, name, make_unit(first + 1))
    with pytest.raises(KeyboardInterrupt):
        run()
    partial = json.loads(Path("r.json").read_text())
    assert partial["complete"] is False
    again = make_unit(None)
    monkeypatch.setattr(target, name, again)
    run()
    resumed = json.loads(Path("r.json").read_text())
    return whole, partial, resumed, again.calls


# -- experiments zipkin-ds ----------------------------------------------------------------------
def fake_cell(L, b, *, reg="base", budget="full", seed=0, **kw):
    gap = 0.01 * L + 0.001 * b + (0.5 if reg == "none" else 0.0) + 0.1 * seed
    return {"L": L, "b": b, "reg": reg, "seed": seed, "gradient": "exact", "optimal": 4.0,
            "ds_cost": 4.0 * (1 + gap), "gap": gap, "train_seconds": 0.0, "epochs_run": 1,
            "best_val": 1.0, "config": {}}


def test_zipkin_ds_resumes_per_cell(place, monkeypatch, capsys):
    monkeypatch.setattr(experiments, "best_capped_base_stock",
                        lambda demand, *, L, **k: SimpleNamespace(cost=4.0 + L))
    argv = ["zipkin-ds", "--budget", "tiny", "--cells", "1,4", "2,9", "--seeds", "2",
            "--out", "r.json"]
    whole, partial, resumed, calls = interrupted_then_resumed(
        place, monkeypatch, experiments, "zipkin_ds_cell",
        lambda at: Interrupt(fake_cell, at), lambda: experiments.main(argv))
    assert len(whole["rows"]) == 8 and len(partial["rows"]) == 1
    assert partial["rows"][0] == whole["rows"][0]
    assert calls == 7                            # only the units the file did not hold
    assert resumed == whole
    assert "1 of 8 runs done" in capsys.readouterr().out
    # a finished file is not resumed: a new run replaces it (the regenerate commands)
    again = Interrupt(fake_cell)
    monkeypatch.setattr(experiments, "zipkin_ds_cell", again)
    experiments.main(argv)
    assert again.calls == 8 and json.loads(Path("r.json").read_text()) == whole
    # --force starts an interrupted file afresh
    monkeypatch.setattr(experiments, "zipkin_ds_cell", Interrupt(fake_cell, 2))
    with pytest.raises(KeyboardInterrupt):
        experiments.main(argv)
    again = Interrupt(fake_cell)
    monkeypatch.setattr(experiments, "zipkin_ds_cell", again)
    experiments.main(argv + ["--force"])
    assert again.calls == 8 and json.loads(Path("r.json").read_text()) == whole
    # a file of another budget is refused (and kept), not resumed
    with pytest.raises(SystemExit):
        experiments.main(["zipkin-ds", "--budget", "full", "--cells", "1,4", "--out", "r.json"])
    assert "--force" in capsys.readouterr().err
    assert json.loads(Path("r.json").read_text()) == resumed


def test_zipkin_ds_real_tiny_run_resumes_to_the_same_numbers(place, monkeypatch):
    """DS really trained (tiny budget): the resumed file's numbers are the uninterrupted
    run's, bit for bit."""
    import torch
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    real = experiments.zipkin_ds_cell
    try:
        whole, partial, resumed, calls = interrupted_then_resumed(
            place, monkeypatch, experiments, "zipkin_ds_cell",
            lambda at: Interrupt(real, at),
            lambda: experiments.zipkin_ds_sweep(cells=[(1, 4), (1, 9)], regs=("base",),
                                                budget="tiny", out="r.json"))
    finally:
        torch.set_num_threads(n)
    assert calls == 1 and len(partial["rows"]) == 1
    assert untimed(resumed) == untimed(whole)


# -- paper --overfit ----------------------------------------------------------------------------
def test_paper_overfit_resumes_per_cell(place, monkeypatch):
    """DS really trained (3 epochs): interrupted in its second (N, H) cell, resumed, the same
    rows as an uninterrupted run."""
    import torch
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    real = paper.train_ds
    kw = dict(ns=(5,), horizons=(2, 4), seeds=(0, 1), epochs=3, out="r.json")
    try:
        whole, partial, resumed, calls = interrupted_then_resumed(
            place, monkeypatch, paper, "train_ds", lambda at: Interrupt(real, at),
            lambda: paper.ds_overfit(**kw), first=2)     # the first cell: 2 seeds
    finally:
        torch.set_num_threads(n)
    assert [(r["N"], r["H"], r["seed"]) for r in partial["rows"]] == [(5, 2, 0), (5, 2, 1)]
    assert calls == 2
    assert resumed == whole and whole["epochs"] == 3
    # another number of epochs is another study: it starts afresh
    paper.ds_overfit(**{**kw, "horizons": (2,), "epochs": 1})
    assert json.loads(Path("r.json").read_text())["epochs"] == 1


# -- paper_diagnose ------------------------------------------------------------------------------
class FakeAgent:
    def __init__(self, level):
        self.level = level

    def act(self, obs):                   # order up to a level (obs: stock, sigma)
        return np.maximum(self.level - np.asarray(obs)[:, 0], 0.0)


def fake_evaluate(method, reg, key, params, seed, budget):
    """What paper_diagnose's runs capture, without training: DS's result (a history) or an
    RL agent, through the module functions ``capture`` wraps."""
    from deepstock_lite.paper import differentiable_simulator as ds
    from deepstock_lite.rl import ddpg, dsac
    x = float(params["lr"]) * 10 + seed
    if method == "ds":
        ds.train_ds(SimpleNamespace(best_step=1, history=[{"val": 2 + x, "train": 2 + x},
                                                           {"val": 1 + x, "train": 1 + x}]))
        return {"val": 1 + x, "test": 1.5 + x}
    {"ddpg": ddpg, "dsac": dsac}[method].train(FakeAgent(140 + seed))
    return {"val": 2.0 + x, "test": 2.5 + x}


def test_paper_diagnose_resumes_per_run(place, monkeypatch):
    from deepstock_lite.paper import differentiable_simulator as ds
    from deepstock_lite.rl import ddpg, dsac
    for module, name in ((ds, "train_ds"), (ddpg, "train"), (dsac, "train")):
        monkeypatch.setattr(module, name, lambda out: (out, None) if isinstance(out, FakeAgent)
                            else out)
    copy = ("paper_setting1.json", "paper_setting4.json")
    whole, partial, resumed, calls = interrupted_then_resumed(
        place, monkeypatch, paper_diagnose, "evaluate_config",
        lambda at: Interrupt(fake_evaluate, at),
        lambda: paper_diagnose.main(["--budget", "tiny", "--out", "r.json"]), copy)
    assert len(whole["ds_lr"]["runs"]) == 3 and len(whole["s4_none"]["rows"]) == 1
    assert partial["ds_lr"]["runs"] == whole["ds_lr"]["runs"][:1]
    assert "s4_none" not in partial
    assert calls == 3
    assert untimed(resumed) == untimed(whole)
    assert list(resumed) == list(whole)           # the same fields, in the same order


# -- retail_diagnose -----------------------------------------------------------------------------
class FakeDDPG:
    def __init__(self, days):
        self.days = days

    def act(self, obs):
        return np.full(len(obs), self.days)


def fake_fit(method, kind, study, budget, seed, envs=None, overrides=None):
    days = 1.0 + seed + (0.5 if kind == "both" else 0.0) + (0.25 if overrides else 0.0)
    return {"method": method, "kind": kind, "seed": seed}, FakeDDPG(days).act


def test_retail_diagnose_resumes_per_policy(place, monkeypatch):
    monkeypatch.setattr(retail_diagnose, "tune_heuristic",
                        lambda name, env, grid: ({"k": 1.0, "window": 7, "cv": 0.0}, 0.0, None))
    monkeypatch.setattr(retail_diagnose, "_shifted",
                        lambda agent, env, s: lambda obs: np.full(len(obs), agent.days + s))
    monkeypatch.setattr(retail_diagnose, "_clamp", lambda agent, env, obs: {
        "share_idle": agent.days / 10, "grad_idle": 0.0, "grad_ordering": 1.0})
    whole, partial, resumed, calls = interrupted_then_resumed(
        place, monkeypatch, retail_diagnose, "fit_method", lambda at: Interrupt(fake_fit, at),
        lambda: retail_diagnose.main(["--budget", "tiny", "--seeds", "2", "--out", "r.json"]))
    assert [(r["seed"], r["kind"], r["critic"]) for r in whole["rows"]] == [
        (s, k, c) for s in (0, 1) for k, c in retail_diagnose.VARIANTS]
    assert partial["rows"] == whole["rows"][:1]
    assert partial["heuristic"] == whole["heuristic"]
    assert calls == 5
    assert untimed(resumed) == untimed(whole)


# -- retail_study table1 and pareto --------------------------------------------------------------
def fake_run(task):
    method, kind, study, budget, seed, over = task
    x = len(method) + 0.1 * len(kind) + seed + study.weight
    return {"method": method, "kind": kind, "seed": seed, "seconds": 0.0, "objective": x,
            "stockout_rate": x / 2, "turnover_days": 10 * x}


@pytest.fixture
def fast_retail(monkeypatch):
    monkeypatch.setattr(rs.RetailStudy, "build", lambda self: (None, None, self.weight))
    monkeypatch.setattr(rs_lab, "fit_heuristics", lambda envs: [
        {"method": "base_stock", "params": {"k": envs}, "objective": 1.0 + envs},
        {"method": "s_S", "params": {"k": envs}, "objective": 2.0 + envs}])


def test_retail_table1_resumes_per_run(place, monkeypatch, fast_retail):
    argv = ["retail-table1", "--budget", "tiny", "--methods", "ddpg", "ds", "--seeds", "2",
            "--out", "r.json"]
    whole, partial, resumed, calls = interrupted_then_resumed(
        place, monkeypatch, rs_lab, "_run", lambda at: Interrupt(fake_run, at),
        lambda: rs_lab.main(argv))
    assert len(whole["rows"]) == 16 and partial["rows"] == whole["rows"][:1]
    assert partial["heuristics"] == [] and calls == 15
    assert untimed(resumed) == untimed(whole)
    # another critic input is another experiment: refused
    with pytest.raises(SystemExit):
        rs_lab.main(["retail-table1", "--budget", "tiny", "--methods", "ddpg", "--critic-input",
                     "order", "--out", "r.json"])


def test_retail_table1_run_of_one_method_keeps_the_others_rows(place, monkeypatch,
                                                                fast_retail):
    """A finished file of the same study keeps the runs outside a new request: re-running
    DDPG with more seeds trains only DDPG and keeps DS's rows, in the file's one order."""
    place("add")
    calls = Interrupt(fake_run)
    monkeypatch.setattr(rs_lab, "_run", calls)
    rs_lab.main(["retail-table1", "--budget", "tiny", "--methods", "ddpg", "ds", "--seeds", "1",
             "--out", "r.json"])
    first = json.loads(Path("r.json").read_text())
    rs_lab.main(["retail-table1", "--budget", "tiny", "--methods", "ddpg", "--seeds", "2",
             "--out", "r.json"])
    data = json.loads(Path("r.json").read_text())
    assert calls.calls == 8 + 8 and data["complete"] and data["seeds"] == [0, 1]
    assert [(r["seed"], r["method"]) for r in data["rows"]] == (
        [(0, "ddpg")] * 4 + [(0, "ds")] * 4 + [(1, "ddpg")] * 4)
    assert data["rows"][4:8] == first["rows"][4:8]          # DS's rows, kept as they were
    assert len(data["commands"]) == 2 and data["commands"][-1] == data["command"]
    # --force starts afresh: only the request's rows
    rs_lab.main(["retail-table1", "--budget", "tiny", "--methods", "ddpg", "--seeds", "1",
             "--out", "r.json", "--force"])
    data = json.loads(Path("r.json").read_text())
    assert [r["method"] for r in data["rows"]] == ["ddpg"] * 4 and data["seeds"] == [0]


def test_retail_pareto_resumes_per_policy(place, monkeypatch, fast_retail):
    argv = ["retail-pareto", "--budget", "tiny", "--policies", "ds:both", "ds:coeff",
            "--out", "r.json"]
    whole, partial, resumed, calls = interrupted_then_resumed(
        place, monkeypatch, rs_lab, "_run", lambda at: Interrupt(fake_run, at),
        lambda: rs_lab.main(argv))
    assert [(r["weight"], r["kind"]) for r in whole["rows"]] == [
        (w, k) for w in (0.03, 0.1, 0.3, 1.0) for k in ("both", "coeff")]
    assert [h["weight"] for h in whole["heuristics"]] == [0.03, 0.03, 0.1, 0.1, 0.3, 0.3,
                                                          1.0, 1.0]
    assert partial["rows"] == whole["rows"][:1] and partial["heuristics"] == []
    assert calls == 7
    assert untimed(resumed) == untimed(whole)
    # interrupted in the heuristics: the weights done are kept
    place("heur")
    monkeypatch.setattr(rs_lab, "_run", fake_run)
    real = rs_lab.fit_heuristics
    monkeypatch.setattr(rs_lab, "fit_heuristics", Interrupt(real, 3))
    with pytest.raises(KeyboardInterrupt):
        rs_lab.main(argv)
    assert len(json.loads(Path("r.json").read_text())["heuristics"]) == 4
    again = Interrupt(real)
    monkeypatch.setattr(rs_lab, "fit_heuristics", again)
    monkeypatch.setattr(rs_lab, "_run", Interrupt(fake_run, 1))    # every policy is in the file
    rs_lab.main(argv)
    assert again.calls == 2
    assert untimed(json.loads(Path("r.json").read_text())) == untimed(whole)


def test_retail_table1_real_tiny_run_resumes_to_the_same_numbers(place, monkeypatch):
    """DDPG and DS really trained (tiny budget): the resumed file's rows and heuristics are
    the uninterrupted run's, bit for bit."""
    import torch
    n = torch.get_num_threads()
    real = rs_lab._run
    try:
        whole, partial, resumed, calls = interrupted_then_resumed(
            place, monkeypatch, rs_lab, "_run", lambda at: Interrupt(real, at),
            lambda: rs_lab.table1(methods=("ddpg", "ds"), kinds=("none",), budget="tiny",
                              out="r.json"))
    finally:
        torch.set_num_threads(n)
    assert calls == 1 and len(partial["rows"]) == 1
    assert untimed(resumed) == untimed(whole)


def test_a_sigkilled_run_resumes(place, monkeypatch):
    """A real SIGKILL (no exception handler runs) after the first unit: the file holds that
    unit, and the run started again ends with the uninterrupted run's file."""
    import os
    import subprocess
    import sys
    script = """
import os, signal, sys
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, os.path.dirname(sys.argv[1]))    # the repository: the lab
import test_resume as T
from types import SimpleNamespace
from deepstock_lite.core import results_store as store
from lab import ds_experiments as experiments
from pathlib import Path
store.RESULTS = Path("committed")
store.SCRATCH = Path("results_tmp")
calls = []
def cell(*a, **k):
    calls.append(1)
    if len(calls) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return T.fake_cell(*a, **k)
experiments.zipkin_ds_cell = cell
experiments.best_capped_base_stock = lambda law, *, L, **k: SimpleNamespace(cost=4.0 + L)
experiments.main(sys.argv[2:])
"""
    argv = ["zipkin-ds", "--budget", "tiny", "--cells", "1,4", "2,9", "--out", "r.json"]
    monkeypatch.setattr(experiments, "best_capped_base_stock",
                        lambda demand, *, L, **k: SimpleNamespace(cost=4.0 + L))
    place("whole")
    monkeypatch.setattr(experiments, "zipkin_ds_cell", fake_cell)
    experiments.main(argv)
    whole = json.loads(Path("r.json").read_text())
    place("killed")
    proc = subprocess.run([sys.executable, "-c", script, str(Path(__file__).parent), *argv],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == -9, proc.stderr
    partial = json.loads(Path("r.json").read_text())
    assert partial["complete"] is False and partial["rows"] == whole["rows"][:1]
    assert not list(Path(".").glob("**/*.tmp"))
    again = Interrupt(fake_cell)
    monkeypatch.setattr(experiments, "zipkin_ds_cell", again)
    experiments.main(argv)
    assert again.calls == 3
    assert json.loads(Path("r.json").read_text()) == whole


def test_retail_table1_parallel_jobs_write_every_unit(place, monkeypatch):
    """With --jobs 2 (spawned processes, real tiny training) the file is written as each run
    finishes and the rows come in the order of a one-process run, with its numbers."""
    writes = []
    real_write = store.write_json

    def counting(path, data, **kw):
        writes.append(len(data["rows"]))
        return real_write(path, data, **kw)
    kw = dict(methods=("ds",), kinds=("none", "base"), budget="tiny", out="r.json")
    place("one")
    one = rs_lab.table1(jobs=1, **kw)
    place("two")
    monkeypatch.setattr(store, "write_json", counting)
    two = rs_lab.table1(jobs=2, **kw)
    assert writes == [1, 2, 2]                   # each run, then the heuristics
    assert untimed(two["rows"]) == untimed(one["rows"])
    assert json.loads(Path("r.json").read_text())["complete"] is True
