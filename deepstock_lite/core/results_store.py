"""Where results files live, how they are read and written, and who may replace them.

The chapters load JSON results files that long experiment drivers write: the *committed*
results folder ``deepstock_lite/data/results/`` and the committed table
``deepstock_lite/data/zipkin_table.json``. Every driver goes through this module:

* :func:`results_path` turns a results name into a path (a plain name such as ``"zipkin_ds"``
  is a file of the committed folder; anything with a folder or a ``.json`` suffix is a path);
* :func:`load` reads a results file, with an error that names the file when it is missing or
  corrupt;
* :func:`write_json` and :func:`atomic_write` write atomically: into a temporary file
  ``.<name>.<pid>.tmp`` of the same folder (flushed and synced), then ``os.replace``; on any
  exception the temporary file is removed and the old file is left as it was;
* :func:`prepare` decides, before any training, where a run writes, and refuses what would
  silently replace a file.

**The protection rule.** A committed file is written only by a run at its driver's
committing budget (``full``; the paper sweep: ``small`` or ``full``) and only on an explicit
request: ``--write``, or ``--out NAME`` with a plain name (in Python: ``write=True``, or a path
inside the committed folder). Every other run writes to ``results_tmp/<name>.json`` under the
current directory, or to the path given by ``--out PATH``. An existing file whose budget or
schema differs from the run's (or that is not valid JSON) is replaced only with ``--force``
(``force=True``). Numpy/scipy-free and torch-free: the lowest layer.
"""
from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

__all__ = ["RESULTS", "ZIPKIN_TABLE", "SCRATCH", "ResultsError", "check_out", "is_plain_name",
           "results_path", "is_committed", "load", "atomic_write", "write_json",
           "check_writable", "resolve", "check_replace", "prepare", "describe", "report",
           "int_at_least", "add_output_options", "output_request", "check_then_run",
           "prepare_from_args", "load_results", "interrupted", "finished_units",
           "process_alive"]

#: the committed results folder the chapters load from
RESULTS = Path(__file__).resolve().parents[1] / "data" / "results"
#: the committed table of Zipkin's lost-sales cells (``benchmarks/dp.py --write``)
ZIPKIN_TABLE = RESULTS.parent / "zipkin_table.json"
#: where runs that may not write the committed folder write by default (relative to the
#: current directory; ignored by git)
SCRATCH = Path("results_tmp")


class ResultsError(ValueError):
    """A results file cannot be read, or a run may not write where it was asked to; the
    message is one line and names the file (and the option that would allow it)."""


def check_out(out, name="out"):
    """A results name or path (a non-empty string or a path, not a folder)."""
    if isinstance(out, Path):
        out = str(out)
    if not isinstance(out, str) or not out.strip() or out.endswith(("/", "\\")):
        raise ResultsError(f"{name} must be a results name (a file in data/results/) or a file "
                           f"path, got {out!r}")
    return out


def is_plain_name(out):
    """True for a results name (no folder, no ``.json``): a file of the committed folder."""
    return (isinstance(out, str) and bool(out.strip()) and "/" not in out and "\\" not in out
            and not out.endswith(".json"))


def _with_json(path):
    path = Path(path)
    return path if path.suffix == ".json" else path.with_name(path.name + ".json")


def results_path(name, folder=None):
    """Path of a results file: ``<folder>/<name>.json`` for a plain name (``folder`` defaults
    to the committed folder :data:`RESULTS`), or ``name`` itself (``.json`` added when
    missing) when it has a folder or a ``.json`` suffix."""
    name = check_out(name)
    if is_plain_name(name):
        return Path(RESULTS if folder is None else folder) / f"{name}.json"
    return _with_json(name)


def is_committed(path):
    """Whether ``path`` is a committed file: inside :data:`RESULTS`, or :data:`ZIPKIN_TABLE`."""
    path = Path(path).resolve()
    committed = Path(RESULTS).resolve()
    return path == Path(ZIPKIN_TABLE).resolve() or committed in path.parents


def describe(path):
    """``path`` as printed in messages: relative to the current directory when below it."""
    path = Path(path)
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    return str(path)


def load(name, *, hint=None):
    """The JSON object of a results file (a name or a path); a :class:`ResultsError` naming
    the file when it is missing, unreadable, not JSON, or not a JSON object."""
    path = results_path(name)
    if not path.exists():
        raise ResultsError(f"no results file {path.name} in {describe(path.parent)}; "
                           + (hint or "generate it with the command in its driver's docstring"))
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise ResultsError(f"{describe(path)} is not a valid results file (JSON error at line "
                           f"{e.lineno}, column {e.colno}: {e.msg}); regenerate it, or restore "
                           "a committed one with git") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ResultsError(f"{describe(path)} cannot be read ({type(e).__name__}: "
                           f"{str(e).splitlines()[0] if str(e) else ''})") from None
    if not isinstance(data, dict):
        raise ResultsError(f"{describe(path)} is not a valid results file (a JSON "
                           f"{type(data).__name__}, not an object)")
    return data


def load_results(name):
    """Load a results file (a name in ``data/results/`` or a path), as the chapters do; an
    error naming the file when it is missing or corrupt."""
    name = check_out(name, "name")
    try:
        return load(name, hint="generate it with its lab command (README, 'For authors')")
    except ResultsError as e:
        raise ResultsError(f"{e} (name={name!r})") from None


def interrupted(old, force=False):
    """``old`` (the content of a results file, as :func:`prepare` returns it) when a new run
    resumes it: an interrupted run's file (``"complete": false``), and no ``force``; else
    ``None``: a finished file (or one written before ``complete`` was recorded) is replaced
    by a new run, as the regenerate commands expect, and ``force`` starts afresh."""
    ok = not force and isinstance(old, dict) and old.get("complete") is False
    return old if ok else None


def finished_units(old, key, *, rows="rows", same=None):
    """The rows of ``old`` (an interrupted run's file, :func:`interrupted`, or a part of it)
    that a new run may keep, by ``key(row)``: every row of ``old[rows]`` that ``key`` can
    read, when ``same(old)`` (default: always; e.g. the same study) holds; ``{}`` for no
    file. The caller keeps those of its plan, in the plan's order, and runs the others."""
    if old is None or (same is not None and not same(old)):
        return {}
    out = {}
    for row in old.get(rows) or []:
        try:
            out[key(row)] = row
        except (KeyError, TypeError):
            continue
    return out


def _tmp_name(path, pid=None):
    return path.with_name(f".{path.name}.{os.getpid() if pid is None else pid}.tmp")


def process_alive(pid):
    """Whether process ``pid`` of this machine still runs (a process we may not signal
    counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def _clean_stale(path):
    """Remove temporary files a killed writer of ``path`` left (their process is gone), and
    in the committed folder the ``tmp*.tmp`` files older writers left more than ten minutes
    ago."""
    folder = path.parent
    with contextlib.suppress(OSError):
        for tmp in folder.glob(f".{path.name}.*.tmp"):
            pid = tmp.name[len(path.name) + 2:-len(".tmp")]
            if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
                with contextlib.suppress(OSError):
                    tmp.unlink()
        if folder.resolve() == Path(RESULTS).resolve():
            for tmp in folder.glob("tmp*.tmp"):
                with contextlib.suppress(OSError):
                    if time.time() - tmp.stat().st_mtime > 600:
                        tmp.unlink()


def atomic_write(path, write, *, encoding="utf-8"):
    """Write ``path`` atomically: ``write(f)`` fills a temporary file ``.<name>.<pid>.tmp`` of
    the same folder, which is flushed, synced and moved over ``path``. On any exception
    (a full disk, an interrupt) the temporary file is removed and ``path`` is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(path)
    tmp = _tmp_name(path)
    try:
        with open(tmp, "w", encoding=encoding) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError, AttributeError):   # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return path


def write_json(path, data, *, newline=False):
    """Write ``data`` as JSON (``indent=1``, a final newline when ``newline``) atomically."""
    def dump(f):
        json.dump(data, f, indent=1)
        if newline:
            f.write("\n")
    return atomic_write(path, dump)


def check_writable(path, option="--out"):
    """Check, without changing anything, that ``path`` can be written: not a folder, and its
    folder (or the nearest existing folder above it, where the missing ones will be created)
    accepts a new file. A :class:`ResultsError` naming ``option`` otherwise."""
    path = Path(path)
    if path.is_dir():
        raise ResultsError(f"{option}: {describe(path)} is a folder; give a file name")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise ResultsError(f"{option}: cannot create {describe(path)}: {describe(folder)} is "
                           "not a folder")
    probe = folder / f".{path.name}.{os.getpid()}.probe.tmp"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        reason = os.strerror(e.errno) if e.errno else str(e)
        raise ResultsError(f"{option}: cannot write {describe(path)} ({describe(folder)}: "
                           f"{reason})") from None
    return path


def resolve(out, *, budget, committing=("full",), write=False, option="--out"):
    """The path a run at ``budget`` writes for ``out`` (a results name or a path).

    A plain name goes to the committed folder when ``write`` is true, else to
    :data:`SCRATCH`; a path is taken as given. A committed destination (a plain name with
    ``write``, or a path inside the committed folder) needs ``budget`` in ``committing``."""
    out = check_out(out, option.lstrip("-"))
    if is_plain_name(out):
        path = results_path(out) if write else Path(SCRATCH) / f"{out}.json"
    else:
        path = results_path(out)
    if is_committed(path) and budget not in committing:
        only = " or ".join(f"--budget {b}" for b in committing)
        raise ResultsError(
            f"{describe(path)} is a committed results file, which only a {only} run may "
            f"replace; a {budget!r}-budget run writes elsewhere: drop --write (and --out "
            f"NAME), or give {option} PATH, e.g. {option} "
            f"{describe(Path(SCRATCH) / path.name)}")
    return path


def check_replace(path, identity, *, force=False, get=None, defaults=None):
    """The existing content of ``path`` when a run with ``identity`` (fields such as
    ``budget`` and ``experiment``) may take it over, ``None`` when there is none (or ``force``).

    Refuses, with a :class:`ResultsError` naming the file and ``--force``, a file that is not
    valid JSON or whose fields differ from ``identity`` (``get(old)`` picks the dict to
    compare, e.g. a ``meta`` block; ``defaults`` gives the value of a field older files
    lack)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        old = load(path)
        fields = old if get is None else get(old)
        if not isinstance(fields, dict):
            raise ResultsError(f"{describe(path)} is not a results file of this experiment")
    except ResultsError as e:
        if force:
            return None
        raise ResultsError(f"{e}; pass --force to replace it") from None
    defaults = defaults or {}
    diff = [k for k, v in identity.items() if fields.get(k, defaults.get(k)) != v]
    if diff and not force:
        have = ", ".join(f"{k}={fields.get(k, defaults.get(k))!r}" for k in diff)
        want = ", ".join(f"{k}={identity[k]!r}" for k in diff)
        raise ResultsError(f"{describe(path)} holds another run ({have}; this run: {want}); "
                           "pass --force to replace it, or write elsewhere with --out PATH")
    return None if diff else old


def prepare(out, *, budget, identity, committing=("full",), write=False, force=False,
            get=None, defaults=None, option="--out"):
    """Everything a run checks about its results file before it trains: ``(path, old)``, the
    destination (:func:`resolve`) and its current content when the run may resume from it
    (:func:`check_replace`; ``None`` for a new file or with ``force``), after checking that
    the destination can be written (:func:`check_writable`)."""
    path = resolve(out, budget=budget, committing=committing, write=write, option=option)
    old = check_replace(path, identity, force=force, get=get, defaults=defaults)
    check_writable(path, option)
    return path, old


def report(path):
    """The line a driver prints once it has written ``path``."""
    path = Path(path)
    msg = f"wrote {describe(path)}"
    if not is_committed(path) and (Path(RESULTS) / path.name).exists():
        msg += (f" (the committed {path.name} is unchanged: a run at the committing budget "
                "replaces it with --write)")
    return msg


# -- command-line helpers ---------------------------------------------------------------------
def int_at_least(low, high=None):
    """An argparse ``type``: an integer in ``[low, high]``, else the usual one-line usage error
    naming the option."""
    import argparse

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if value < low or (high is not None and value > high):
            rng = f">= {low}" if high is None else f"in [{low}, {high}]"
            raise argparse.ArgumentTypeError(f"must be an integer {rng}, got {value}")
        return value
    parse.__name__ = "integer"
    return parse


def add_output_options(p, default, committing=("full",)):
    """``--out``, ``--write`` and ``--force``, as every experiment command has them
    (``committing``: the budgets that may write a committed file)."""
    only = " or ".join(committing) + " budget only"
    p.add_argument("--out", default=None, metavar="NAME|PATH",
                   help=f"results file: a plain NAME is data/results/NAME.json (a committed "
                        f"file: {only}, as --write), a PATH (with a folder or "
                        f"ending in .json) is taken as given; default: {default} in "
                        "results_tmp/, or in data/results/ with --write")
    p.add_argument("--write", action="store_true",
                   help=f"replace the committed results file the chapters load ({only})")
    p.add_argument("--force", action="store_true",
                   help="replace an existing results file of another budget or experiment, "
                        "or one that is not valid JSON")


def output_request(a):
    """``(out, write)`` of parsed :func:`add_output_options`: ``--out NAME`` asks, as
    ``--write`` does, for the committed folder."""
    return a.out, bool(a.write or (a.out is not None and is_plain_name(a.out)))


def check_then_run(parser, check, run):
    """The end of an experiment command: ``check()`` reads what the run needs and checks its
    destination before anything trains (a :class:`ResultsError` becomes the parser's one-line
    usage error), then ``run()`` with torch on one thread (the book's setting: on small CPUs
    faster, and reproducible); returns what ``run()`` returns."""
    try:
        check()
    except ResultsError as e:
        parser.error(str(e))
    import torch
    torch.set_num_threads(1)
    return run()


def prepare_from_args(parser, args, name, identity):
    """:func:`prepare` for a command with :func:`add_output_options` and ``--budget``:
    ``(path, old)``, or the usual one-line usage error naming the problem."""
    out, write = output_request(args)
    try:
        return prepare(out or name, budget=args.budget, write=write, force=args.force,
                       identity=identity, get=lambda d: d.get("meta"))
    except ResultsError as e:
        parser.error(str(e))
