import numpy as np
import pytest

from deepstock_lite.core.demand import (FromArray, NegativeBinomial, Normal, Poisson,
                                        UniformInteger)
from deepstock_lite.core.paper_data import indep_floors, make_ar1, make_iid, make_indep

PROCESSES = [Poisson(5), Normal(20, 4), UniformInteger(3, 9), NegativeBinomial(4, 10)]


@pytest.mark.parametrize("proc", PROCESSES, ids=repr)
def test_moments_match_distribution(proc):
    x = proc.sample(400, 250, seed=0)
    dist = proc.distribution()
    assert x.shape == (400, 250) and x.dtype == float and x.min() >= 0
    se = np.sqrt(dist.var / x.size)
    assert abs(x.mean() - dist.mean) < 5 * se
    assert x.var() == pytest.approx(dist.var, rel=0.03)


@pytest.mark.parametrize("proc", PROCESSES, ids=repr)
def test_seeded(proc):
    np.testing.assert_array_equal(proc.sample(3, 7, seed=5), proc.sample(3, 7, seed=5))
    assert not np.array_equal(proc.sample(3, 7, seed=5), proc.sample(3, 7, seed=6))


def test_named_parameters_of_processes():
    assert Poisson(5).distribution().mean == pytest.approx(5)
    assert NegativeBinomial(4, 10).distribution().var == pytest.approx(10, rel=1e-6)
    assert UniformInteger(3, 9).distribution().mean == pytest.approx(6)
    fa = FromArray(np.arange(20.0).reshape(4, 5))
    assert fa.sample(6, 5, seed=0).shape == (6, 5)


@pytest.mark.parametrize("call, exc", [
    (lambda: Poisson(-1), ValueError), (lambda: Normal(5, 0), ValueError),
    (lambda: UniformInteger(5, 3), ValueError), (lambda: NegativeBinomial(5, 4), ValueError),
    (lambda: Poisson("5"), TypeError), (lambda: Poisson(5).sample(0, 3), ValueError),
    (lambda: Poisson(5).sample(2, 3.5), TypeError),
    (lambda: FromArray([[1.0, -1.0]]), ValueError),
])
def test_bad_arguments(call, exc):
    with pytest.raises(exc):
        call()


def test_indep_reproduces_the_authors_floors():
    floors, _ = indep_floors()
    expected = [11, 9, 12, 16, 9, 9, 16, 13, 8, 12, 8, 8, 10, 2, 3, 7, 5, 11, 6, 4, 15, 9, 10,
                4, 7, 10, 5, 11, 7, 8, 7]
    np.testing.assert_array_equal(floors, expected)
    s = make_indep()
    assert (s.train.shape, s.val.shape, s.test.shape) == ((10, 31), (10, 31), (100, 31))
    all_d = np.concatenate([s.train, s.val, s.test])
    offset = all_d - floors
    assert offset.min() == 0 and offset.max() == 4
    assert offset.mean() == pytest.approx(2.0, abs=0.1)  # uniform on {0..4}
    np.testing.assert_array_equal(make_indep().test, s.test)


def test_ar1_parameters_and_dynamics():
    s = make_ar1(n_train=20, n_val=5, n_test=200, horizon=200, seed=1)
    assert s.train.shape == (20, 200) and s.test.shape == (200, 200)
    phi, base = s.info["test_phi"], s.info["test_base"]
    assert phi.min() >= 0.3 and phi.max() <= 0.9 and base.min() >= 5 and base.max() <= 10
    # lag-1 autocorrelation of a path tracks its phi (the floor at 0 bends it a little)
    D = s.test
    x, y = D[:, :-1] - D.mean(1, keepdims=True), D[:, 1:] - D.mean(1, keepdims=True)
    rho = (x * y).mean(1) / D.var(1)
    assert np.corrcoef(rho, phi)[0, 1] > 0.8
    assert np.all(D >= 0)


def test_iid_setting4():
    s = make_iid(n_skus=5, n_train=20, n_val=5, n_test=400, horizon=64, seed=2)
    assert s.train.shape == (100, 64) and s.test.shape == (2000, 64)
    sig = s.info["sigma"]
    assert sig.min() >= 5 and sig.max() <= 20
    for k in range(5):
        rows = s.test[s.info["test_sku"] == k]
        assert rows.mean() == pytest.approx(100, abs=0.5)
        assert rows.std() == pytest.approx(sig[k], rel=0.05)
