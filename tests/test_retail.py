"""The e-commerce simulation: RetailEnv, metrics, heuristics and the torch rollout."""
import time

import numpy as np
import pytest
import torch

from deepstock_lite.paper.catalogue import make_catalogue
from deepstock_lite.paper.normalization import SkuScaler
from deepstock_lite.core.decoding import Regularization, inventory_position
from deepstock_lite.paper.retail import (RetailEnv, forecast_base_stock, forecast_s_S,
                                             retail_metrics, retail_rollout_torch,
                                             retail_ds_config, train_ds_retail, tune_heuristic)
from deepstock_lite.rl import TrainingDivergedError

FLOOR = 1 / 28


# -- a hand-made catalogue ---------------------------------------------------------------------
def _hand_catalogue():
    """3 SKUs, 4 days: (L, P, ŝ) = (0, 1, 2), (1, 2, 1), (2, 1, 3)."""
    cat = make_catalogue(n_skus=3, horizon=4, seed=0, lead_range=(0, 2))
    cat.L = np.array([0, 1, 2])
    cat.P = np.array([1, 2, 1])
    cat.lead_times = np.repeat(cat.L[:, None], 4, 1)
    cat.demand = np.array([[3., 5, 2, 0], [4, 2, 1, 5], [5, 5, 5, 0]])
    return cat


def _hand_env(**kw):
    cat = _hand_catalogue()
    scaler = SkuScaler().fit(np.array([[2.0], [1.0], [3.0]]))
    kw = {"burn_in": 0, "scaler": scaler, **kw}
    return RetailEnv(cat, np.arange(3), **kw)


HAND_ACTION = np.array([1.0, 3.0, 2.0 / 3.0])   # 2, 3 and 2 units on review days
# start-of-day on hand after arrivals and zero-lead orders (before demand), sales, end
HAND_X = np.array([[4., 3, 2, 2], [3, 3, 1, 3], [9, 4, 2, 2]])
HAND_SALES = np.array([[3., 3, 2, 0], [3, 2, 1, 3], [5, 4, 2, 0]])
HAND_END = np.array([[1., 0, 0, 2], [0, 1, 0, 0], [4, 0, 0, 2]])
HAND_ORDERS = np.array([[2., 2, 2, 2], [3, 0, 3, 0], [2, 2, 2, 2]])


def _run(env, policy, **kw):
    obs, _ = env.reset(**kw)
    out = {k: [] for k in ("obs", "order_units", "sales", "end", "stockout", "lost", "reward")}
    done = False
    while not done:
        out["obs"].append(obs)
        obs, r, term, trunc, info = env.step(policy(obs))
        for k in ("order_units", "sales", "end", "stockout", "lost"):
            out[k].append(np.array(info[k], dtype=float))
        out["reward"].append(r)
        assert not term.any()
        done = bool(trunc.all())
        assert trunc.all() == trunc.any()
    return {k: np.stack(v, 1) if k != "obs" else v for k, v in out.items()}


def test_hand_computed_trajectory():
    env = _hand_env()
    assert env.n_slots == 2 and env.position_L == 3
    run = _run(env, lambda o: HAND_ACTION)
    np.testing.assert_allclose(run["order_units"], HAND_ORDERS)
    np.testing.assert_allclose(run["sales"], HAND_SALES)
    np.testing.assert_allclose(run["end"], HAND_END)
    np.testing.assert_allclose(run["lost"], env.catalogue.demand - HAND_SALES)
    np.testing.assert_array_equal(run["stockout"], HAND_END == 0)
    # the stockout days include D == x exactly (SKU 1 day 2, SKU 0 day 2)
    assert run["stockout"][1, 2] and run["stockout"][0, 2]
    # observations: on hand / ŝ and pipeline slots after day-start arrivals
    s = np.array([2.0, 1.0, 3.0])
    o0, o1, o2 = run["obs"][:3]
    np.testing.assert_allclose(o0[:, 0], np.array([2, 3, 9]) / s, rtol=1e-6)  # rint(ŝ(L+P))
    np.testing.assert_allclose(o0[:, 1:3], 0.0)
    np.testing.assert_allclose(o1[:, 0], np.array([1, 3, 4]) / s, rtol=1e-6)  # SKU 1 received 3
    np.testing.assert_allclose(o1[2, 1:3], [2 / 3, 0.0], rtol=1e-6)        # SKU 2: day-0 order
    np.testing.assert_allclose(o2[2, 1:3], [2 / 3, 0.0], rtol=1e-6)
    np.testing.assert_allclose(inventory_position(o1, env.position_L),
                               np.array([1, 3, 6]) / s, rtol=1e-6)
    names = env.obs_names
    col = {n: names.index(n) for n in ("L", "P", "review_today", "days_to_next_review")}
    np.testing.assert_array_equal(o1[:, col["L"]], [0, 1, 2])
    np.testing.assert_array_equal(o1[:, col["P"]], [1, 2, 1])
    np.testing.assert_array_equal(o0[:, col["review_today"]], [1, 1, 1])
    np.testing.assert_array_equal(o1[:, col["review_today"]], [1, 0, 1])
    np.testing.assert_array_equal(o0[:, col["days_to_next_review"]], [1, 2, 1])
    np.testing.assert_array_equal(o1[:, col["days_to_next_review"]], [1, 1, 1])
    # metrics by hand
    m = env._metrics()
    np.testing.assert_allclose(m["sr_i"], [0.5, 0.75, 0.5])
    np.testing.assert_allclose(m["tt_i"], [0.75 / 2, 0.25 / 2.25, 1.5 / 2.75])
    np.testing.assert_allclose(m["stockout_rate"], 100 * 1.75 / 3)
    np.testing.assert_allclose(m["fill_rate"], HAND_SALES.sum() / env.catalogue.demand.sum())


def test_integer_rounding_and_clipping():
    env = _hand_env(q_max=2.0)
    env.reset()
    info = env.step(np.array([[0.7], [5.0], [-1.0]]))[-1]       # (n, 1) accepted
    # 0.7·2 = 1.4 → 1; 5 days clipped to q_max = 2 days → 2 units; negative → 0
    np.testing.assert_array_equal(info["order_units"], [1.0, 2.0, 0.0])
    env = _hand_env(integer_orders=False)
    env.reset()
    info = env.step(np.array([0.7, 0.5, 0.1]))[-1]
    np.testing.assert_allclose(info["order_units"], [1.4, 0.5, 0.3])


def test_non_review_day_ignores_action():
    env = _hand_env()
    env.reset()
    env.step(np.zeros(3))
    info = env.step(np.full(3, 5.0))[-1]                          # day 1: SKU 1 (P=2) not
    assert info["order_units"][1] == 0 and info["order_units"][0] == 10


def test_random_lead_times_land_in_their_slot():
    cat = make_catalogue(n_skus=4, horizon=10, seed=2, lead_range=(1, 2),
                         random_lead_times=True, lead_delay_max=3)
    cat.P = np.full(4, 7)
    cat.demand = np.zeros((4, 10))
    lead = np.array([1, 2, 4, 5])
    cat.lead_times[:, 0] = lead
    env = RetailEnv(cat, np.arange(4), burn_in=0)
    assert env.n_slots == 5
    obs, _ = env.reset()
    start = obs[:, 0].copy()
    obs = env.step(np.full(4, 3.0))[0]          # day 0: order 3 days of cover, nothing else
    s = env.current_scale
    for i, ell in enumerate(lead):
        if ell == 1:
            assert obs[i, 0] == pytest.approx(start[i] + np.rint(3 * s[i]) / s[i], rel=1e-6)
        else:
            pipe = obs[i, 1:1 + env.n_slots]
            expect = np.zeros(env.n_slots)
            expect[ell - 2] = np.rint(3 * s[i]) / s[i]          # slot ell-1 = column ell-2
            np.testing.assert_allclose(pipe, expect, rtol=1e-6)
    # and arrives on day `ell` exactly
    onhand = [obs[:, 0] * s]
    for _ in range(6):
        obs = env.step(np.zeros(4))[0]
        onhand.append(obs[:, 0] * s)
    onhand = np.array(onhand)                   # row d: start of day d+1
    for i, ell in enumerate(lead):
        jumps = np.nonzero(np.diff(np.concatenate([[start[i] * s[i]], onhand[:, i]])) > 0.5)[0]
        assert list(jumps) == [ell - 1]


@pytest.mark.parametrize("days", [None, slice(5, 30)])
def test_features_match_catalogue_without_stockouts(days):
    cat = make_catalogue(n_skus=200, horizon=40, seed=5, lead_range=(0, 0),
                         review_periods=(1,))
    env = RetailEnv(cat, np.arange(200), days=days, q_max=1e4, burn_in=0)
    d0 = 0 if days is None else days.start
    run = _run(env, lambda o: np.full(o.shape[0], 1e4))
    assert not run["stockout"].any()
    X = cat.features()
    s = env.current_scale
    S = env.n_slots
    for t, obs in enumerate(run["obs"]):
        np.testing.assert_allclose(obs[:, S + 1:S + 9] * np.r_[s[:, None].repeat(4, 1).T,
                                                                np.ones((4, 200))].T,
                                   X[:, d0 + t], rtol=2e-6, atol=1e-6)
    # with stockouts the trailing means see censored sales: they fall below the catalogue's
    run = _run(env, lambda o: np.zeros(o.shape[0]))
    assert run["stockout"].mean() > 0.3
    last = run["obs"][-1][:, S + 2] * s
    assert (last <= X[:, d0 + len(run["obs"]) - 1, 1] + 1e-5).all()
    assert (last < X[:, d0 + len(run["obs"]) - 1, 1] - 1e-3).mean() > 0.3


# -- metrics and rewards -----------------------------------------------------------------------
def test_retail_metrics_by_hand():
    so = np.array([[1, 0, 0, 1], [0, 0, 0, 0]])
    end = np.array([[0, 2, 4, 0], [1, 1, 1, 1]])
    sales = np.array([[3, 1, 1, 3], [0, 0, 0, 0]])
    dem = np.array([[5, 1, 1, 4], [0, 0, 0, 0]])
    m = retail_metrics(so, end, sales, dem, FLOOR, weight=0.5)
    np.testing.assert_allclose(m["sr_i"], [0.5, 0.0])
    # SKU 0: mean end 1.5 / mean sales 2 = 0.75 days; SKU 1 sells nothing: 1 / (1/28) = 28
    np.testing.assert_allclose(m["tt_i"], [0.75, 28.0])
    assert m["stockout_rate"] == pytest.approx(25.0)
    assert m["turnover_days"] == pytest.approx((0.75 + 28) / 2)
    assert m["objective"] == pytest.approx(25.0 + 0.5 * 14.375)
    np.testing.assert_allclose(m["j_i"], [50 + 0.375, 14.0])
    assert m["fill_rate"] == pytest.approx(8 / 11)
    assert m["lost_sales_share"] == pytest.approx(3 / 11)
    with pytest.raises(ValueError, match="same shape"):
        retail_metrics(so, end[:, :3], sales, dem, FLOOR)
    with pytest.raises(ValueError, match="floor"):
        retail_metrics(so, end, sales, dem, 0.0)


def test_sparse_reward_is_minus_J_and_matches_rollout():
    cat = make_catalogue(n_skus=300, horizon=30, seed=4)
    env = RetailEnv(cat, np.arange(300), reward="sparse", weight=0.3)
    pol = forecast_base_stock(env, 0.5)
    run = _run(env, pol)
    assert (run["reward"][:, :-1] == 0).all()
    m = env._metrics()
    np.testing.assert_allclose(run["reward"].sum(1), -m["j_i"])
    b = env.burn_in
    ref = retail_metrics(run["stockout"][:, b:], run["end"][:, b:], run["sales"][:, b:],
                         cat.demand[:, b:], env.scaler.floor, weight=0.3)
    np.testing.assert_allclose(ref["j_i"], m["j_i"])
    assert env.rollout(pol) == pytest.approx(ref["objective"])
    assert 0 < ref["stockout_rate"] < 100 and ref["turnover_days"] > 0


def test_dense_reward_formula_and_equality_with_sparse():
    cat = make_catalogue(n_skus=300, horizon=30, seed=4)
    env = RetailEnv(cat, np.arange(300), reward="dense", weight=0.3, burn_in=5)
    run = _run(env, forecast_base_stock(env, 0.0))
    assert (run["reward"][:, :5] == 0).all()
    so, end = run["stockout"][:, 5:], run["end"][:, 5:]
    expect = -(100 * so.mean(1) + 0.3 * end.mean(1) / env.current_scale)
    np.testing.assert_allclose(run["reward"].sum(1), expect)
    # realized mean sales equal to ŝ (constant demand = history level, ample stock): dense = J
    cat = make_catalogue(n_skus=2, horizon=10, seed=1, lead_range=(0, 0), review_periods=(1,))
    cat.history_demand = np.array([[3.0] * 28, [0.0] * 28])
    cat.demand = np.array([[3.0] * 10, [0.0] * 10])
    dense = RetailEnv(cat, np.arange(2), burn_in=2, weight=0.5)
    sparse = RetailEnv(cat, np.arange(2), burn_in=2, weight=0.5, reward="sparse")
    pol = lambda o: np.full(2, 2.0)         # noqa: E731
    rd, rs = _run(dense, pol)["reward"].sum(1), _run(sparse, pol)["reward"].sum(1)
    np.testing.assert_allclose(rd, rs)
    assert rd[0] < 0 and rd[1] < 0           # stock is held, so turnover is positive


# -- the environment's contract ----------------------------------------------------------------
def test_training_env_draws_and_spaces():
    cat = make_catalogue(n_skus=100, horizon=20, seed=1)
    pool = np.arange(10, 60)
    env = RetailEnv(cat, pool, n_envs=8, seed=3)
    obs, info = env.reset(seed=11)
    assert obs.shape == (8, env.obs_dim) and obs.dtype == np.float32
    assert env.observation_space.shape == (8, env.obs_dim)
    assert env.single_action_space.shape == (1,) and env.single_action_space.high[0] == 60
    a = info["skus"].copy()
    assert np.unique(a).size == 8 and np.isin(a, pool).all()
    np.testing.assert_allclose(env.current_scale, env.scaler.scale_[a])
    assert np.array_equal(env.reset(seed=11)[1]["skus"], a)
    assert not np.array_equal(env.reset()[1]["skus"], a) or not np.array_equal(
        env.reset()[1]["skus"], a)
    chosen = pool[:8][::-1]
    _, info = env.reset(options={"skus": chosen})
    np.testing.assert_array_equal(info["skus"], chosen)
    # the default scaler uses only the history days: no look-ahead
    np.testing.assert_allclose(env.scaler.scale_,
                               np.maximum(cat.history_demand.mean(1), FLOOR))
    n = 0
    env.reset()
    while True:
        _, r, term, trunc, _ = env.step(np.ones(8))
        n += 1
        assert r.dtype == np.float64 and r.shape == (8,)
        if trunc.any():
            break
    assert n == env.T == 20
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.ones(8))


def test_bad_inputs_raise_clear_errors():
    cat = make_catalogue(n_skus=20, horizon=10, seed=1)
    ok = np.arange(20)
    for skus, err in [(np.array([0, 20]), ValueError), (np.array([1, 1]), ValueError),
                      (np.array([0.0, 1.0]), TypeError), (np.zeros((2, 2), int), TypeError),
                      (np.array([], int), TypeError)]:
        with pytest.raises(err, match="skus"):
            RetailEnv(cat, skus)
    with pytest.raises(ValueError, match="weight"):
        RetailEnv(cat, ok, weight=-1)
    with pytest.raises(ValueError, match="reward"):
        RetailEnv(cat, ok, reward="exact")
    with pytest.raises(ValueError, match="n_envs"):
        RetailEnv(cat, ok, n_envs=21)
    with pytest.raises(ValueError, match="burn_in"):
        RetailEnv(cat, ok, burn_in=10)
    assert RetailEnv(cat, ok).burn_in == 5          # default capped at half the episode
    with pytest.raises(ValueError, match="days"):
        RetailEnv(cat, ok, days=slice(3, 3))
    with pytest.raises(TypeError, match="days"):
        RetailEnv(cat, ok, days=[1, 2])
    with pytest.raises(TypeError, match="catalogue"):
        RetailEnv("cat", ok)
    with pytest.raises(ValueError, match="scaler"):
        RetailEnv(cat, ok, scaler=SkuScaler().fit(np.ones((5, 3))))
    env = RetailEnv(cat, ok[:10], n_envs=4)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.ones(4))
    with pytest.raises(ValueError, match="pool"):
        env.reset(options={"skus": np.array([0, 1, 2, 15])})
    env.reset()
    with pytest.raises(ValueError, match="shape"):
        env.step(np.ones(5))
    with pytest.raises(ValueError, match="shape"):
        env.step(np.ones((4, 2)))
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array([1.0, np.nan, 1.0, 1.0]))
    with pytest.raises(ValueError, match="k"):
        forecast_base_stock(env, np.nan)
    with pytest.raises(ValueError, match="window"):
        forecast_base_stock(env, 1.0, window=14)
    with pytest.raises(ValueError, match="name"):
        tune_heuristic("newsvendor", env, {"k": [1]})
    with pytest.raises(ValueError, match="grid"):
        tune_heuristic("s_S", env, {"k": [1]})


# -- heuristics --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mid():
    cat = make_catalogue(n_skus=1500, horizon=60, seed=0)
    return cat, cat.split(by="sku")


def test_base_stock_monotone_in_k(mid):
    cat, (tr, va, te) = mid
    env = RetailEnv(cat, tr)
    rates, turn = [], []
    for k in (-3.0, -1.0, 0.0, 1.0, 3.0, 8.0):
        m = env.rollout_metrics(forecast_base_stock(env, k))
        rates.append(m["stockout_rate"])
        turn.append(m["turnover_days"])
    assert rates[0] > 40 and rates[-1] < 0.5
    assert all(a >= b for a, b in zip(rates, rates[1:])), rates
    assert all(a <= b for a, b in zip(turn, turn[1:])), turn


def test_s_S_and_tuning(mid):
    cat, (tr, va, te) = mid
    env = RetailEnv(cat, tr)
    # m = 0: (s, S) with S = s is the base stock policy
    obs, _ = env.reset()
    for _ in range(10):
        a, b = forecast_s_S(env, 1.0, 0.0)(obs), forecast_base_stock(env, 1.0)(obs)
        np.testing.assert_allclose(a, b)
        obs = env.step(a)[0]
    ss = forecast_s_S(env, 1.0, 5.0)
    obs, _ = env.reset()
    for _ in range(10):                     # (s, S) orders less often but more at a time
        a = ss(obs)
        assert ((a == 0) | (a >= 5.0 * obs[:, env.n_slots + 3] - 1e-4)).all()
        obs = env.step(a)[0]
    best, obj, table = tune_heuristic("base_stock", env, {"k": [0.0, 2.0, 4.0],
                                                           "window": [7, 28]})
    assert len(table) == 6 and obj == min(r["objective"] for r in table)
    assert obj == pytest.approx(env.rollout(forecast_base_stock(env, **best)))
    best_s, obj_s, table_s = tune_heuristic("s_S", env, {"k": [2.0, 4.0], "m": [0.0, 2.0]})
    assert len(table_s) == 4 and obj_s == min(r["objective"] for r in table_s)
    assert obj_s <= min(r["objective"] for r in table if r["window"] == 7 and r["k"] in (2, 4))


# -- the torch rollout -------------------------------------------------------------------------
def _torch_policy(S, theta):
    def pol(obs):
        obs = obs.float().to(theta.dtype)               # the env's float32 observation
        y = theta * obs[:, S + 3] * (obs[:, S + 9] + obs[:, S + 10]) + 0.3 * obs[:, S + 1]
        pos = obs[:, 0] + obs[:, 1:S + 1].sum(1)
        return torch.clamp(y - pos, min=0.0)
    return pol


@pytest.mark.parametrize("random_lead", [False, True])
def test_torch_rollout_equals_numpy(random_lead):
    cat = make_catalogue(n_skus=150, horizon=40, seed=6, random_lead_times=random_lead)
    env = RetailEnv(cat, np.arange(20, 150), integer_orders=False)
    theta = torch.tensor(1.2, dtype=torch.float64)
    pol = _torch_policy(env.n_slots, theta)
    run = _run(env, lambda o: pol(torch.as_tensor(o)).numpy())
    J, traj = retail_rollout_torch(pol, env, relaxed=False, dtype=torch.float64,
                                   return_trajectory=True)
    for key in ("sales", "end"):
        np.testing.assert_allclose(traj[key].numpy(), run[key], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(traj["order"].numpy(), run["order_units"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(traj["on_hand"].numpy(), run["sales"] + run["end"], rtol=1e-5,
                               atol=1e-5)
    assert run["stockout"].mean() > 0.02
    np.testing.assert_allclose(J.numpy(), -run["reward"].sum(1), rtol=1e-5, atol=1e-6)
    # a subset of SKUs in another order gives the same rows
    sub = np.array([140, 25, 77])
    Js = retail_rollout_torch(pol, env, sub, relaxed=False, dtype=torch.float64)
    np.testing.assert_allclose(Js.numpy(), J.numpy()[sub - 20], rtol=1e-9)
    with pytest.raises(ValueError, match="pool"):
        retail_rollout_torch(pol, env, np.array([3]))


def test_torch_gradient_matches_finite_differences():
    env = _hand_env(integer_orders=False)
    S = env.n_slots

    def J(theta):
        def pol(obs):
            return theta * (obs[:, S + 3] + 0.5) * (obs[:, S + 9] + obs[:, S + 10])
        return retail_rollout_torch(pol, env, dtype=torch.float64, tau_units=1.0).sum()

    th = torch.tensor(0.8, dtype=torch.float64, requires_grad=True)
    val = J(th)
    val.backward()
    g = th.grad.item()
    h = 1e-6
    with torch.no_grad():
        fd = (J(torch.tensor(0.8 + h, dtype=torch.float64))
              - J(torch.tensor(0.8 - h, dtype=torch.float64))).item() / (2 * h)
    assert np.isfinite(g) and abs(g) > 1e-3
    assert g == pytest.approx(fd, rel=1e-4)


def test_network_gradient_is_finite_and_nonzero(mid):
    cat, (tr, va, te) = mid
    env = RetailEnv(cat, tr)
    from deepstock_lite.paper.differentiable_simulator import DSPolicy
    reg = Regularization("both", L=env.position_L, feature_index=env.demand_feature_index,
                         days=28, bias_scale=14.0)
    pol = DSPolicy(env.obs_dim, reg, (16, 16), initial_bias=0.1)
    loss = retail_rollout_torch(pol, env, tr[:64]).mean()
    loss.backward()
    grads = torch.cat([p.grad.flatten() for p in pol.parameters()])
    assert torch.isfinite(grads).all() and grads.abs().max() > 0


# -- DS training -------------------------------------------------------------------------------
def test_train_ds_retail_small(monkeypatch):
    cat = make_catalogue(n_skus=200, horizon=30, seed=2)
    tr, va, te = cat.split(by="sku")
    etr, eva = RetailEnv(cat, tr), RetailEnv(cat, va)
    reg = Regularization("both", L=etr.position_L, feature_index=etr.demand_feature_index,
                         days=28, bias_scale=14.0)
    threads = torch.get_num_threads()
    t0 = time.perf_counter()
    policy, hist = train_ds_retail(etr, eva, reg,
                                   retail_ds_config(hidden=(16, 16), epochs=3, batch_size=64))
    assert time.perf_counter() - t0 < 30
    assert torch.get_num_threads() == threads
    assert len(hist) == 4 and all(np.isfinite(h["val"]) for h in hist)
    best = min(h["val"] for h in hist)
    assert eva.rollout(policy.act_numpy) == pytest.approx(best)       # keep-best
    assert hist[-1]["train"] > 0
    with pytest.raises(TypeError, match="regularization"):
        train_ds_retail(etr, eva, "both")
    with pytest.raises(ValueError, match="lr"):
        train_ds_retail(etr, eva, reg, retail_ds_config(lr=-1.0))
    with pytest.raises(TypeError, match="config must be a DSConfig"):
        train_ds_retail(etr, eva, reg, {"epochs": 1})
    with pytest.raises(ValueError, match="does not use DSConfig's patience"):
        train_ds_retail(etr, eva, reg, retail_ds_config(patience=5))
    with pytest.raises(ValueError, match="tau_units"):
        train_ds_retail(etr, eva, reg, tau_units=0.0)
    import deepstock_lite.paper.retail_ds as retail_ds

    def nan_rollout(policy, env, skus, **kw):      # a diverged surrogate: the guard fires
        return sum(p.sum() for p in policy.parameters()) * torch.full((len(skus),), np.nan)
    monkeypatch.setattr(retail_ds, "retail_rollout_torch", nan_rollout)
    with pytest.raises(TrainingDivergedError, match="diverged"):
        train_ds_retail(etr, eva, reg, retail_ds_config(hidden=(8,), epochs=1))


def test_evaluation_speed():
    cat = make_catalogue(n_skus=5000, horizon=90, seed=0)
    env = RetailEnv(cat, np.arange(5000))
    pol = forecast_base_stock(env, 1.0)
    env.rollout(pol)
    t0 = time.perf_counter()
    env.rollout(pol)
    assert time.perf_counter() - t0 < 1.0


def test_attributed_rewards_add_up_to_the_dense_rewards():
    """With deterministic lead times the days [t+l, t+l+P) of successive orders tile every
    counted day, and no later order changes them, so the two reward schemes have equal sums."""
    from deepstock_lite.paper import make_catalogue, RetailEnv, forecast_base_stock
    cat = make_catalogue(n_skus=300, horizon=40, seed=3)
    sums = {}
    for mode in ("dense", "attributed"):
        env = RetailEnv(cat, np.arange(300), reward=mode)
        policy = forecast_base_stock(env, k=1.0)
        obs, _ = env.reset()
        total = np.zeros(300)
        nonzero_off_review = 0
        for _ in range(env.T):
            review = obs[:, env.obs_names.index("review_today")] == 1
            obs, r, _, _, _ = env.step(policy(obs))
            total += r
            nonzero_off_review += int(np.count_nonzero(r[~review]))
        sums[mode] = total
        if mode == "attributed":
            assert nonzero_off_review == 0
    assert sums["dense"].min() < 0
    np.testing.assert_allclose(sums["attributed"], sums["dense"], rtol=1e-9, atol=1e-12)


def test_cost_objective_hand_computed_and_rewards_follow_it():
    """objective="cost": C_i = mean over counted days of (h·end + b·lost)/ŝ_i; the dense,
    attributed and sparse rewards all add up to −C_i (deterministic lead times)."""
    end = np.array([[2.0, 0.0], [1.0, 3.0]])
    sales = np.array([[1.0, 2.0], [4.0, 0.0]])
    demand = np.array([[1.0, 5.0], [4.0, 0.0]])
    stock = (end == 0).astype(float)
    m = retail_metrics(stock, end, sales, demand, 1 / 28, objective="cost", h=0.1, b=0.9,
                       scale=np.array([2.0, 0.5]))
    c0 = (0.1 * 2 + 0.9 * 3 + 0.1 * 0) / 2.0 / 2       # lost 3 on day 2, ŝ = 2
    c1 = (0.1 * 1 + 0.1 * 3) / 0.5 / 2
    np.testing.assert_allclose(m["c_i"], [c0, c1])
    assert m["objective"] == pytest.approx((c0 + c1) / 2) == pytest.approx(m["cost"])
    service = retail_metrics(stock, end, sales, demand, 1 / 28, scale=np.array([2.0, 0.5]))
    assert service["cost"] == pytest.approx(m["cost"])
    assert service["objective"] == pytest.approx(service["stockout_rate"]
                                                 + 0.1 * service["turnover_days"])
    with pytest.raises(ValueError, match="objective"):
        retail_metrics(stock, end, sales, demand, 1 / 28, objective="profit")

    from deepstock_lite.paper import make_catalogue, RetailEnv, forecast_base_stock
    cat = make_catalogue(n_skus=200, horizon=40, seed=4)
    totals = {}
    for mode in ("dense", "attributed", "sparse"):
        env = RetailEnv(cat, np.arange(200), reward=mode, objective="cost", b=2.0)
        policy = forecast_base_stock(env, k=0.0)
        obs, _ = env.reset()
        total = np.zeros(200)
        for _ in range(env.T):
            obs, r, _, _, _ = env.step(policy(obs))
            total += r
        totals[mode] = total
        metrics = env._metrics()
    np.testing.assert_allclose(totals["dense"], -metrics["c_i"], rtol=1e-9)
    np.testing.assert_allclose(totals["attributed"], totals["dense"], rtol=1e-9)
    np.testing.assert_allclose(totals["sparse"], -metrics["c_i"], rtol=1e-12)
    assert metrics["objective"] == pytest.approx(metrics["cost"]) and metrics["cost"] > 0
    with pytest.raises(ValueError, match="objective"):
        RetailEnv(cat, np.arange(200), objective="profit")


def test_torch_rollout_follows_the_cost_objective():
    cat = make_catalogue(n_skus=120, horizon=40, seed=6)
    env = RetailEnv(cat, np.arange(120), integer_orders=False, objective="cost", b=2.0)
    pol = _torch_policy(env.n_slots, torch.tensor(1.0, dtype=torch.float64))
    run = _run(env, lambda o: pol(torch.as_tensor(o)).numpy())
    J = retail_rollout_torch(pol, env, relaxed=True, dtype=torch.float64)
    # the cost objective needs no relaxation: relaxed or not, it is minus the dense rewards
    np.testing.assert_allclose(J.numpy(), -run["reward"].sum(1), rtol=1e-5, atol=1e-6)
    assert run["reward"].sum() < 0


# -- Coeff per review day and the breakdown by review period ---------------------------------
def test_period_coeff_orders_cover_per_review_day():
    from deepstock_lite.paper.retail import PeriodCoeff, metrics_by_period
    from deepstock_lite.core.decoding import make_decoder
    cat = make_catalogue(n_skus=300, horizon=30, seed=4)
    env = RetailEnv(cat, np.arange(300))
    iP = env.obs_names.index("P")
    reg = PeriodCoeff(L=env.position_L, feature_index=env.demand_feature_index,
                      days=7.0, bias_scale=3.5, period_index=iP)
    plain = Regularization("coeff", L=env.position_L, feature_index=env.demand_feature_index,
                           days=7.0, bias_scale=3.5)
    obs, _ = env.reset()
    u = np.full((obs.shape[0], 5), 0.04)
    np.testing.assert_allclose(reg(u, obs), obs[:, iP] * plain(u, obs))
    ut = torch.full((obs.shape[0], 5), 0.04, requires_grad=True)
    reg(ut, torch.as_tensor(obs)).sum().backward()            # differentiable for DS
    assert torch.isfinite(ut.grad).all()
    again = make_decoder(reg.to_dict())
    assert isinstance(again, PeriodCoeff) and again.period_index == iP
    # constant output: the per-review-day cover is alike for P = 1, 2, 7 under PeriodCoeff;
    # the plain Coeff orders the same per review, i.e. P times more per day for daily SKUs
    by_new = metrics_by_period(env, lambda o: reg(np.full((o.shape[0], 5), 0.04), o))
    by_old = metrics_by_period(env, lambda o: plain(np.full((o.shape[0], 5), 0.2), o))
    assert set(by_new) == {1, 2, 7} and sum(v["skus"] for v in by_new.values()) == 300
    per_day = [v["cover_per_day"] for v in by_new.values()]
    assert max(per_day) / min(per_day) < 1.6
    assert by_old[1]["cover_per_day"] > 4 * by_old[7]["cover_per_day"]
    assert by_old[1]["turnover_days"] > by_new[1]["turnover_days"]
    with pytest.raises(TypeError, match="evaluation"):
        metrics_by_period(RetailEnv(cat, np.arange(300), n_envs=10), lambda o: o[:, 0])
