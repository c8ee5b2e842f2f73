"""Property-based fuzz of the public entry points of every subpackage (``core``,
``classical``, ``envs``, ``rl``, ``deepstock``).

Each case of :mod:`fuzz_all` is a public callable with a small valid call; hypothesis
replaces one argument by a bad value (negative, zero, NaN, inf, huge, wrong type, wrong
shape or dtype, empty, a list where a name is expected). The property: the call either
succeeds with finite results, or raises ``ValueError``/``TypeError`` whose message names
the argument; no other exception, no silent NaN/inf, no hang. Derandomized, so CI runs the
same examples every time; ``python tests/fuzz_all.py`` runs the broader deterministic sweep.
"""
import contextlib

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import fuzz_all as F  # noqa: E402

# Cases whose baseline call is itself a long computation (a tuning study) are left to the
# deterministic sweep of fuzz_all.py.
_SLOW = {"deepstock.tuning.evaluate_config", "deepstock.tuning.run_study",
         "deepstock.train_ds"}

# Findings in files owned by other layers, reported for their owners; remove a line when
# its file is fixed. (case, argument) -> owner file.
PENDING = {
    # s_S_cost accepts S up to s + 200,000 and its cost is quadratic in S - s: about 4 s at
    # S = 79,433 and 30 s at the bound on a loaded machine (past the 4 s limit of _check)
    ("classical.s_S_cost", "S"): "deepstock_lite/classical/s_S.py",
}

CASES = [c for c in F._cases() if c.name not in _SLOW]

_shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)
_arrays = st.one_of(
    hnp.arrays(dtype=st.sampled_from([np.float64, np.float32]), shape=_shapes,
               elements=st.floats(allow_nan=True, allow_infinity=True, width=32)),
    hnp.arrays(dtype=np.int64, shape=_shapes,
               elements=st.integers(min_value=-(10 ** 12), max_value=10 ** 12)))
BAD = st.one_of(
    st.sampled_from(F.ALL_BAD),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10 ** 20), max_value=10 ** 20),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=3),
    st.text(max_size=3),
    _arrays,
)


def _params(mine):
    for case in CASES:
        if case.name.startswith(("core.", "classical.")) != mine:
            continue
        for param in case.fuzz_params():
            marks = []
            owner = PENDING.get((case.name, param))
            if owner is not None:
                marks.append(pytest.mark.xfail(strict=False, reason=f"pending: {owner}"))
            yield pytest.param(case, param, id=f"{case.name}-{param}", marks=marks)


def _check(case, param, bad):
    status, detail = F.run_call(case, param, bad, timeout=4.0)
    assert status in ("ok", "named"), (
        f"{case.name}({param}={F.bad_repr(bad)}): {status}: {detail} [owner {case.owner}]")


_SETTINGS = dict(deadline=None, derandomize=True, database=None,
                 suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("case, param", list(_params(True)))
@settings(max_examples=6, **_SETTINGS)
@given(bad=BAD)
def test_bad_argument_is_rejected_clearly(case, param, bad):
    """core and classical."""
    _check(case, param, bad)


@pytest.mark.parametrize("case, param", list(_params(False)))
@settings(max_examples=2, **_SETTINGS)
@given(bad=BAD)
def test_bad_argument_is_rejected_clearly_other_layers(case, param, bad):
    """envs, rl and deepstock (fewer examples: their calls are heavier; the sweep of
    ``python tests/fuzz_all.py`` covers them fully)."""
    _check(case, param, bad)


def test_every_export_of_core_and_classical_is_fuzzed():
    """Every public callable of ``core`` and ``classical`` has a fuzz case."""
    import deepstock_lite.classical as C
    import deepstock_lite.core as K
    covered = {c.name.split("[")[0].split(".")[1] for c in CASES
               if c.name.startswith(("core.", "classical."))}
    data_only = {"InventoryState", "PeriodRecord", "SimulationResult", "DemandProcess",
                 "DemandSplits", "Policy", "NewsvendorSolution", "BaseStockSolution",
                 "SSResult", "FiniteHorizonSS", "LostSalesResult", "PolicyEvaluation",
                 "HeuristicResult", "Setting1Solution", "DiscreteDistribution",
                 "LookupPolicy", "RQSolution"}
    missing = [n for mod in (K, C) for n in mod.__all__
               if callable(getattr(mod, n)) and n not in covered | data_only]
    assert not missing, f"exports without a fuzz case: {missing}"


def _classical():
    import deepstock_lite.classical
    return deepstock_lite.classical


@pytest.mark.parametrize("call, exc, name", [
    (lambda: __import__("deepstock_lite").core.Normal(3, 1e308), ValueError, "std"),
    (lambda: __import__("deepstock_lite").core.poisson_pmf(3, tail=0), ValueError, "tail"),
    (lambda: __import__("deepstock_lite").core.InventorySystem(h=1e308), ValueError, "h"),
    (lambda: __import__("deepstock_lite").core.DiscreteDemand([0.5, 0.5]).convolve_power(
        10 ** 18), ValueError, "n"),
    (lambda: _classical().lost_sales_heuristics(
        _classical().DiscreteDemand.poisson(1), L=1, h=1, b=4, tol=-1), ValueError, "tol"),
    (lambda: _classical().solve_lost_sales(
        _classical().DiscreteDemand.poisson(20), L=12, h=1, b=99), ValueError, "L"),
    (lambda: _classical().optimal_s_S(
        _classical().DiscreteDemand.poisson(5), h=1e-9, b=9, K=1e9), ValueError, "K"),
])
def test_guards_up_front(call, exc, name):
    """Huge sizes, powers and iteration limits are refused at once, naming the argument."""
    import time
    t0 = time.perf_counter()
    with pytest.raises(exc, match=name):
        call()
    assert time.perf_counter() - t0 < 2.0


# -- huge floats, empty strings and wrong types for environment, path and decoder arguments,
# with a *use* of what a constructor builds (a clip or a pseudo-count only overflows later) --
HUGE_VALUES = [1e153, -1e153, 1e308, -1e308, float("inf"), -float("inf"), float("nan"), "",
               "x", b"x", None, 0, 3, -1, [], [1, 2], ["a"], (1,), {}, F._Weird()]
HUGE = st.one_of(
    st.sampled_from(HUGE_VALUES),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=1e100, max_value=1e308),
)


def _finite_arrays(shape):
    """Arrays of a valid shape whose values may be NaN, inf, huge or negative."""
    return hnp.arrays(np.float64, shape, elements=st.one_of(
        st.sampled_from([0.0, 1.0, -1.0, 1e153, 1e308, -1e308, float("nan"), float("inf"),
                         -float("inf")]),
        st.floats(allow_nan=True, allow_infinity=True)))


def _named(param, msg):
    """The message names ``param`` as a word (``a`` must not match inside ``array``)."""
    import re
    return re.search(rf"(?<![\w.]){re.escape(param)}(?!\w)", msg) is not None


def _check_strict(case, param, bad):
    status, detail = F.run_call(case, param, bad, timeout=4.0)
    if status == "named":
        assert _named(param, detail), f"{case.name}({param}={F.bad_repr(bad)}): {detail}"
    assert status in ("ok", "named"), (
        f"{case.name}({param}={F.bad_repr(bad)}): {status}: {detail} [owner {case.owner}]")


class _Yields:
    """A demand process whose ``sample`` returns the drawn values."""

    def __init__(self, values):
        self.values = values

    def sample(self, n, horizon, seed=None):
        return self.values


def _retail_env():
    from deepstock_lite.paper.catalogue import make_catalogue
    from deepstock_lite.paper.retail_env import RetailEnv
    return RetailEnv(make_catalogue(n_skus=2, horizon=6, seed=0), np.arange(2), burn_in=0)


def _extra_cases():
    import torch

    from deepstock_lite import core
    from deepstock_lite.paper import retail_policies as RP
    from deepstock_lite.core import decoding as DEC
    from deepstock_lite.rl import normalization as N

    def normalizer_use(n):
        n.update(np.full((4, n.dim), 3.0) + np.arange(4)[:, None])
        return n(np.ones((2, n.dim))), n(torch.ones(2, n.dim))

    def rms_use(r):
        steps = np.arange(4).reshape(-1, *[1] * r.mean.ndim)
        r.update(np.full((4, *r.mean.shape), 1e6) * steps)
        return r.mean, r.var, r.count

    def simulate_process(demand):
        return core.simulate(core.InventorySystem(L=1), core.BaseStock(5), _Yields(demand),
                             n=2, horizon=3).cost

    Or = "deepstock_lite/rl/"
    obs = np.array([[2.0, 1.0, 0.5], [0.0, 3.0, 0.2]])
    return [
        F.Case("deepstock.tune_heuristic", "deepstock_lite/paper/retail_policies.py",
               lambda: RP.tune_heuristic, dict(name="base_stock", env=_retail_env(),
                                               grid={"k": [1.0]}),
               params=["env", "name", "grid"]),
        F.Case("rl.ObsNormalizer[use]", Or + "normalization.py", lambda: N.ObsNormalizer,
               dict(dim=2, enabled=True, clip=10.0, eps=1e-8), use=normalizer_use),
        F.Case("rl.RunningMeanStd[use]", Or + "normalization.py", lambda: N.RunningMeanStd,
               dict(shape=(2,), epsilon=1e-4), use=rms_use),
        F.Case("core.simulate[yields]", "deepstock_lite/core/simulator.py",
               lambda: simulate_process, dict(demand=np.ones((2, 3)))),
        F.Case("rl.IdentityDecoder.__call__", "deepstock_lite/core/decoding.py",
               lambda: DEC.IdentityDecoder(), dict(a=np.ones((2, 1)), obs=obs), params=["a"]),
        F.Case("rl.BaseStockDecoder.__call__", "deepstock_lite/core/decoding.py",
               lambda: DEC.BaseStockDecoder(2), dict(a=np.full(2, 4.0), obs=obs)),
        F.Case("rl.Regularization.__call__[both]", "deepstock_lite/core/decoding.py",
               lambda: DEC.Regularization("both", L=2, feature_index=(2,), bias_scale=1.0),
               dict(u=np.full((2, 2), 0.5), obs=obs)),
        F.Case("rl.Regularization.__call__[none]", "deepstock_lite/core/decoding.py",
               lambda: DEC.Regularization("none", L=2, a_max=10.0),
               dict(u=np.full((2, 1), 0.5), obs=obs)),
    ]


EXTRA = _extra_cases()
# the values each argument draws beyond HUGE: arrays of its valid shape with bad entries
_SHAPED = {("core.simulate[yields]", "demand"): (2, 3),
           ("rl.IdentityDecoder.__call__", "a"): (2, 1),
           ("rl.BaseStockDecoder.__call__", "a"): (2,),
           ("rl.BaseStockDecoder.__call__", "obs"): (2, 3),
           ("rl.Regularization.__call__[both]", "u"): (2, 2),
           ("rl.Regularization.__call__[both]", "obs"): (2, 3),
           ("rl.Regularization.__call__[none]", "u"): (2, 1),
           ("rl.Regularization.__call__[none]", "obs"): (2, 3)}


def _extra_params():
    for case in EXTRA:
        for param in case.fuzz_params():
            yield pytest.param(case, param, id=f"{case.name}-{param}")


@pytest.mark.parametrize("case, param", list(_extra_params()))
@settings(max_examples=25, **_SETTINGS)
@given(data=st.data())
def test_huge_nonfinite_and_wrong_type_arguments(case, param, data):
    """Huge floats (1e153, 1e308), ±inf, NaN, empty strings and wrong types (int, list,
    None) for environment, normalizer, demand and decoder arguments: a finite result or a
    ValueError/TypeError naming the argument."""
    shape = _SHAPED.get((case.name, param))
    strategy = HUGE if shape is None else st.one_of(HUGE, _finite_arrays(shape))
    _check_strict(case, param, data.draw(strategy, label=param))


@pytest.mark.parametrize("case, param", list(_extra_params()))
def test_huge_nonfinite_and_wrong_type_arguments_sweep(case, param):
    """Every value of ``HUGE_VALUES`` (and, for array arguments, arrays of the valid shape
    holding NaN, ±inf or ±1e308), whatever hypothesis happens to draw."""
    shape = _SHAPED.get((case.name, param))
    values = list(HUGE_VALUES)
    if shape is not None:
        for v in (float("nan"), float("inf"), -float("inf"), 1e308, -1e308):
            arr = np.ones(shape)
            arr.flat[-1] = v
            values.append(arr)
    for bad in values:
        _check_strict(case, param, bad)


PATH_VALUES = ["", "\0", "a\0b", None, 0, 3, 1e308, float("nan"), [], ["a.pt"], (1,),
               b"x.pt", {}, F._Weird(), ".", ".."]
PATHS = st.one_of(
    st.sampled_from(PATH_VALUES),
    st.text(alphabet=st.characters(blacklist_characters="/\\"), max_size=8),
)


@contextlib.contextmanager
def _in_empty_folder():
    """Relative paths land in a fresh temporary folder (no book, no checkpoint above)."""
    import os
    import tempfile
    old = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            yield tmp
        finally:
            os.chdir(old)


def _path_call(fn, path, allowed=()):
    """``fn(path)`` returns, raises an ``allowed`` exception, or a ValueError/TypeError
    naming ``path``/``root``; nothing else."""
    try:
        fn(path)
    except allowed:
        pass
    except (ValueError, TypeError) as e:
        assert _named("path", str(e)) or _named("root", str(e)), f"{path!r}: {e}"


def _checkpoint_paths_hold(path):
    from deepstock_lite.rl.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
    with _in_empty_folder():
        _path_call(lambda p: save_checkpoint(p, {"x": 1}), path)
        _path_call(load_checkpoint, path, allowed=(FileNotFoundError, CheckpointError))


def _book_root_holds(root):
    from deepstock_lite.book import check
    with _in_empty_folder():
        _path_call(check, root, allowed=(FileNotFoundError,))


@settings(max_examples=40, **_SETTINGS)
@given(path=PATHS)
def test_checkpoint_path_arguments(path):
    """``save_checkpoint``/``load_checkpoint``: empty strings, NUL characters, folders and
    wrong types are refused naming ``path``; a missing file is ``FileNotFoundError``, a
    folder or foreign file a ``CheckpointError``."""
    _checkpoint_paths_hold(path)


@settings(max_examples=40, **_SETTINGS)
@given(root=PATHS)
def test_book_check_root_argument(root):
    """``book.check``: wrong types, empty strings and NUL characters refused naming ``root``;
    a folder with no book above is ``FileNotFoundError``."""
    _book_root_holds(root)


@pytest.mark.parametrize("value", PATH_VALUES, ids=F.bad_repr)
def test_path_arguments_sweep(value):
    """Every value of ``PATH_VALUES``, whatever hypothesis happens to draw."""
    _checkpoint_paths_hold(value)
    _book_root_holds(value)
