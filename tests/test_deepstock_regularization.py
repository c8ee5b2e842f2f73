"""The four decodings on hand-computed inputs, numpy and torch alike."""
import numpy as np
import pytest
import torch

from deepstock_lite.deepstock import Regularization, initial_bias_logit

# observation layout for L = 3: [on_hand, pipeline x2, f1, f2]
OBS = np.array([[10.0, 4.0, 6.0, 2.0, 3.0],
                [-5.0, 0.0, 0.0, 1.0, 0.5]])


def test_none_and_base_by_hand():
    u = np.array([[0.3], [0.5]])
    none = Regularization("none", L=3, scale=100)
    base = Regularization("base", L=3, scale=100)
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
    base = Regularization("base", L=3, scale=100)
    position = OBS[:, 0] + OBS[:, 1:3].sum(1)
    for q in (0.0, 7.5, 42.0):
        u = ((position + q) / 100)[:, None]   # target = position + q
        np.testing.assert_allclose(base(u, OBS), q)


def test_torch_matches_numpy_and_has_gradients():
    for kind, extra in [("none", {"scale": 80}), ("base", {"scale": 80}),
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
    (("base",), {"L": 1}, "scale"),
    (("none",), {"scale": -1}, "scale must be in"),
    (("coeff",), {"L": 1}, "feature_index must name"),
    (("coeff",), {"L": 3, "feature_index": (1,)}, "past the inventory columns"),
    (("both",), {"feature_index": (2,), "days": 0}, "days must be in"),
])
def test_bad_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        Regularization(*args, **kwargs)
