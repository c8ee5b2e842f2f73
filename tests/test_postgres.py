"""Tuning workers on a PostgreSQL storage, as the README documents it: a real server started in
a temporary folder (Debian's ``postgresql`` package provides ``initdb`` and ``pg_ctl``), the
``postgresql://`` URL with the psycopg driver. Skipped, with the reason, where either is
missing."""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _pg_bin(name):
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found if isinstance(found, str) else (found[-1] if found else None)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    """The URL of a fresh database on a server of our own (stopped and removed after the
    module). Its folder is a short path of its own: pytest's are private to root, and a unix
    socket's path must stay under about 100 characters."""
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install "
                                          "'psycopg[binary]', listed in requirements.txt)")
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("no PostgreSQL server programs (initdb, pg_ctl): install Debian's "
                    "postgresql package to run this test")
    folder = Path(tempfile.mkdtemp(prefix="pg"))
    run_as = []
    if os.geteuid() == 0:   # the server refuses to run as root: use the package's own user
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(folder)
            pytest.skip("running as root and no 'postgres' user to run the server as")
        os.chown(folder, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()
    try:
        subprocess.run(run_as + [initdb, "-D", str(data), "-A", "trust", "-U", "postgres"],
                       check=True, capture_output=True, text=True)
        subprocess.run(run_as + [pg_ctl, "-D", str(data), "-l", str(folder / "log"), "-w",
                                 "-o", f"-p {port} -k {folder} -c listen_addresses=''",
                                 "start"], check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"could not start a PostgreSQL server: {getattr(e, 'stderr', e)}")
    try:
        import psycopg
        with psycopg.connect(f"host={folder} port={port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE studies")
        yield f"postgresql://postgres@/studies?host={folder}&port={port}"
    finally:
        subprocess.run(run_as + [pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def test_workers_started_together_on_a_fresh_database(postgres_url, tmp_path):
    """Three workers start at once on an empty database: all create the tables or find them
    (no duplicate-key error), and each runs its own configuration."""
    cmd = [sys.executable, "-m", "lab", "tune", "--method", "ds",
           "--reg", "base", "--setting", "1", "--trials", "1", "--budget", "tiny",
           "--storage", postgres_url]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for _ in range(3)]
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    for w, out in zip(workers, outputs):
        assert w.returncode == 0, out[-2000:]
    import optuna
    study = optuna.load_study(study_name="ds-base-setting1-tiny", storage=postgres_url)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 3
    assert len({tuple(sorted(t.params.items())) for t in done}) == 3


def test_a_lost_schema_race_is_retried(monkeypatch):
    """What the workers above rely on, without a server: a duplicate-key error while the
    tables are created is retried, other errors are not."""
    import sqlalchemy.exc
    from optuna import storages
    from deepstock_lite.paper import optuna_study

    calls = []

    def flaky(url, **kwargs):
        calls.append(url)
        if len(calls) < 3:
            raise sqlalchemy.exc.IntegrityError("CREATE TYPE", {}, Exception("duplicate key"))
        return "storage"

    monkeypatch.setattr(storages, "RDBStorage", flaky)
    monkeypatch.setattr(time, "sleep", lambda s: None)
    assert optuna_study._rdb_storage("postgresql://x") == "storage" and len(calls) == 3

    def broken(url, **kwargs):
        raise sqlalchemy.exc.OperationalError("connect", {}, Exception("no server"))

    monkeypatch.setattr(storages, "RDBStorage", broken)
    with pytest.raises(sqlalchemy.exc.OperationalError):
        optuna_study._rdb_storage("postgresql://x")
