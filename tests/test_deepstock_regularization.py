"""The four decodings on hand-computed inputs, numpy and torch alike."""
import numpy as np
import pytest
import torch

from deepstock_lite.paper import Regularization, initial_bias_logit

# observation layout for L = 3: [on_hand, pipeline x2, f1, f2]
OBS = np.array([[10.0, 4.0, 6.0, 2.0, 3.0],
                [-5.0, 0.0, 0.0, 1.0, 0.5]])


def test_none_and_base_by_hand():
    u = np.array([[0.3], [0.5]])
    none = Regularization("none", L=3, a_max=100)
    base = Regularization("base", L=3, a_max=100)
    np.testing.assert_allclose(none(u, OBS), [30, 50])
    # targets 30 and 50, positions 20 and -5
    np.testing.assert_allclose(base(u, OBS), [10, 55])
    np.testing.assert_allclose(base(np.array([[0.1], [0.0]]), OBS), [0, 5])


def test_coeff_and_both_by_hand():
    u = np.array([[0.5, 0.25, 0.2], [1.0, 0.0, 0.0]])
    kw = dict(L=3, feature_index=(3, 4), days=28, bias_scale=10)
    coeff = Regularization("coeff", **kw)
    both = Regularization("both", **kw)
    # 28 * (0.5*2 + 0.25*3) + 0.2*10 = 51;  28 * (1*1) + 0 = 28
    np.testing.assert_allclose(coeff(u, OBS), [51, 28])
    np.testing.assert_allclose(both(u, OBS), [51 - 20, 28 + 5])
    assert coeff.n_outputs == 3


def test_every_nonnegative_order_is_reachable_under_base():
    base = Regularization("base", L=3, a_max=100)
    position = OBS[:, 0] + OBS[:, 1:3].sum(1)
    for q in (0.0, 7.5, 42.0):
        u = ((position + q) / 100)[:, None]   # target = position + q
        np.testing.assert_allclose(base(u, OBS), q)


def test_torch_matches_numpy_and_has_gradients():
    for kind, extra in [("none", {"a_max": 80}), ("base", {"a_max": 80}),
                        ("coeff", {"feature_index": (3, 4), "bias_scale": 5}),
                        ("both", {"feature_index": (3, 4), "bias_scale": 5})]:
        reg = Regularization(kind, L=3, **extra)
        u = np.random.default_rng(0).random((2, reg.n_outputs))
        ut = torch.tensor(u, requires_grad=True)
        qt = reg(ut, torch.tensor(OBS))
        np.testing.assert_allclose(qt.detach().numpy(), reg(u, OBS))
        qt.sum().backward()
        assert torch.isfinite(ut.grad).all()


def test_initial_bias():
    assert 1 / (1 + np.exp(-initial_bias_logit(0.3))) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="fraction"):
        initial_bias_logit(1.0)


@pytest.mark.parametrize("args, kwargs, match", [
    (("ridge",), {}, "kind must be one of"),
    (("base",), {"L": 1}, "a_max"),
    (("none",), {"a_max": -1}, "a_max must be in"),
    (("coeff",), {"L": 1}, "feature_index must name"),
    (("coeff",), {"L": 3, "feature_index": (1,)}, "past the inventory columns"),
    (("both",), {"feature_index": (2,), "days": 0}, "days must be in"),
])
def test_bad_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        Regularization(*args, **kwargs)


def test_bad_argument_types_name_the_argument():
    with pytest.raises(TypeError, match="kind must be a string"):
        Regularization(kind=["base"], L=0, a_max=1)
    with pytest.raises(TypeError, match="feature_index"):
        Regularization("coeff", L=1, feature_index=3)
    with pytest.raises(TypeError, match="L must be an integer"):
        Regularization("base", L=1.5, a_max=1)
    reg = Regularization("base", L=3, a_max=10)
    with pytest.raises(ValueError, match="u must have 1 value"):
        reg(np.ones((2, 3)), OBS)
    with pytest.raises(ValueError, match="obs must have at least"):
        reg(np.ones((2, 1)), OBS[:, :2])
    with pytest.raises(TypeError, match="u must be a numpy array"):
        reg([[0.5]], OBS)


def test_inventory_position_validates():
    from deepstock_lite.core.decoding import inventory_position
    with pytest.raises(ValueError, match="obs must have at least 1 columns"):
        inventory_position([], 1)
    with pytest.raises(TypeError, match="L must be an integer"):
        inventory_position(OBS, "3")
    np.testing.assert_allclose(inventory_position(OBS, 3), [20, -5])


def test_one_home_for_the_decodings_and_the_re_exports():
    import deepstock_lite.paper as ds_pkg
    import deepstock_lite.rl as rl_pkg
    from deepstock_lite.core import decoding
    assert ds_pkg.Regularization is decoding.Regularization
    assert ds_pkg.initial_bias_logit is decoding.initial_bias_logit
    assert rl_pkg.BaseStockDecoder is decoding.BaseStockDecoder
    assert rl_pkg.order_up_to is ds_pkg.order_up_to is decoding.order_up_to


def test_decodings_import_nothing_above_them_nor_torch():
    """The decodings' one home (core.decoding) is self-contained and imports no torch."""
    import subprocess
    import sys
    code = ("import sys; import deepstock_lite.core.decoding as d; "
            "r = d.make_decoder({'name': 'regularization', 'kind': 'both', 'L': 2, "
            "'a_max': None, 'feature_index': [2], 'days': 28.0, 'bias_scale': 5.0}); "
            "assert type(r).__name__ == 'Regularization'; "
            "assert not any(m.startswith('deepstock_lite.paper') for m in sys.modules); "
            "assert 'torch' not in sys.modules, 'the decodings imported torch'")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("kind, extra", [("none", {"a_max": 80}), ("base", {"a_max": 80}),
                                         ("both", {"feature_index": (3, 4), "days": 7,
                                                   "bias_scale": 5})])
def test_checkpoint_round_trip(kind, extra):
    from deepstock_lite.core.decoding import make_decoder
    reg = Regularization(kind, L=3, **extra)
    back = make_decoder(reg.to_dict())
    assert back.to_dict() == reg.to_dict()
    u = np.random.default_rng(1).random((2, reg.n_outputs))
    np.testing.assert_allclose(back(u, OBS), reg(u, OBS))
    with pytest.raises(ValueError, match="unknown decoder"):
        make_decoder({"name": ["x"]})


@pytest.mark.parametrize("surrogate, slope", [("exact", 0.0), ("leaky", 0.1),
                                              ("straight-through", 1.0)])
def test_surrogate_clamp_exact_forward_chosen_backward(surrogate, slope):
    from deepstock_lite.core.decoding import relu_surrogate
    x = torch.tensor([-2.0, -0.5, 0.5, 3.0], dtype=torch.float64, requires_grad=True)
    y = relu_surrogate(x, surrogate, leak=0.1)
    assert torch.equal(y.detach(), torch.clamp(x.detach(), min=0))
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [slope, slope, 1.0, 1.0])
    # the decoding: below the position the order is 0 with every surrogate
    base = Regularization("base", L=3, a_max=10)
    u = torch.tensor([[0.1], [0.9]], requires_grad=True)
    q = base(u, torch.tensor(OBS, dtype=torch.float32), surrogate, 0.1)
    assert torch.allclose(q, torch.tensor([0.0, 14.0]))
    q.sum().backward()
    assert u.grad[0, 0].item() == pytest.approx(10 * slope)


def test_bad_surrogate():
    from deepstock_lite.paper import DSConfig
    with pytest.raises(ValueError, match="surrogate must be one of"):
        DSConfig(surrogate="soft")
    with pytest.raises(TypeError, match="surrogate must be a string"):
        DSConfig(surrogate=1)
    with pytest.raises(ValueError, match="leak must be in"):
        DSConfig(surrogate="leaky", leak=0)


def _bits(x):
    """The float64 bytes of a number: equal bits, signed zeros and NaNs included."""
    return np.float64(x).tobytes()


@pytest.mark.parametrize("kind, L, n_features", [
    ("none", 2, 0), ("base", 0, 0), ("base", 1, 0), ("base", 2, 0), ("base", 4, 0),
    ("base", 10, 0), ("coeff", 2, 1), ("coeff", 3, 3), ("coeff", 1, 9), ("both", 2, 1),
    ("both", 5, 2), ("both", 9, 8)])
def test_order_one_is_bit_identical_to_the_arrays(kind, L, n_features):
    # plain floats against numpy on one row: the same operations in the same order, so the
    # same bits; rows of 8 terms or more (L = 9, 10; 8, 9 features) are summed pairwise by
    # numpy, fewer terms one after the other
    m = max(L - 1, 0)
    n = 1 + m + n_features
    reg = Regularization(kind, L=L, a_max=None if n_features else 37.3,
                         feature_index=tuple(range(1 + m, n)), days=28.0, bias_scale=7.1)
    rng = np.random.default_rng(L + 10 * n_features)
    for _ in range(1000):
        # wide magnitudes (1e16 + 1 + 1 depends on the order of the sum), signed zeros
        obs = rng.standard_normal(n) * 10.0 ** rng.integers(-3, 17, n)
        obs[rng.random(n) < 0.1] = -0.0
        obs = obs.astype(np.float32).astype(np.float64)    # the environment's float32 values
        u = rng.choice([0.0, -0.0, 0.5, 1.0, rng.random()], size=reg.n_outputs)
        assert _bits(reg.order_one(u.tolist(), obs.tolist())) == _bits(reg(u, obs))


@pytest.mark.parametrize("kind, L, n_features", [
    ("none", 2, 0), ("base", 0, 0), ("base", 1, 0), ("base", 2, 0), ("base", 4, 0),
    ("base", 10, 0), ("coeff", 2, 1), ("coeff", 3, 3), ("coeff", 1, 9), ("both", 2, 1),
    ("both", 5, 2), ("both", 9, 8)])
def test_the_fast_paths_are_bit_identical_to_the_reference(kind, L, n_features):
    # the unchecked paths of the environment wrappers against __call__ (the reference, with
    # every check) on random batches: order_array on float64 arrays (vector environments)
    # and scalar_decoder on each row's plain floats (the single environment), signed zeros
    # and wide magnitudes included
    m = max(L - 1, 0)
    n = 1 + m + n_features + 2                 # two columns the decoding does not read
    reg = Regularization(kind, L=L, a_max=None if n_features else 37.3,
                         feature_index=tuple(range(1 + m, 1 + m + n_features)), days=28.0,
                         bias_scale=7.1)
    one = reg.scalar_decoder()
    rng = np.random.default_rng(100 + L + 10 * n_features)
    for rows in (1, 3, 16, 257):
        obs = rng.standard_normal((rows, n)) * 10.0 ** rng.integers(-3, 17, (rows, n))
        obs[rng.random(obs.shape) < 0.1] = -0.0
        obs = obs.astype(np.float32).astype(np.float64)
        u = rng.choice([0.0, -0.0, 0.5, 1.0, rng.random()], size=(rows, reg.n_outputs))
        expected = reg(u, obs)
        fast = reg.order_array(u, obs)
        assert fast.dtype == expected.dtype and fast.shape == expected.shape == (rows,)
        assert fast.tobytes() == expected.tobytes()
        assert [_bits(one(r, o)) for r, o in zip(u.tolist(), obs.tolist())] == \
            [_bits(q) for q in expected]


def test_a_decoder_saved_with_the_old_scale_key_still_loads():
    """Checkpoints written before ``scale`` was renamed ``a_max`` (the one name of the top of
    the range) load into the same decoding."""
    from deepstock_lite.core.decoding import make_decoder
    new = Regularization("base", L=2, a_max=40.0).to_dict()
    old = {("scale" if k == "a_max" else k): v for k, v in new.items()}
    assert make_decoder(old).to_dict() == new


def test_make_decoder_is_the_one_factory():
    from deepstock_lite.core.decoding import BaseStockDecoder, make_decoder
    built = make_decoder("both", L=2, feature_index=(2,), days=28.0, bias_scale=14.0)
    assert isinstance(built, Regularization) and built.kind == "both"
    assert make_decoder(built.to_dict()).to_dict() == built.to_dict()     # a saved description
    assert make_decoder(built) is built                                    # a built decoder
    assert isinstance(make_decoder({"name": "base", "L": 2}), BaseStockDecoder)
    with pytest.raises(ValueError, match="kind"):
        make_decoder("bass", L=2)
    with pytest.raises(TypeError, match="only accepted with a kind name"):
        make_decoder(built, L=3)
    with pytest.raises(ValueError, match="unknown decoder description"):
        make_decoder({"name": "nope"})
    with pytest.raises(TypeError, match="spec must be"):
        make_decoder(3)


@pytest.mark.parametrize("width", [0, 1, 2, 3])
def test_sum_last_is_numpys_sum_bit_for_bit(width):
    from deepstock_lite.core.decoding import _sum_last
    rng = np.random.default_rng(width)
    x = rng.normal(size=(50, width)) * 10.0 ** rng.integers(-8, 8, size=(50, width))
    x[:5] = -0.0                                    # numpy's sum of -0.0 values is 0.0
    x[5:8] = np.inf if width else x[5:8]
    got, want = _sum_last(x), x.sum(-1)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want) and np.array_equal(np.signbit(got), np.signbit(want))
