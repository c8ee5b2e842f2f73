"""Bad arguments that used to crash deep inside a call or to return NaN/inf silently: each is
refused up front with a ``ValueError``/``TypeError`` naming the argument and its range or type,
and the valid calls around them still work (and give the same numbers)."""
import os

import numpy as np
import pytest
import torch

from deepstock_lite import core
from deepstock_lite.book import check
from deepstock_lite.paper.catalogue import make_catalogue
from deepstock_lite.paper.retail import RetailEnv, tune_heuristic
from deepstock_lite.rl.checkpoint import load_checkpoint, save_checkpoint
from deepstock_lite.core.decoding import BaseStockDecoder, IdentityDecoder, Regularization
from deepstock_lite.rl.normalization import ObsNormalizer, RunningMeanStd

NAN, INF = float("nan"), float("inf")
F32_MAX = float(np.finfo(np.float32).max)


# -- tune_heuristic(env) -----------------------------------------------------------------------
@pytest.mark.parametrize("env", [3, [], [1, 2], None, "env", 1e308])
def test_tune_heuristic_refuses_an_env_that_is_not_a_retail_env(env):
    with pytest.raises(TypeError, match=r"^env must be a RetailEnv"):
        tune_heuristic("base_stock", env, {"k": [1.0]})


def test_tune_heuristic_still_tunes_a_retail_env():
    env = RetailEnv(make_catalogue(n_skus=3, horizon=8, seed=0), np.arange(3), burn_in=0)
    best, obj, table = tune_heuristic("base_stock", env, {"k": [0.0, 1.0]})
    assert len(table) == 2 and np.isfinite(obj) and best["k"] in (0.0, 1.0)


# -- ObsNormalizer(clip), RunningMeanStd(epsilon) ----------------------------------------------
@pytest.mark.parametrize("clip", [1e153, 1e308, 3.5e38])
def test_obs_normalizer_refuses_a_clip_beyond_float32(clip):
    with pytest.raises(ValueError, match=r"^clip must be in \(0, 3\.40282.*float32"):
        ObsNormalizer(2, clip=clip)


@pytest.mark.parametrize("clip", [NAN, INF, -INF, 0.0, -1.0])
def test_obs_normalizer_refuses_non_finite_or_non_positive_clip(clip):
    with pytest.raises(ValueError, match=r"^clip must be"):
        ObsNormalizer(2, clip=clip)


def test_obs_normalizer_accepts_clip_up_to_float32_max():
    n = ObsNormalizer(2, clip=F32_MAX)
    n.update(np.array([[1.0, 2.0], [3.0, 5.0]]))
    assert torch.isfinite(n(torch.ones(3, 2))).all()
    assert np.isfinite(n(np.ones((3, 2)))).all()


@pytest.mark.parametrize("epsilon", [1e308, 1e153, 1e9, INF, NAN, -1.0])
def test_running_mean_std_refuses_a_huge_epsilon(epsilon):
    with pytest.raises(ValueError, match=r"^epsilon must be"):
        RunningMeanStd((2,), epsilon=epsilon)


def test_running_mean_std_largest_epsilon_keeps_finite_statistics():
    r = RunningMeanStd((2,), epsilon=1e8)
    r.update(np.full((5, 2), 1e6))
    assert np.isfinite(r.mean).all() and np.isfinite(r.var).all()


# -- save_checkpoint / load_checkpoint(path) ---------------------------------------------------
@pytest.mark.parametrize("fn", [lambda p: save_checkpoint(p, {"x": 1}), load_checkpoint],
                         ids=["save", "load"])
@pytest.mark.parametrize("path", ["", "a\0b"], ids=["empty", "nul"])
def test_checkpoint_refuses_an_empty_path(fn, path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"^path must be a non-empty file name"):
        fn(path)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("path", [3, None, [], ["a.pt"], b"a.pt", 1e308])
def test_checkpoint_refuses_a_path_that_is_not_a_path(path):
    with pytest.raises(TypeError, match=r"^path must be a str or os.PathLike"):
        save_checkpoint(path, {"x": 1})
    with pytest.raises(TypeError, match=r"^path must be a str or os.PathLike"):
        load_checkpoint(path)


def test_save_checkpoint_refuses_a_folder(tmp_path):
    with pytest.raises(ValueError, match=r"^path must name a file"):
        save_checkpoint(tmp_path, {"x": 1})
    assert os.listdir(tmp_path) == []


def test_checkpoint_round_trip_unchanged(tmp_path):
    p = save_checkpoint(tmp_path / "c.pt", {"w": torch.arange(3.0)})
    assert p == str(tmp_path / "c.pt")
    assert torch.equal(load_checkpoint(p)["w"], torch.arange(3.0))
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")


# -- book.check(root) --------------------------------------------------------------------------
@pytest.mark.parametrize("root", [3, 0, [], [1], ("a",), 1.5, b"."])
def test_book_check_refuses_a_root_that_is_not_a_path(root):
    with pytest.raises(TypeError, match=r"^root must be a str or os.PathLike"):
        check(root)


@pytest.mark.parametrize("root", ["", "a\0b"])
def test_book_check_refuses_an_empty_root(root):
    with pytest.raises(ValueError, match=r"^root must be a non-empty folder path"):
        check(root)


def test_book_check_without_a_book_above_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        check(str(tmp_path))


# -- simulate(demand) --------------------------------------------------------------------------
class _Yields:
    """A demand process whose ``sample`` returns fixed values."""

    def __init__(self, values):
        self.values = values

    def sample(self, n, horizon, seed=None):
        return np.broadcast_to(np.asarray(self.values, float), (n, horizon)).copy()


@pytest.mark.parametrize("bad", [NAN, INF, -INF, -1.0, 1e153, 1e308])
@pytest.mark.parametrize("as_process", [False, True], ids=["array", "process"])
def test_simulate_refuses_non_finite_or_negative_demand(bad, as_process):
    s = core.InventorySystem(L=1)
    values = np.array([[2.0, bad, 3.0], [1.0, 1.0, 1.0]])
    demand = _Yields(values) if as_process else values
    with pytest.raises(ValueError, match=r"^demand must be"):
        core.simulate(s, core.BaseStock(5), demand, n=2, horizon=3)


def test_simulate_refuses_a_process_without_a_callable_sample():
    class P:
        sample = 3
    with pytest.raises(TypeError, match=r"^demand must be .*sample is not callable"):
        core.simulate(core.InventorySystem(), core.BaseStock(5), P(), n=2, horizon=3)


def test_simulate_refuses_a_tensor_that_requires_grad():
    d = torch.ones(2, 3, requires_grad=True)
    with pytest.raises(TypeError, match=r"^demand must be"):
        core.simulate(core.InventorySystem(), core.BaseStock(5), d)


def test_simulate_costs_unchanged():
    """Fixed inputs, exact costs (computed before the checks were added)."""
    D = np.array([[3.0, 1.0, 4.0, 1.0, 5.0, 9.0], [2.0, 6.0, 5.0, 3.0, 5.0, 8.0]])
    r = core.simulate(core.InventorySystem(L=1, h=1.0, b=9.0), core.BaseStock(5), D)
    assert r.cost.tolist() == [[27.0, 1.0, 0.0, 0.0, 9.0, 81.0],
                               [18.0, 27.0, 54.0, 27.0, 27.0, 72.0]]
    r = core.simulate(core.InventorySystem(L=0, backlog=False, K=2.0, c=0.5),
                      core.SSPolicy(2, 6), D)
    assert r.cost.tolist() == [[8.0, 2.0, 6.0, 9.0, 0.0, 32.0],
                               [9.0, 18.0, 6.0, 7.5, 18.0, 23.0]]
    r = core.simulate(core.InventorySystem(L=2, K=1.5, c=0.25), core.BaseStock(9),
                      core.Poisson(3), n=2, horizon=6, seed=11)
    assert r.cost.tolist() == [[21.75, 20.0, 5.0, 6.0, 3.25, 29.25],
                               [39.75, 65.5, 3.25, 3.75, 5.25, 6.0]]


# -- decoders ----------------------------------------------------------------------------------
OBS = np.array([[2.0, 1.0, 0.5], [0.0, 3.0, 0.2]])


@pytest.mark.parametrize("a", [-INF, INF, NAN, np.array([1.0, NAN]), np.array([[-INF], [1.0]]),
                               [1.0, INF]])
def test_identity_decoder_refuses_non_finite_actions(a):
    with pytest.raises(ValueError, match=r"^a \(the actor's output\) must be finite"):
        IdentityDecoder()(a, OBS)


@pytest.mark.parametrize("a", [None, "3", [[1.0], [2.0, 3.0]], {}])
def test_identity_decoder_refuses_non_numbers(a):
    with pytest.raises(TypeError, match=r"^a \(the actor's output\) must be numbers"):
        IdentityDecoder()(a, OBS)


def test_identity_decoder_returns_its_input():
    a = np.array([[1.5], [0.0]])
    assert IdentityDecoder()(a, OBS) is a
    t = torch.tensor([1.0, 2.0])
    assert IdentityDecoder()(t, OBS) is t


@pytest.mark.parametrize("a", [-INF, INF, NAN, np.array([4.0, NAN])])
def test_base_stock_decoder_refuses_non_finite_targets(a):
    with pytest.raises(ValueError, match=r"^a \(the target inventory position\) must be fin"):
        BaseStockDecoder(2)(a, OBS)


@np.errstate(over="ignore")
def test_base_stock_decoder_refuses_an_overflowing_order():
    obs = np.array([[-1e308, 0.0, 0.0]])
    with pytest.raises(ValueError, match=r"^a and obs give a non-finite order"):
        BaseStockDecoder(2)(1e308, obs)


def test_base_stock_decoder_refuses_a_mismatched_shape():
    with pytest.raises(ValueError, match=r"^a must be a number or match"):
        BaseStockDecoder(2)(np.ones(3), OBS)


def test_base_stock_decoder_values_unchanged():
    q = BaseStockDecoder(2)(np.array([4.0, 1.0]), OBS)
    np.testing.assert_array_equal(q, [1.0, 0.0])
    assert q.dtype == np.float64


@pytest.mark.parametrize("kind, kw", [("none", dict(a_max=10.0)), ("base", dict(a_max=10.0)),
                                      ("coeff", dict(feature_index=(2,), bias_scale=1.0)),
                                      ("both", dict(feature_index=(2,), bias_scale=1.0))])
def test_regularization_refuses_non_finite_outputs_and_features(kind, kw):
    reg = Regularization(kind, L=2, **kw)
    u = np.full((2, reg.n_outputs), 0.5)
    u[1, 0] = NAN
    with pytest.raises(ValueError, match=r"^u \(the network's output\) must be finite"):
        reg(u, OBS)
    if kind in ("coeff", "both"):
        obs = OBS.copy()
        obs[0, 2] = INF
        with pytest.raises(ValueError, match=r"^u and obs give a non-finite order"):
            reg(np.full((2, reg.n_outputs), 0.5), obs)
    with pytest.raises(ValueError, match=r"^u and obs give a non-finite order"), \
            np.errstate(over="ignore"):
        reg(np.full((2, reg.n_outputs), 1e308), OBS)    # the order overflows
    good = reg(np.full((2, reg.n_outputs), 0.5), OBS)
    assert np.isfinite(good).all()
