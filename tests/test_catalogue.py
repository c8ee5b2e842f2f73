"""The synthetic e-commerce catalogue and per-SKU normalization."""
import numpy as np
import pytest

from deepstock_lite.core.metrics import stockout_rate
from deepstock_lite.core.policies import BaseStock
from deepstock_lite.core.simulator import InventorySystem, simulate
from deepstock_lite.paper.catalogue import Catalogue, make_catalogue
from deepstock_lite.paper.catalogue_config import FEATURE_NAMES, CatalogueConfig
from deepstock_lite.paper.censoring import censor, observed_sales
from deepstock_lite.paper.normalization import DEFAULT_FLOOR, SkuScaler


@pytest.fixture(scope="module")
def big():
    return make_catalogue(n_skus=20_000, horizon=120, seed=7)


@pytest.fixture(scope="module")
def small():
    return make_catalogue(n_skus=300, horizon=60, seed=3)


def _expected_mean(c):
    t = np.arange(c.T)
    return (c.scale[:, None] * (1 + c.amplitude[:, None] * c.profile[c.weekday])
            * np.exp(c.trend[:, None] * t) * np.where(c.promo == 1, c.uplift[:, None], 1.0))


def _z(x, mean, var):
    """Standardized sum of independent observations."""
    return (x.sum() - mean.sum()) / np.sqrt(var.sum())


# -- shapes and parameters -----------------------------------------------------------------
def test_shapes_and_parameter_ranges(big):
    c, cfg = big, big.config
    n, T = 20_000, 120
    assert isinstance(c, Catalogue) and (c.n_skus, c.T, c.history) == (n, T, 28)
    for a in (c.demand, c.mean, c.promo, c.lead_times):
        assert a.shape == (n, T)
    assert c.history_demand.shape == (n, 28)
    assert set(np.unique(c.promo)) == {0, 1} and c.promo.dtype == np.int8
    assert np.all(c.demand == np.rint(c.demand)) and c.demand.min() >= 0
    assert set(np.unique(c.P)) == {1, 2, 7} and c.L.min() == 1 and c.L.max() == 7
    assert c.scale.min() >= cfg.scale_min and c.scale.max() <= cfg.scale_max
    assert np.all((c.uplift >= 1.5) & (c.uplift <= 4.0))
    assert np.all((c.amplitude >= 0) & (c.amplitude <= 0.6))
    # heavy-tailed scales: median ~2/day, fast movers in the hundreds, an intermittent tail
    assert 1.8 < np.median(c.scale) < 2.2
    assert np.quantile(c.scale, 0.999) > 100 and np.quantile(c.scale, 0.1) < 0.5
    # the weekly profile is normalized: zero mean, max |w| = 1
    assert abs(c.profile.mean()) < 1e-12 and np.abs(c.profile).max() == pytest.approx(1.0)
    assert np.array_equal(c.weekday, np.arange(T) % 7)


def test_mean_is_the_model_formula(big):
    np.testing.assert_allclose(big.mean, _expected_mean(big), rtol=1e-12)


def test_demand_mean_and_variance_match_the_model(big):
    c = big
    D, m, v = c.demand, c.mean, c.variance()
    slow, fast = c.scale < 0.5, c.scale > 20
    mid = ~slow & ~fast
    for rows in (slow, mid, fast):
        for on in (0, 1):
            sel = rows[:, None] & (c.promo == on)
            z = _z(D[sel], m[sel], v[sel])
            assert abs(z) < 4.5, (rows.sum(), on, z)
    # second moment: mean squared deviation ≈ the model variance (medium movers)
    sel = np.broadcast_to(mid[:, None], D.shape)
    ratio = ((D - m) ** 2)[sel].sum() / v[sel].sum()
    assert 0.95 < ratio < 1.05


def test_weekly_profile_is_recovered(big):
    c = big
    rows = c.scale > 1.0
    t = np.arange(c.T)
    deseason = (c.scale[:, None] * np.exp(c.trend[:, None] * t)
                * np.where(c.promo == 1, c.uplift[:, None], 1.0))
    y = (c.demand / deseason)[rows]          # E[y] = 1 + a_i w_dow
    abar = c.amplitude[rows].mean()
    w_hat = np.array([(y[:, c.weekday == d].mean() - 1) / abar for d in range(7)])
    assert np.abs(w_hat - c.profile).max() < 0.06
    assert np.argmax(w_hat) == np.argmax(c.profile) and np.argmin(w_hat) == np.argmin(c.profile)


def test_promotion_uplift_is_recovered_per_sku():
    c = make_catalogue(n_skus=300, horizon=200, seed=11, scale_median=200.0, scale_sigma=0.1,
                       noise_cv=0.1, promo_rate=0.08, zero_inflation=0.0)
    t = np.arange(c.T)
    y = c.demand / (c.scale[:, None] * (1 + c.amplitude[:, None] * c.profile[c.weekday])
                    * np.exp(c.trend[:, None] * t))
    on = c.promo == 1
    ok = (on.sum(1) >= 10) & ((~on).sum(1) >= 10)
    assert ok.sum() > 250
    ratio = (np.where(on, y, 0).sum(1) / on.sum(1)) / (np.where(on, 0, y).sum(1) / (~on).sum(1))
    rel = np.abs(ratio[ok] / c.uplift[ok] - 1)
    assert rel.max() < 0.1 and np.median(rel) < 0.03
    assert np.corrcoef(np.log(ratio[ok]), np.log(c.uplift[ok]))[0, 1] > 0.99


def test_promotion_frequency_matches_the_window_process(big):
    # P(day in a promotion) = 1 - prod_j (1 - rate * P(length > j)), lengths uniform on 2..5
    p_longer = np.array([1, 1, 0.75, 0.5, 0.25])
    expected = 1 - np.prod(1 - big.config.promo_rate * p_longer)
    assert big.promo.mean() == pytest.approx(expected, abs=0.003)
    assert make_catalogue(n_skus=50, horizon=30, promo_rate=0.0).promo.sum() == 0


def test_intermittency_of_slow_movers(big):
    c = big
    zero = c.demand == 0
    slow, fast = c.scale < 0.3, c.scale > 30
    assert zero[slow].mean() > 0.6 and zero[fast].mean() < 0.02
    # exact P(D = 0) = z + (1 - z) (1 + lambda / k)^(-k), lambda = m / (1 - z), k = 1 / cv^2
    k = 1 / c.config.noise_cv ** 2
    zp = c.zero_prob[:, None]
    p0 = zp + (1 - zp) * (1 + c.mean / (1 - zp) / k) ** (-k)
    for rows in (slow, (c.scale >= 0.3) & (c.scale <= 30)):
        p = p0[rows]
        z = _z(zero[rows].astype(float), p, p * (1 - p))
        assert abs(z) < 4.5


# -- lead times, review periods and groups -------------------------------------------------
def test_deterministic_lead_times(small):
    c = small
    assert np.array_equal(c.lead_times, np.broadcast_to(c.L[:, None], c.lead_times.shape))
    assert np.array_equal(c.lead_pmf.argmax(1), c.L) and np.all(c.lead_pmf.max(1) == 1.0)


def test_random_lead_times():
    c = make_catalogue(n_skus=2000, horizon=60, seed=5, random_lead_times=True,
                       lead_delay_max=3, lead_delay_prob=(0.1, 0.6))
    pmf = c.lead_pmf
    np.testing.assert_allclose(pmf.sum(1), 1.0)
    support = np.arange(pmf.shape[1])
    outside = (support < c.L[:, None]) | (support > c.L[:, None] + 3)
    assert np.all(pmf[outside] == 0)
    assert np.all((c.lead_times >= c.L[:, None]) & (c.lead_times <= c.L[:, None] + 3))
    assert np.any(c.lead_times != c.L[:, None])
    mu = (pmf * support).sum(1)
    var = (pmf * support ** 2).sum(1) - mu ** 2
    z = _z(c.lead_times, np.repeat(mu, c.T), np.repeat(var, c.T))
    assert abs(z) < 4.5


def test_groups_partition_skus_by_lead_time_and_review_period(small):
    g = small.groups()
    idx = np.concatenate(list(g.values()))
    assert np.array_equal(np.sort(idx), np.arange(small.n_skus))
    for (L, P), rows in g.items():
        assert np.all(small.L[rows] == L) and np.all(small.P[rows] == P)


# -- censoring -----------------------------------------------------------------------------
def test_censor_by_hand():
    sales, cens = censor([3, 5, 0, 2, 0], [5, 5, 0, 1, 4])
    np.testing.assert_array_equal(sales, [3, 5, 0, 1, 0])
    # stock ran out on days 1 (exactly), 2 (started empty) and 3 (short)
    np.testing.assert_array_equal(cens, [False, True, True, True, False])


def test_observed_sales_of_a_lost_sales_simulation(small):
    c = small
    (L, P), rows = max(small.groups().items(), key=lambda kv: kv[1].size)
    system = InventorySystem(L=L, P=P, h=0.1, b=0.9, backlog=False)
    S = 1.2 * (L + P) * c.scale[rows]     # tight enough to run out of stock often
    r = simulate(system, BaseStock(S), c.demand[rows])
    sales, cens = observed_sales(r)
    D, x0 = c.demand[rows], r.start_on_hand
    assert np.all(sales <= D) and 0 < cens.mean() < 1
    np.testing.assert_array_equal(sales[x0 >= D], D[x0 >= D])   # enough stock: demand seen
    np.testing.assert_array_equal(sales, r.sales)
    # censored days are exactly the days that end out of stock
    np.testing.assert_array_equal(cens, r.end_inventory <= 0)
    assert cens.mean() == pytest.approx(stockout_rate(r.end_inventory))
    # censoring propagates into the features: trailing means can only go down
    full = np.array(c.demand)
    full[rows] = sales
    X_obs, X_true = c.features(full), c.features()
    assert np.all(X_obs[..., :2] <= X_true[..., :2] + 1e-4)
    assert np.any(X_obs[rows, :, 0] < X_true[rows, :, 0] - 1e-3)
    with pytest.raises(ValueError, match="lost-sales"):
        observed_sales(simulate(InventorySystem(L=1, backlog=True), BaseStock(1.0), D))
    with pytest.raises(TypeError, match="result"):
        observed_sales(D)


def test_censor_errors():
    with pytest.raises(ValueError, match="same shape"):
        censor([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="available must be non-negative"):
        censor([1, 2], [1, -1])
    with pytest.raises(TypeError, match="demand"):
        censor("abc", [1])


# -- features ------------------------------------------------------------------------------
def test_feature_layout_and_trailing_means_by_hand(small):
    c = small
    X = c.features(dtype=np.float64)
    assert X.shape == (c.n_skus, c.T, len(FEATURE_NAMES)) and X.dtype == np.float64
    assert c.features().dtype == np.float32
    row = np.concatenate([c.history_demand, c.demand], axis=1)      # days -28 … T-1
    for t in (0, 3, 27, 28, c.T - 1):
        p = 28 + t                                                  # index of day t
        np.testing.assert_allclose(X[:, t, 0], row[:, p - 7:p].mean(1), rtol=1e-12)
        np.testing.assert_allclose(X[:, t, 1], row[:, p - 28:p].mean(1), rtol=1e-12)
    np.testing.assert_array_equal(X[:, :, 4], c.promo)
    for t in range(c.T - 7):
        np.testing.assert_array_equal(X[:, t, 5], c.promo[:, t + 1:t + 8].sum(1))
    angle = 2 * np.pi * (np.arange(c.T) % 7) / 7
    np.testing.assert_allclose(X[0, :, 6], np.sin(angle))
    np.testing.assert_allclose(X[0, :, 7], np.cos(angle))


def test_no_look_ahead_in_trailing_features(small):
    c = small
    rng = np.random.default_rng(0)
    sales = np.array(c.demand)
    X = c.features(sales, dtype=np.float64)
    for t in (0, 10, c.T - 2):
        changed = sales.copy()
        changed[:, t:] = rng.integers(0, 1000, size=changed[:, t:].shape)
        Y = c.features(changed, dtype=np.float64)
        # days <= t do not see day t's (or later) sales; forecasts use mean demand only
        np.testing.assert_array_equal(X[:, :t + 1], Y[:, :t + 1])
        assert np.any(X[:, t + 1, 0] != Y[:, t + 1, 0])
    # history sales reach day 27 at most through the 28-day mean
    hist = np.array(c.history_demand) + 5
    Z = c.features(sales, history_sales=hist, dtype=np.float64)
    np.testing.assert_array_equal(Z[:, 28:], X[:, 28:])
    assert np.all(Z[:, 27, 1] > X[:, 27, 1]) and np.all(Z[:, 7:, 0] == X[:, 7:, 0])


def test_forecasts_are_noisy_forward_means(small):
    exact = make_catalogue(n_skus=300, horizon=60, seed=3, forecast_cv=0.0)
    noisy = make_catalogue(n_skus=300, horizon=60, seed=3, forecast_cv=0.2)
    np.testing.assert_array_equal(exact.demand, small.demand)   # independent random streams
    np.testing.assert_array_equal(noisy.demand, exact.demand)
    F0, F1 = exact.features(dtype=np.float64), noisy.features(dtype=np.float64)
    for t in range(exact.T - 28):
        np.testing.assert_allclose(F0[:, t, 2], exact.mean[:, t:t + 7].mean(1), rtol=1e-6)
        np.testing.assert_allclose(F0[:, t, 3], exact.mean[:, t:t + 28].mean(1), rtol=1e-6)
    # the last days' forecasts reach past the horizon and are still defined
    assert np.all(np.isfinite(F0[:, -1, 2:4])) and np.all(F0[:, -1, 2:4] > 0)
    ratio = F1[..., 2:4] / F0[..., 2:4]               # lognormal, mean 1, CV 0.2
    assert ratio.mean() == pytest.approx(1.0, abs=0.01)
    assert ratio.std() / ratio.mean() == pytest.approx(0.2, abs=0.01)


def test_features_errors(small):
    with pytest.raises(ValueError, match=r"sales must have shape \(300, 60\)"):
        small.features(np.zeros((300, 59)))
    with pytest.raises(ValueError, match="sales must be non-negative"):
        small.features(-np.ones((300, 60)))
    with pytest.raises(ValueError, match="history_sales must have shape"):
        small.features(history_sales=np.zeros((300, 7)))
    with pytest.raises(TypeError, match="dtype"):
        small.features(dtype=np.int32)


# -- splits --------------------------------------------------------------------------------
def test_sku_split(small):
    tr, va, te = small.split(by="sku", fractions=(0.6, 0.2, 0.2))
    assert (tr.size, va.size, te.size) == (180, 60, 60)
    both = np.concatenate([tr, va, te])
    assert np.array_equal(np.sort(both), np.arange(300))          # disjoint and covering
    assert all(np.all(np.diff(p) > 0) for p in (tr, va, te))
    again = small.split(by="sku", fractions=(0.6, 0.2, 0.2))
    assert all(np.array_equal(a, b) for a, b in zip((tr, va, te), again))
    other = small.split(by="sku", fractions=(0.6, 0.2, 0.2), seed=99)
    assert not np.array_equal(other[0], tr)
    parts = small.split(by="sku", fractions=(0.5, 0.5))
    assert len(parts) == 2 and parts[0].size == 150


def test_time_split(small):
    tr, te = small.split(by="time", test_days=20)
    np.testing.assert_array_equal(tr, np.arange(40))
    np.testing.assert_array_equal(te, np.arange(40, 60))
    tr, va, te = small.split(by="time", test_days=20, val_days=10)
    assert (tr[-1], va[0], va[-1], te[0]) == (29, 30, 39, 40)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(by="day"), ValueError, "by must be one of"),
    (dict(fractions=(0.5, 0.4)), ValueError, "fractions must sum to 1"),
    (dict(fractions=(1.2, -0.2)), ValueError, r"fractions\[1\] must be in"),
    (dict(fractions=(0.999, 0.001)), ValueError, "empty part"),
    (dict(fractions="ab"), TypeError, "fractions must be a sequence"),
    (dict(by="time"), ValueError, "test_days is required"),
    (dict(by="time", test_days=60), ValueError, "test_days must be in"),
    (dict(by="time", test_days=30, val_days=30), ValueError, "val_days must be in"),
])
def test_split_errors(small, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        small.split(**kwargs)


# -- seeding -------------------------------------------------------------------------------
def test_seeding():
    a = make_catalogue(n_skus=500, horizon=40, seed=1, random_lead_times=True)
    b = make_catalogue(CatalogueConfig(n_skus=500, horizon=40, seed=1, random_lead_times=True))
    c = make_catalogue(n_skus=500, horizon=40, seed=2, random_lead_times=True)
    for name in ("demand", "mean", "promo", "history_demand", "L", "P", "lead_times",
                 "lead_pmf", "scale", "uplift"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
        assert not np.array_equal(getattr(a, name), getattr(c, name)), name
    np.testing.assert_array_equal(a.features(), b.features())
    assert not np.array_equal(a.features(), c.features())
    # overriding a field of an existing config re-validates and keeps the rest
    d = make_catalogue(a.config, seed=2)
    assert d.config.random_lead_times and np.array_equal(d.demand, c.demand)


def test_tiny_catalogue():
    c = make_catalogue(n_skus=1, horizon=1, seed=0)
    assert c.features().shape == (1, 1, 8)
    assert c.demand.shape == (1, 1)


# -- config validation ---------------------------------------------------------------------
@pytest.mark.parametrize("field, value, exc, match", [
    ("n_skus", 0, ValueError, "n_skus must be in"),
    ("n_skus", 2.5, TypeError, "n_skus must be an integer"),
    ("horizon", 0, ValueError, "horizon must be in"),
    ("seed", -1, ValueError, "seed must be in"),
    ("history", 27, ValueError, "history must be in"),
    ("start_weekday", 7, ValueError, "start_weekday must be in"),
    ("scale_median", 0.0, ValueError, "scale_median must be in"),
    ("scale_sigma", -1.0, ValueError, "scale_sigma must be in"),
    ("scale_max", 0.01, ValueError, "scale_max must be in"),
    ("weekday_profile", (1, 2, 3), ValueError, "weekday_profile must have 7 entries"),
    ("weekday_profile", (0, 0, 0, 0, 0, 0, "x"), TypeError, r"weekday_profile\[6\]"),
    ("amplitude_range", (0.0, 1.0), ValueError, r"amplitude_range\[1\] must be in"),
    ("amplitude_range", (0.5, 0.2), ValueError, "amplitude_range must satisfy"),
    ("trend_sd", -0.1, ValueError, "trend_sd must be in"),
    ("promo_rate", 1.0, ValueError, "promo_rate must be in"),
    ("promo_length", (0, 3), ValueError, r"promo_length\[0\] must be in"),
    ("promo_length", (2.0, 3), TypeError, r"promo_length\[0\] must be an integer"),
    ("uplift_range", (0.5, 2.0), ValueError, r"uplift_range\[0\] must be in"),
    ("uplift_range", 2.0, TypeError, "uplift_range must be a sequence"),
    ("noise_cv", -0.1, ValueError, "noise_cv must be in"),
    ("zero_inflation", 1.0, ValueError, "zero_inflation must be in"),
    ("forecast_cv", float("nan"), ValueError, "forecast_cv must be finite"),
    ("review_periods", (1, 0), ValueError, r"review_periods\[1\] must be in"),
    ("review_periods", (), ValueError, "review_periods must not be empty"),
    ("review_probs", (0.5, 0.6, 0.1), ValueError, "review_probs must sum to 1"),
    ("review_probs", (0.5, 0.5), ValueError, "review_probs must have 3 entries"),
    ("lead_range", (3, 1), ValueError, "lead_range must satisfy"),
    ("random_lead_times", 1, TypeError, "random_lead_times must be True or False"),
    ("lead_delay_max", -1, ValueError, "lead_delay_max must be in"),
    ("lead_delay_prob", (0.0, 1.5), ValueError, r"lead_delay_prob\[1\] must be in"),
])
def test_config_errors(field, value, exc, match):
    with pytest.raises(exc, match=match):
        CatalogueConfig(**{field: value})


def test_make_catalogue_errors():
    with pytest.raises(TypeError, match="config must be a CatalogueConfig"):
        make_catalogue({"n_skus": 3})
    with pytest.raises(TypeError, match="bogus"):
        make_catalogue(CatalogueConfig(n_skus=3), bogus=1)
    with pytest.raises(ValueError, match="n_skus must be in"):
        make_catalogue(CatalogueConfig(n_skus=3), n_skus=0)


# -- normalization -------------------------------------------------------------------------
def test_scaler_fit_and_floor():
    sales = np.array([[2.0, 4.0, 100.0], [0.0, 0.0, 9.0], [10.0, 30.0, 0.0]])
    s = SkuScaler().fit(sales, days=[0, 1])
    np.testing.assert_allclose(s.scale_, [3.0, DEFAULT_FLOOR, 20.0])     # dead SKU: the floor
    assert DEFAULT_FLOOR == pytest.approx(1 / 28)
    np.testing.assert_allclose(SkuScaler(floor=0.5).fit(sales, days=slice(0, 2)).scale_,
                               [3.0, 0.5, 20.0])
    np.testing.assert_allclose(SkuScaler().fit(sales).scale_, [106 / 3, 3.0, 40 / 3])
    # one unit of a dead SKU's stock is 28 days of cover
    assert SkuScaler().fit(sales, days=[0]).transform_inventory([1, 1, 1])[1] == \
        pytest.approx(28.0)


def test_scaler_round_trips(small):
    c = small
    train, _ = c.split(by="time", test_days=20)
    sc = SkuScaler().fit(c.demand, days=train)
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-6)):
        X = c.features(dtype=dtype)
        Z = sc.transform_features(X)
        assert Z.dtype == dtype and Z.shape == X.shape
        np.testing.assert_allclose(Z[..., :4], X[..., :4] / sc.scale_[:, None, None].astype(
            dtype), rtol=tol)
        np.testing.assert_array_equal(Z[..., 4:], X[..., 4:])         # flags and calendar
        np.testing.assert_allclose(sc.inverse_features(Z), X, rtol=tol, atol=tol)
    # fast and slow SKUs land on the same scale: trailing means ≈ 1 in the training period
    Z = sc.transform_features(c.features(dtype=np.float64))
    alive = c.demand[:, train].mean(1) > 1
    assert 0.5 < np.median(Z[alive, 30, 1]) < 2.0
    # inventory: on hand (n,), pipeline (n, k), a minibatch of SKUs
    rng = np.random.default_rng(0)
    for shape in ((300,), (300, 6)):
        x = rng.uniform(0, 500, shape)
        d = sc.transform_inventory(x)
        np.testing.assert_allclose(d, x / sc.scale_.reshape((-1,) + (1,) * (x.ndim - 1)))
        np.testing.assert_allclose(sc.inverse_inventory(d), x, rtol=1e-12)
    idx = np.array([5, 0, 299])
    x = np.array([10.0, 20.0, 30.0])
    np.testing.assert_allclose(sc.transform_inventory(x, sku=idx), x / sc.scale_[idx])
    np.testing.assert_allclose(sc.inverse_inventory(sc.transform_inventory(x, sku=idx),
                                                    sku=idx), x, rtol=1e-12)
    Xb = c.features(dtype=np.float64)[idx]
    np.testing.assert_allclose(sc.inverse_features(sc.transform_features(Xb, sku=idx), sku=idx),
                               Xb, rtol=1e-12)


def test_scaler_errors():
    sc = SkuScaler()
    with pytest.raises(ValueError, match="not fitted"):
        sc.transform_inventory([1.0])
    with pytest.raises(ValueError, match="floor must be in"):
        SkuScaler(floor=0.0)
    with pytest.raises(TypeError, match="unit_features must be a sequence"):
        SkuScaler(unit_features=3)
    with pytest.raises(ValueError, match="must not repeat"):
        SkuScaler(unit_features=(0, 0))
    with pytest.raises(ValueError, match="sales must have 2 dimension"):
        sc.fit(np.ones(5))
    with pytest.raises(ValueError, match="sales must be non-negative"):
        sc.fit(-np.ones((2, 3)))
    with pytest.raises(ValueError, match="days must index"):
        sc.fit(np.ones((2, 3)), days=[0, 3])
    with pytest.raises(TypeError, match="days must be"):
        sc.fit(np.ones((2, 3)), days=[0.5])
    sc.fit(np.ones((2, 3)))
    with pytest.raises(ValueError, match="x must have 2 rows"):
        sc.transform_inventory(np.ones(3))
    with pytest.raises(ValueError, match="X must have at least 2 dimension"):
        sc.transform_features(np.ones(2))
    with pytest.raises(ValueError, match="unit_features refers to column 3"):
        sc.transform_features(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"sku must be in \[0, 1\]"):
        sc.inverse_inventory(np.ones(1), sku=np.array([2]))
    with pytest.raises(TypeError, match="sku must be a 1-D integer"):
        sc.transform_inventory(np.ones(1), sku=np.array([0.0]))
    with pytest.raises(ValueError, match="d must be finite"):
        sc.inverse_inventory([1.0, np.nan])


def test_features_of_a_subset_of_skus_equal_the_rows_of_all_features():
    cat = make_catalogue(n_skus=60, horizon=40, seed=9)
    idx = np.array([41, 3, 17])
    np.testing.assert_array_equal(cat.features(skus=idx), cat.features()[idx])
    sales = np.floor(cat.demand * 0.5)
    np.testing.assert_array_equal(cat.features(sales=sales[idx], skus=idx),
                                  cat.features(sales=sales)[idx])
    with pytest.raises(ValueError, match="skus"):
        cat.features(skus=np.array([60]))
    with pytest.raises(TypeError, match="skus"):
        cat.features(skus=np.array([0.5]))
    with pytest.raises(ValueError, match="sales"):
        cat.features(sales=sales, skus=idx)          # one row per selected SKU
