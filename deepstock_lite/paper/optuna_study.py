"""Optuna studies that survive killed workers, for :mod:`deepstock_lite.paper.tuning`: the
storage, a TPE sampler seeded per trial, the recovery of dead workers' trials, and the reading
of the finished trials (the best-so-far curve, the trial table).

A study lives in an Optuna storage — a local SQLite file by default — so it survives being
killed: every finished trial is committed, and a restarted worker continues the same study.
A trial left ``RUNNING`` by a killed worker is marked failed and its configuration queued
again (it runs next, under a new trial number, and is not counted as a failure): at once when
a worker starts on the same machine (each trial records its worker's host and process id,
:func:`worker_info`), else by the heartbeat, 30 s after the worker stopped.

**Seeds.** The sampler's randomness for trial number ``k`` comes from a generator seeded by
the study name, the sampler seed and ``k`` (:func:`trial_seed`). Trial numbers are unique in a
storage, so workers sharing a study never draw the same configuration, a resumed worker does
not repeat the first configurations, and one worker on a fresh study is reproducible.
"""
from __future__ import annotations

import copy
import hashlib
import math
import os
import socket
import time
from pathlib import Path

import numpy as np

from ..core.results_store import process_alive
from ..core.validation import check_int

__all__ = ["open_study", "trial_seed", "recover_dead_trials", "worker_info", "check_storage",
           "complete_trials", "best_so_far", "trial_table"]


def trial_seed(study_name, sampler_seed, number):
    """The seed of the sampler's generator for trial ``number`` of study ``study_name``: a
    hash of the three, in ``[0, 2**32)``. Distinct trials (and so distinct workers, which
    never share a trial number) draw from distinct generators."""
    text = f"{study_name}\0{int(sampler_seed)}\0{int(number)}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:4], "little")


def _sampler(study_name, n_startup_trials, sampler_seed):
    """TPE (``n_startup_trials`` random trials first) whose generator is re-seeded at the start
    of every trial with :func:`trial_seed`: what a trial draws depends on the study's
    finished trials and on its number, not on which worker runs it or what that worker ran
    before."""
    import optuna

    class TrialSeededTPE(optuna.samplers.BaseSampler):
        def __init__(self):
            self._tpe = self._make(0)

        @staticmethod
        def _make(number):
            return optuna.samplers.TPESampler(
                n_startup_trials=n_startup_trials,
                seed=trial_seed(study_name, sampler_seed, number))

        def before_trial(self, study, trial):
            self._tpe = self._make(trial.number)
            self._tpe.before_trial(study, trial)

        def infer_relative_search_space(self, study, trial):
            return self._tpe.infer_relative_search_space(study, trial)

        def sample_relative(self, study, trial, search_space):
            return self._tpe.sample_relative(study, trial, search_space)

        def sample_independent(self, study, trial, param_name, param_distribution):
            return self._tpe.sample_independent(study, trial, param_name, param_distribution)

        def after_trial(self, study, trial, state, values):
            self._tpe.after_trial(study, trial, state, values)

        def reseed_rng(self):
            self._tpe.reseed_rng()

    return TrialSeededTPE()


def worker_info():
    """What a trial records about the process that runs it (``user_attrs["worker"]``)."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def recover_dead_trials(study, max_retry=1):
    """Mark failed the trials left ``RUNNING`` by a worker of this machine whose process is
    gone, and queue each one's configuration again (as Optuna's heartbeat does for a stale
    trial: a ``WAITING`` trial with ``system_attrs["failed_trial"]``, at most ``max_retry``
    times), so the next trial any worker starts re-runs it. Trials of live workers, of other
    machines, or that recorded no worker are left to the heartbeat. Returns the numbers of
    the trials failed."""
    import optuna
    from optuna.trial import TrialState
    try:
        from optuna.storages import RetryHeartbeatStaleTrialCallback as Retry
    except ImportError:  # pragma: no cover
        from optuna.storages import RetryFailedTrialCallback as Retry

    import warnings

    storage, me = study._storage, worker_info()
    with warnings.catch_warnings():   # flagged "experimental" by Optuna
        warnings.simplefilter("ignore")
        retry = Retry(max_retry=max_retry)
    failed = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        who = t.user_attrs.get("worker")
        if not isinstance(who, dict) or who.get("host") != me["host"]:
            continue
        pid = who.get("pid")
        if not isinstance(pid, int) or pid == me["pid"] or process_alive(pid):
            continue
        try:   # another worker starting at the same time may have failed it first
            if not storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
        failed.append(t.number)
        retry(study, copy.deepcopy(storage.get_trial(t._trial_id)))
    return failed


def _rdb_storage(url, attempts=5, **kwargs):
    """Optuna's ``RDBStorage(url, **kwargs)``. Workers started together on a fresh database all
    try to create its tables; on PostgreSQL the losers fail with a duplicate-key error while
    the winner commits, so a loser waits and tries again, and then finds the tables made."""
    import sqlalchemy.exc
    from optuna.storages import RDBStorage

    for attempt in range(attempts):
        try:
            return RDBStorage(url, **kwargs)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 * (attempt + 1))


def open_study(name, storage=None, n_startup_trials=10, seed=0):
    """Create or load a study (minimizing the validation loss) with TPE and a heartbeat, after
    failing and re-queueing the trials of dead workers of this machine
    (:func:`recover_dead_trials`). ``seed`` is the sampler seed (:func:`trial_seed`), not a
    training seed."""
    import optuna
    import warnings
    from optuna.storages import RDBStorage
    try:  # Optuna >= 4.9
        from optuna.storages import RetryHeartbeatStaleTrialCallback as Retry
    except ImportError:  # pragma: no cover
        from optuna.storages import RetryFailedTrialCallback as Retry

    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string, got {name!r}")
    storage = check_storage(storage) or "sqlite:///studies/deepstock.db"
    n_startup_trials = check_int("n_startup_trials", n_startup_trials, low=0)
    seed = check_int("seed", seed, low=0)
    if storage.startswith("sqlite:///"):
        Path(storage[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # the heartbeat is flagged "experimental" by Optuna
        warnings.simplefilter("ignore")
        import inspect
        kw = ("heartbeat_stale_trial_callback"
              if "heartbeat_stale_trial_callback" in inspect.signature(RDBStorage).parameters
              else "failed_trial_callback")
        rdb = _rdb_storage(storage, heartbeat_interval=10, grace_period=30,
                           **{kw: Retry(max_retry=1)})
    study = optuna.create_study(study_name=name, storage=rdb,
                                sampler=_sampler(name, n_startup_trials, seed),
                                direction="minimize", load_if_exists=True)
    recover_dead_trials(study)
    return study


def check_storage(storage):
    """``storage`` checked: ``None`` or a database URL string (``sqlite:///...``)."""
    if storage is not None and not isinstance(storage, str):
        raise TypeError(f"storage must be None or a database URL string such as "
                        f"'sqlite:///studies/deepstock.db', got {type(storage).__name__}")
    if isinstance(storage, str) and "://" not in storage:
        raise ValueError(f"storage must be a database URL such as "
                         f"'sqlite:///studies/deepstock.db', got {storage!r}")
    return storage


def complete_trials(study):
    """The finished (``COMPLETE``) trials of ``study``, by trial number."""
    import optuna
    try:
        trials = study.trials
    except AttributeError:
        raise TypeError(f"study must be an optuna Study, got {type(study).__name__}") from None
    return sorted((t for t in trials if t.state == optuna.trial.TrialState.COMPLETE),
                  key=lambda t: t.number)


def best_so_far(study):
    """For trial k = 1…n: the best validation loss among the first k finished trials and the
    test loss of that configuration (the paper's best-so-far curve)."""
    best_val, best_test, out = math.inf, math.nan, []
    for t in complete_trials(study):
        if t.value < best_val:
            best_val, best_test = t.value, t.user_attrs.get("test", math.nan)
        out.append((best_val, best_test))
    return np.array(out).reshape(-1, 2)


def trial_table(study):
    """Every finished trial in order: ``{"number", "val", "test", "params"}`` (plain types,
    for a results file)."""
    return [{"number": t.number, "val": float(t.value),
             "test": float(t.user_attrs.get("test", math.nan)), "params": dict(t.params)}
            for t in complete_trials(study)]
