"""The committed results files cannot be replaced by accident, writes are atomic, and every
command checks its arguments and its destination before it trains.

Each test works on copies of the committed files in a temporary "committed" folder
(``results_store.RESULTS`` and ``ZIPKIN_TABLE`` are monkeypatched) and replaces the training
functions with fakes that take no time, so what is tested is where and when files are written.
"""
import errno
import importlib.util
import json
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from deepstock_lite.core import results_store as store
from deepstock_lite.core import results_store as _store
from lab import ds_experiments as experiments, paper, paper_diagnose, retail_diagnose
from deepstock_lite.paper import retail_study as rs
from lab import retail_study as rs_lab
from deepstock_lite.paper import tuning
from lab import zipkin_rl
from lab import sb3_study, tune

ROOT = Path(__file__).resolve().parents[1]
REAL_RESULTS = store.RESULTS
REAL_TABLE = store.ZIPKIN_TABLE


def load_benchmark(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}",
                                                  ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Committed:
    """Copies of the committed files, with a snapshot (bytes and mtime) to compare with."""

    def __init__(self, tmp_path):
        self.folder = tmp_path / "committed" / "results"
        shutil.copytree(REAL_RESULTS, self.folder)
        self.table = tmp_path / "committed" / "zipkin_table.json"
        shutil.copy(REAL_TABLE, self.table)
        self.scratch = tmp_path / "scratch"
        self.snapshot = self._state()

    def _state(self):
        files = sorted(self.folder.iterdir()) + [self.table]
        return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in files}

    def unchanged(self):
        return self._state() == self.snapshot

    def changed(self):
        now = self._state()
        return sorted(k for k in set(now) | set(self.snapshot)
                      if now.get(k) != self.snapshot.get(k))


@pytest.fixture
def committed(tmp_path, monkeypatch):
    c = Committed(tmp_path)
    monkeypatch.setattr(store, "RESULTS", c.folder)
    monkeypatch.setattr(store, "ZIPKIN_TABLE", c.table)
    monkeypatch.setattr(store, "SCRATCH", c.scratch)
    monkeypatch.chdir(tmp_path)
    return c


def no_training(*args, **kwargs):
    raise AssertionError("trained although the command should have stopped before")


def refused(capsys, main, argv, *words):
    """``main(argv)`` stops with a one-line usage error that holds ``words``."""
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert "error:" in last and "Traceback" not in err, err
    for w in words:
        assert w in last, last
    return last


def debris(folder):
    return [p.name for p in Path(folder).rglob("*.tmp")]


# -- fakes of the training functions ------------------------------------------------------------
def fake_cell(L, b, *, reg="base", budget="full", seed=0, surrogate=None, leak=None, **kw):
    return {"L": L, "b": b, "reg": reg, "seed": seed, "gradient": surrogate or "exact",
            "optimal": 4.0, "ds_cost": 4.4, "gap": 0.1, "train_seconds": 0.0,
            "epochs_run": 1, "best_val": 1.0, "config": {}}


def fake_setting_run(key, params, seed=0, **kw):
    return {"val": 1.0, "test": 1.0, "epochs_run": 1, "best_epoch": 0, "cpu_seconds": 0.0}


@pytest.fixture
def fast_ds(monkeypatch):
    monkeypatch.setattr(experiments, "zipkin_ds_cell", fake_cell)
    monkeypatch.setattr(experiments, "ds_setting_run", fake_setting_run)
    monkeypatch.setattr(experiments, "best_capped_base_stock",
                        lambda *a, **k: SimpleNamespace(cost=4.2))


# -- the store ----------------------------------------------------------------------------------
def test_names_and_paths(committed):
    assert store.results_path("x") == committed.folder / "x.json"
    assert store.results_path("a/x") == Path("a/x.json")
    assert store.results_path("x.json") == Path("x.json")
    assert store.is_committed(committed.folder / "zipkin_ds.json")
    assert store.is_committed(committed.table)
    assert not store.is_committed(committed.scratch / "zipkin_ds.json")
    # a plain name goes to scratch unless the run asks (and may) write the committed folder
    assert store.resolve("zipkin_ds", budget="full") == committed.scratch / "zipkin_ds.json"
    assert store.resolve("zipkin_ds", budget="full", write=True) == \
        committed.folder / "zipkin_ds.json"
    for kw in (dict(write=True), dict()):
        out = "zipkin_ds" if kw else str(committed.folder / "zipkin_ds.json")
        with pytest.raises(store.ResultsError, match="committed results file"):
            store.resolve(out, budget="tiny", **kw)


def test_the_chapters_loader_reads_every_committed_file_and_names_a_corrupt_one(committed):
    for path in sorted(REAL_RESULTS.glob("*.json")):
        assert isinstance(_store.load_results(path.stem), dict)
    (committed.folder / "zipkin_ds.json").write_text('{"rows": [1, 2')
    with pytest.raises(ValueError, match=r"zipkin_ds\.json is not a valid results file"):
        _store.load_results("zipkin_ds")
    (committed.folder / "x.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"x\.json is not a valid results file"):
        _store.load_results("x")
    with pytest.raises(ValueError, match="no results file nothing.json"):
        _store.load_results("nothing")


def test_check_replace_refuses_another_budget_or_a_corrupt_file(tmp_path):
    path = tmp_path / "r.json"
    assert store.check_replace(path, {"budget": "tiny"}) is None          # no file yet
    path.write_text(json.dumps({"budget": "full", "rows": [1]}))
    assert store.check_replace(path, {"budget": "full"})["rows"] == [1]   # the same: resume
    with pytest.raises(store.ResultsError, match="--force") as e:
        store.check_replace(path, {"budget": "tiny"})
    assert "r.json" in str(e.value) and "\n" not in str(e.value)
    assert store.check_replace(path, {"budget": "tiny"}, force=True) is None
    path.write_text("{corrupt")
    with pytest.raises(store.ResultsError, match=r"r\.json is not a valid.*--force"):
        store.check_replace(path, {"budget": "full"})
    assert path.read_text() == "{corrupt"


def test_check_writable(tmp_path, monkeypatch):
    assert store.check_writable(tmp_path / "new" / "deeper" / "x.json")
    assert not (tmp_path / "new").exists()               # checked, nothing created
    (tmp_path / "file").write_text("")
    with pytest.raises(store.ResultsError, match="--json: cannot create"):
        store.check_writable(tmp_path / "file" / "x.json", "--json")
    with pytest.raises(store.ResultsError, match="is a folder"):
        store.check_writable(tmp_path)
    real_open = os.open

    def read_only(path, *a, **k):
        if str(path).endswith(".probe.tmp"):
            raise PermissionError(errno.EROFS, os.strerror(errno.EROFS))
        return real_open(path, *a, **k)
    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(store.ResultsError, match="--out: cannot write .*Read-only"):
        store.check_writable(tmp_path / "x.json")
    assert debris(tmp_path) == []


@pytest.mark.parametrize("fail", ["dump", "fsync", "replace"])
def test_a_full_disk_leaves_the_old_file_and_no_debris(tmp_path, monkeypatch, fail):
    path = tmp_path / "r.json"
    path.write_text('{"old": true}')
    before = path.read_bytes()

    def enospc(*a, **k):
        if fail == "dump":
            a[1].write('{"half": ')             # a part of the file reached the disk
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    target = {"dump": (store.json, "dump"), "fsync": (os, "fsync"),
              "replace": (os, "replace")}[fail]
    monkeypatch.setattr(*target, enospc)
    with pytest.raises(OSError) as e:
        store.write_json(path, {"new": True})
    assert e.value.errno == errno.ENOSPC
    assert path.read_bytes() == before and debris(tmp_path) == []


def test_stale_temporary_files_are_cleaned(committed):
    dead = committed.folder / ".zipkin_ds.json.999999999.tmp"    # a killed writer's file
    dead.write_text("{")
    legacy = committed.folder / "tmpab12cd.tmp"                  # an older writer's file
    legacy.write_text("{")
    os.utime(legacy, (1, 1))
    mine = committed.folder / f".zipkin_ds.json.{os.getpid()}.x.tmp"   # not a writer's name
    mine.write_text("{")
    store.write_json(committed.folder / "zipkin_ds.json", {"x": 1})
    assert not dead.exists() and not legacy.exists() and mine.exists()


# -- experiments: zipkin-ds and ds-surrogate ----------------------------------------------------
def test_zipkin_ds_tiny_writes_scratch_not_the_committed_file(committed, fast_ds, capsys):
    experiments.main(["zipkin-ds", "--budget", "tiny", "--cells", "1,4"])
    assert committed.unchanged()
    data = json.loads((committed.scratch / "zipkin_ds.json").read_text())
    assert data["budget"] == "tiny" and len(data["rows"]) == 2
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize("argv,words", [
    (["--budget", "tiny", "--write"], ("committed", "--budget full")),
    (["--budget", "tiny", "--out", "zipkin_ds"], ("committed", "--out PATH")),
    (["--budget", "tiny", "--out", "brand_new"], ("committed",)),
])
def test_zipkin_ds_tiny_may_not_write_the_committed_folder(committed, monkeypatch, capsys,
                                                           argv, words):
    monkeypatch.setattr(experiments, "zipkin_ds_cell", no_training)
    refused(capsys, experiments.main, ["zipkin-ds", "--cells", "1,4", *argv], *words)
    assert committed.unchanged() and not (committed.folder / "brand_new.json").exists()


def test_zipkin_ds_full_replaces_the_committed_file_only_with_write(committed, fast_ds):
    experiments.main(["zipkin-ds", "--cells", "1,4"])
    assert committed.unchanged()                       # a full run without --write: scratch
    assert (committed.scratch / "zipkin_ds.json").exists()
    experiments.main(["zipkin-ds", "--cells", "1,4", "--write"])
    assert committed.changed() == ["zipkin_ds.json"]
    assert len(_store.load_results("zipkin_ds")["rows"]) == 2


def test_another_budget_is_replaced_only_with_force(committed, fast_ds, capsys):
    out = committed.scratch / "z.json"
    out.parent.mkdir()
    shutil.copy(committed.folder / "zipkin_ds.json", out)      # a full-budget file
    before = out.read_bytes()
    refused(capsys, experiments.main, ["zipkin-ds", "--budget", "tiny", "--cells", "1,4",
                                       "--out", str(out)], "z.json", "--force")
    assert out.read_bytes() == before
    experiments.main(["zipkin-ds", "--budget", "tiny", "--cells", "1,4", "--out", str(out),
                      "--force"])
    assert json.loads(out.read_text())["budget"] == "tiny"
    # another experiment's file is refused too
    paper4 = committed.scratch / "p.json"
    shutil.copy(committed.folder / "paper_setting4.json", paper4)
    refused(capsys, experiments.main, ["zipkin-ds", "--budget", "tiny", "--cells", "1,4",
                                       "--out", str(paper4)], "--force")


def test_zipkin_ds_checks_its_destination_before_training(committed, monkeypatch, capsys):
    monkeypatch.setattr(experiments, "zipkin_ds_cell", no_training)
    (committed.scratch).mkdir()
    (committed.scratch / "file").write_text("")
    refused(capsys, experiments.main, ["zipkin-ds", "--budget", "tiny", "--out",
                                       str(committed.scratch / "file" / "x.json")],
            "--out", "cannot create")
    real_open = os.open

    def read_only(path, *a, **k):
        if str(path).endswith(".probe.tmp"):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return real_open(path, *a, **k)
    monkeypatch.setattr(os, "open", read_only)
    refused(capsys, experiments.main, ["zipkin-ds", "--budget", "tiny", "--out",
                                       str(committed.scratch / "ro" / "x.json")],
            "--out", "cannot write", "Permission denied")


def test_ds_surrogate_tiny_honours_seeds_and_leaves_the_committed_file(committed, fast_ds):
    experiments.main(["ds-surrogate", "--budget", "tiny", "--seeds", "1"])
    assert committed.unchanged()
    data = json.loads((committed.scratch / "ds_surrogate.json").read_text())
    assert data["budget"] == "tiny" and data["seeds"] == [0]
    assert {r["seed"] for r in data["rows"]} == {0}


def test_experiments_cli_rejects_bad_options(committed, monkeypatch, capsys):
    monkeypatch.setattr(experiments, "zipkin_ds_cell", no_training)
    monkeypatch.setattr(experiments, "ds_setting_run", no_training)
    refused(capsys, experiments.main, ["ds-surrogate", "--budget", "medium"], "--budget")
    refused(capsys, experiments.main, ["ds-surrogate", "--budget", "tiny", "--seeds", "0"],
            "--seeds")
    refused(capsys, experiments.main, ["ds-surrogate", "--budget", "tiny", "--regs", "base"],
            "--regs")
    with pytest.raises(SystemExit):
        experiments.main(["--help"])
    assert "medium" not in capsys.readouterr().out.split("--budget")[1].split("--seeds")[0]
    # a corrupt input file is named, without a traceback
    (committed.folder / "paper_setting1.json").write_text("{")
    refused(capsys, experiments.main, ["ds-surrogate", "--budget", "tiny"],
            "paper_setting1.json")


# -- paper --------------------------------------------------------------------------------------
@pytest.fixture
def fast_paper(monkeypatch, tmp_path):
    import optuna

    def fake_study(method, reg, key, trials, **kw):
        study = optuna.create_study()
        dist = {"lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)}
        for k in range(trials):
            study.add_trial(optuna.trial.create_trial(
                value=1.0 + k, params={"lr": 1e-3}, distributions=dist,
                user_attrs={"test": 1.0, "cpu_seconds": 0.1}))
        return study
    monkeypatch.setattr(paper, "run_study", fake_study)
    monkeypatch.setattr(paper, "benchmark", lambda key, reading="total":
                        {"benchmark": 1.0, "kind": "fake"})
    monkeypatch.setattr(paper, "evaluate_config", lambda *a, **k: {"val": 1.0, "test": 1.0})
    monkeypatch.setattr(paper, "make_setting", lambda *a, **k: SimpleNamespace(name="fake"))
    monkeypatch.setattr(paper, "_storage", lambda key: f"sqlite:///{tmp_path}/s{key}.db")


def test_paper_tiny_writes_scratch(committed, fast_paper):
    paper.main(["--settings", "4", "--budget", "tiny", "--trials", "2", "--seeds", "1",
                "--methods", "ds"])
    assert committed.unchanged()
    data = json.loads((committed.scratch / "paper_setting4.json").read_text())
    assert data["budget"] == "tiny" and len(data["rows"]) == 2


@pytest.mark.parametrize("argv,words", [
    (["--settings", "4", "--methods", "--budget", "tiny"], ("--methods",)),
    (["--settings", "--budget", "tiny"], ("--settings",)),
    (["--settings", "4", "--budget", "tiny", "--write"], ("committed", "paper_setting4")),
    (["--settings", "1", "2", "--out", "x"], ("--out", "folder")),
    (["--settings", "1", "--trials", "1"], ("--trials",)),
    (["--settings", "1", "--seeds", "0"], ("--seeds",)),
    (["--overfit", "--budget", "tiny"], ("--overfit", "--budget")),
    (["--settings", "4", "--budget", "full", "--write"], ("paper_setting4.json", "--force")),
])
def test_paper_cli_refuses_before_training(committed, monkeypatch, capsys, argv, words):
    for name in ("run_study", "benchmark", "evaluate_config", "ds_overfit"):
        monkeypatch.setattr(paper, name, no_training)
    refused(capsys, paper.main, argv, *words)
    assert committed.unchanged()


def test_paper_small_write_replaces_its_committed_file(committed, fast_paper):
    paper.main(["--settings", "4", "--trials", "2", "--seeds", "1", "--methods", "ds",
                "--write"])
    assert committed.changed() == ["paper_setting4.json"]


def test_paper_out_folder_for_several_settings(committed, fast_paper):
    paper.main(["--settings", "1", "4", "--budget", "tiny", "--trials", "2", "--seeds", "1",
                "--methods", "ds", "--out", "mine/"])
    assert committed.unchanged()
    assert sorted(p.name for p in Path("mine").iterdir()) == ["paper_setting1.json",
                                                              "paper_setting4.json"]


# -- paper_diagnose and retail_diagnose ---------------------------------------------------------
def test_paper_diagnose_tiny_writes_scratch(committed, monkeypatch, capsys):
    monkeypatch.setattr(paper_diagnose, "ds_lr_curves", lambda *a, **k: {"runs": []})
    monkeypatch.setattr(paper_diagnose, "s4_none_replay", lambda *a, **k: {"rows": []})
    paper_diagnose.main(["--budget", "tiny"])
    assert committed.unchanged()
    assert json.loads((committed.scratch / "paper_diagnoses.json").read_text())["budget"] \
        == "tiny"
    for name in ("ds_lr_curves", "s4_none_replay"):
        monkeypatch.setattr(paper_diagnose, name, no_training)
    refused(capsys, paper_diagnose.main, ["--budget", "tiny", "--write"], "committed")
    refused(capsys, paper_diagnose.main, ["--budget", "tiny", "--out", "paper_diagnoses"],
            "committed")
    (committed.folder / "paper_setting4.json").write_text("[]")
    refused(capsys, paper_diagnose.main, ["--budget", "tiny"], "paper_setting4.json")
    assert committed.changed() == ["paper_setting4.json"]


def test_retail_diagnose_checks_before_training(committed, monkeypatch, capsys):
    monkeypatch.setattr(retail_diagnose, "fit_method", no_training)
    monkeypatch.setattr(retail_diagnose, "tune_heuristic", no_training)
    refused(capsys, retail_diagnose.main, ["--budget", "tiny", "--seeds", "0"], "--seeds")
    refused(capsys, retail_diagnose.main, ["--budget", "tiny", "--write"], "committed")
    refused(capsys, retail_diagnose.main, ["--budget", "tiny", "--out", "retail_diagnose"],
            "committed")
    assert retail_diagnose.target("tiny", (0,))[0] == committed.scratch / "retail_diagnose.json"
    assert retail_diagnose.target("full", (0,), write=True)[0] == \
        committed.folder / "retail_diagnose.json"
    (committed.folder / "retail_table1.json").write_text("{")
    refused(capsys, retail_diagnose.main, ["--budget", "tiny"], "retail_table1.json")


# -- retail_study -------------------------------------------------------------------------------
@pytest.fixture
def fast_retail(monkeypatch):
    monkeypatch.setattr(rs_lab, "_run", lambda task: {"method": task[0], "kind": task[1],
                                                  "seed": task[4], "objective": 1.0})
    monkeypatch.setattr(rs_lab, "fit_heuristics", lambda envs: [])
    monkeypatch.setattr(rs.RetailStudy, "build", lambda self: (None, None, None))


def test_retail_table1_tiny_writes_scratch(committed, fast_retail):
    rs_lab.main(["retail-table1", "--budget", "tiny", "--methods", "ds", "--seeds", "1"])
    assert committed.unchanged()
    data = json.loads((committed.scratch / "retail_table1.json").read_text())
    assert data["budget"] == "tiny" and data["complete"]


@pytest.mark.parametrize("argv,words", [
    (["retail-pareto", "--policies", "ds"], ("--policies", "METHOD:KIND")),
    (["retail-pareto", "--policies", "ds:ridge"], ("--policies",)),
    (["retail-pareto", "--methods", "ds"], ("--methods", "retail-table1")),
    (["retail-table1", "--critic-input", "order"], ("--critic-input", "--methods ddpg")),
    (["retail-table1", "--budget", "tiny", "--write"], ("committed",)),
    (["retail-table1", "--seeds", "0"], ("--seeds",)),
    (["retail-table1", "--jobs", "0"], ("--jobs",)),
    (["retail-table1", "--methods", "ddpg", "--critic-input", "order", "--write"],
     ("retail_table1.json", "--force")),
    (["retail-pareto", "--budget", "short", "--write"], ("committed",)),
])
def test_retail_study_cli_refuses_before_training(committed, monkeypatch, capsys, argv,
                                                  words):
    monkeypatch.setattr(rs_lab, "_run", no_training)
    monkeypatch.setattr(rs_lab, "_run_units", no_training)
    refused(capsys, rs_lab.main, argv, *words)
    assert committed.unchanged()


# -- zipkin_rl ----------------------------------------------------------------------------------
def test_zipkin_rl_seeds_and_destination(committed, monkeypatch, capsys):
    monkeypatch.setattr(zipkin_rl, "zipkin_rl_run", no_training)
    refused(capsys, zipkin_rl.main, ["--budget", "tiny", "--seeds", "0"], "--seeds")
    refused(capsys, zipkin_rl.main, ["--budget", "tiny", "--write"], "committed")
    monkeypatch.setattr(zipkin_rl, "zipkin_rl_run", lambda L, b, *, algo, reg, seed, budget: {
        "L": L, "b": b, "algo": algo, "reg": reg, "seed": seed, "gap": 0.1,
        "cpu_seconds": 0.0})
    monkeypatch.setattr(zipkin_rl, "best_capped_base_stock",
                        lambda *a, **k: SimpleNamespace(cost=4.2))
    zipkin_rl.main(["--budget", "tiny", "--cells", "1,4", "--seeds", "1", "--algos", "ddpg"])
    assert committed.unchanged()
    assert len(json.loads((committed.scratch / "zipkin_rl.json").read_text())["rows"]) == 2
    # the committed full-budget file given as --out to a tiny run: refused, kept
    refused(capsys, zipkin_rl.main, ["--budget", "tiny", "--out",
                                     str(committed.folder / "zipkin_rl.json")], "committed")
    assert committed.unchanged()


# -- sb3_study ----------------------------------------------------------------------------------
def fake_sb3_row(lib, algo, reg, instance, seed, budget="full"):
    return {"lib": lib, "algo": algo, "reg": reg, "instance": instance, "seed": seed,
            "final_gap": 0.1, "best_gap": 0.05, "cpu_to_5pct_s": None, "cpu_s": 1.0}


def test_sb3_study_writes_nothing_before_its_first_run(committed, monkeypatch, capsys):
    seen = []

    def run_one(*args):
        seen.append((committed.scratch / "sb3_study.json").exists())
        assert committed.unchanged()
        return fake_sb3_row(*args)
    monkeypatch.setattr(sb3_study, "run_one", run_one)
    sb3_study.main(["--budget", "tiny", "--libs", "book", "--algos", "ddpg", "--regs", "none"])
    assert seen == [False] and committed.unchanged()
    data = json.loads((committed.scratch / "sb3_study.json").read_text())
    assert data["meta"]["budget"] == "tiny" and len(data["runs"]) == 1


def test_sb3_study_refuses_a_corrupt_out_file(committed, monkeypatch, capsys):
    monkeypatch.setattr(sb3_study, "run_one", no_training)
    bad = Path("bad.json")
    bad.write_text('{"meta": {"budget": "tiny"}, "runs": {"a": ')
    argv = ["--budget", "tiny", "--libs", "book", "--algos", "ddpg", "--regs", "none",
            "--out", str(bad)]
    refused(capsys, sb3_study.main, argv, "bad.json", "--force")
    assert bad.read_text().endswith('"a": ')
    other = Path("other.json")
    shutil.copy(committed.folder / "sb3_study.json", other)       # a full-budget study
    refused(capsys, sb3_study.main, argv[:-1] + [str(other)], "other.json", "--force")
    refused(capsys, sb3_study.main, argv[:-2] + ["--write"], "committed")
    monkeypatch.setattr(sb3_study, "run_one", fake_sb3_row)
    sb3_study.main(argv + ["--force"])
    assert len(json.loads(bad.read_text())["runs"]) == 1
    assert committed.unchanged()


# -- benchmarks ---------------------------------------------------------------------------------
def test_dp_subset_may_not_replace_the_committed_table(committed, capsys):
    dp = load_benchmark("dp")
    refused(capsys, dp.main, ["--L", "1", "--b", "4", "--write"], "committed table", "--L")
    refused(capsys, dp.main, ["--L", "0"], "--L")
    refused(capsys, dp.main, ["--b", "-4"], "--b")
    refused(capsys, dp.main, ["--L", "1", "--b", "4", "--write", "--out", str(committed.table)],
            "committed table")
    assert committed.unchanged()
    dp.main(["--L", "1", "--b", "4", "--write", "--out", "one.json"])
    assert len(json.loads(Path("one.json").read_text())["cells"]) == 1
    refused(capsys, dp.main, ["--L", "1", "--b", "9", "--write", "--out", "one.json"],
            "--force")
    bad = Path("bad.json")
    bad.write_text("{")
    refused(capsys, dp.main, ["--L", "1", "--b", "4", "--write", "--out", "bad.json"],
            "bad.json")
    assert bad.read_text() == "{"


def test_dp_full_disk_leaves_the_table(committed, monkeypatch):
    dp = load_benchmark("dp")
    shutil.copy(committed.table, "t.json")
    before = Path("t.json").read_bytes()
    monkeypatch.setattr(dp, "solve_cell", lambda L, b: json.loads(before)["cells"][0])

    def enospc(*a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, "replace", enospc)
    with pytest.raises(OSError):
        dp.main(["--write", "--out", "t.json"])
    assert Path("t.json").read_bytes() == before and debris(".") == []


def test_agents_checks_everything_before_training(committed, monkeypatch, capsys):
    agents = load_benchmark("agents")
    monkeypatch.setattr(agents, "run", no_training)
    refused(capsys, agents.main, ["--algos", "ddpg", "foo"], "--algos")
    refused(capsys, agents.main, ["--instances", "c"], "--instances")
    refused(capsys, agents.main, ["--steps", "0"], "--steps")
    Path("file").write_text("")
    refused(capsys, agents.main, ["--json", "file/rows.json"], "--json")
    monkeypatch.setattr(agents, "run", lambda algo, name, seed, test, steps=None: {
        "algo": algo, "instance": name, "seed": seed, "initial_eval_cost": 9.0,
        "test_cost": 7.5, "gap": 0.05, "gap_vs_base_stock": 0.01, "time_to_3pct_s": None,
        "wall_s": 1.0, "cpu_ms_per_step": 1.0})
    agents.main(["--algos", "ddpg", "--instances", "a", "--seeds", "0", "--test-paths", "2",
                 "--json", "new/folder/rows.json"])          # a missing folder is created
    assert json.loads(Path("new/folder/rows.json").read_text())[0]["algo"] == "ddpg"


def test_retail_benchmark_checks_before_training(committed, monkeypatch, capsys):
    retail = load_benchmark("retail")
    monkeypatch.setattr(retail, "train_and_evaluate", no_training)
    refused(capsys, retail.main, ["--scale", "-5"], "--scale")
    refused(capsys, retail.main, ["--train-scale", "0"], "--train-scale")
    refused(capsys, retail.main, ["--epochs", "0"], "--epochs")
    Path("file").write_text("")
    refused(capsys, retail.main, ["--json", "file/x.json"], "--json")


def test_tuning_cli_checks_before_training(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(tuning, "run_study", no_training)
    refused(capsys, tune.main, ["--trials", "0"], "--trials")
    refused(capsys, tune.main, ["--storage", "studies.db"], "--storage")
    refused(capsys, tune.main, ["--seed", "-1"], "--seed")
    (tmp_path / "file").write_text("")
    refused(capsys, tune.main, ["--storage", f"sqlite:///{tmp_path}/file/x.db"], "--storage")


# -- book execute -------------------------------------------------------------------------------
def test_book_execute_replaces_the_notebook_atomically(tmp_path, monkeypatch):
    import nbclient
    import nbformat

    from deepstock_lite import book

    path = tmp_path / "chapter.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    before = path.read_bytes()
    monkeypatch.setattr(nbclient.NotebookClient, "execute", lambda self, **kw: self.nb)
    real_write = nbformat.write

    def full_disk(nb, fp, *a, **k):
        fp.write(nbformat.writes(nb)[:4096])           # the first 4 KB reached the disk
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(nbformat, "write", full_disk)
    with pytest.raises(OSError):
        book.execute([path])
    assert path.read_bytes() == before and debris(tmp_path) == []
    monkeypatch.setattr(nbformat, "write", real_write)
    book.execute([path])                                 # a normal run writes it
    assert nbformat.read(path, as_version=4).cells[0].source == "1 + 1"
    assert debris(tmp_path) == []


# -- every driver's write on a full disk --------------------------------------------------------
def _fake_rl_row(L, b, *, algo, reg, seed, budget):
    return {"L": L, "b": b, "algo": algo, "reg": reg, "seed": seed, "gap": 0.1,
            "cpu_seconds": 0.0}


def _agents_row(algo, name, seed, test, steps=None):
    return {"algo": algo, "instance": name, "seed": seed, "initial_eval_cost": 9.0,
            "test_cost": 7.5, "gap": 0.05, "gap_vs_base_stock": 0.01, "time_to_3pct_s": None,
            "wall_s": 1.0, "cpu_ms_per_step": 1.0}


def _paper_diagnose_fakes(mp):
    mp.setattr(paper_diagnose, "ds_lr_curves", lambda *a, **k: {"runs": []})
    mp.setattr(paper_diagnose, "s4_none_replay", lambda *a, **k: {"rows": []})


def _zipkin_rl_fakes(mp):
    mp.setattr(zipkin_rl, "zipkin_rl_run", _fake_rl_row)
    mp.setattr(zipkin_rl, "best_capped_base_stock", lambda *a, **k: SimpleNamespace(cost=4.2))


#: each writer, run at the committing budget with --write: (fakes, main, argv, file it writes)
WRITERS = {
    "zipkin-ds": ("ds", experiments.main, ["zipkin-ds", "--cells", "1,4", "--write"],
                  "zipkin_ds.json"),
    "ds-surrogate": ("ds", experiments.main, ["ds-surrogate", "--seeds", "4", "--write"],
                     "ds_surrogate.json"),
    "paper": ("paper", paper.main, ["--settings", "4", "--trials", "2", "--seeds", "1",
                                    "--methods", "ds", "--write"], "paper_setting4.json"),
    "paper_diagnose": (_paper_diagnose_fakes, paper_diagnose.main, ["--write"],
                       "paper_diagnoses.json"),
    "retail_study": ("retail", rs_lab.main, ["retail-table1", "--methods", "ds", "--write"],
                     "retail_table1.json"),
    "zipkin_rl": (_zipkin_rl_fakes, zipkin_rl.main, ["--cells", "1,4", "--seeds", "3",
                                                     "--algos", "ddpg", "--write"],
                  "zipkin_rl.json"),
    "sb3_study": (lambda mp: mp.setattr(sb3_study, "run_one", fake_sb3_row), sb3_study.main,
                  ["--write", "--libs", "book", "--algos", "ddpg", "--regs", "none",
                   "--instances", "a", "--seeds", "7"], "sb3_study.json"),
    "agents": (lambda mp: mp.setattr(agents_module(), "run", _agents_row),
               lambda argv: agents_module().main(argv),
               ["--algos", "ddpg", "--instances", "a", "--seeds", "0", "--test-paths", "2",
                "--json", "RESULTS/agents.json"], "agents.json"),
}
_AGENTS = []


def agents_module():
    if not _AGENTS:
        _AGENTS.append(load_benchmark("agents"))
    return _AGENTS[0]


@pytest.mark.parametrize("fail", ["dump", "replace"])
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_every_writer_on_a_full_disk_keeps_the_old_file(committed, request, monkeypatch,
                                                        writer, fail):
    fakes, main, argv, name = WRITERS[writer]
    if isinstance(fakes, str):
        request.getfixturevalue({"ds": "fast_ds", "paper": "fast_paper",
                                 "retail": "fast_retail"}[fakes])
    else:
        fakes(monkeypatch)
    argv = [a.replace("RESULTS", str(committed.folder)) for a in argv]
    if writer == "agents":
        (committed.folder / name).write_text("[]")
        committed.snapshot = committed._state()
    real_dump = json.dump

    def enospc(*a, **k):
        if fail == "dump":
            a[1].write('{"half": ')                # a part of the file reached the disk
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    if fail == "dump":
        monkeypatch.setattr(json, "dump", lambda obj, f, **k: enospc(obj, f)
                            if str(getattr(f, "name", "")).endswith(".tmp")
                            else real_dump(obj, f, **k))
    else:
        monkeypatch.setattr(os, "replace", enospc)
    with pytest.raises(OSError) as e:
        main(argv)
    assert e.value.errno == errno.ENOSPC
    assert committed.unchanged(), committed.changed()
    assert debris(committed.folder.parent) == [] and debris(".") == []


def test_check_then_run_refuses_before_running(capsys):
    """The commands' common ending: a refused destination is a one-line usage error and
    nothing runs; otherwise the run happens, on one torch thread."""
    import argparse
    import torch
    parser = argparse.ArgumentParser(prog="cmd")
    ran = []

    def refuse():
        raise store.ResultsError("--out: cannot write here")

    with pytest.raises(SystemExit):
        store.check_then_run(parser, refuse, lambda: ran.append(1))
    assert not ran and "cmd: error: --out: cannot write here" in capsys.readouterr().err
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert store.check_then_run(parser, lambda: None, torch.get_num_threads) == 1
    finally:
        torch.set_num_threads(threads)
