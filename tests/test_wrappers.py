"""The DeepStock decodings as gymnasium action wrappers."""
import subprocess
import sys

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from deepstock_lite import InventorySystem
from deepstock_lite.core.demand import Poisson
from deepstock_lite.core.decoding import Regularization
from deepstock_lite.envs import (BatchInventoryEnv, InventoryEnv, RegularizedAction,
                                 RegularizedVectorAction)


def single(**kw):
    return InventoryEnv(InventorySystem(L=2, b=4.0, backlog=False), Poisson(5), 20, 60.0, **kw)


def test_the_three_line_example():
    env = RegularizedAction(single(), "base", a_max=50.0)
    obs, _ = env.reset(seed=0)
    obs, r, term, trunc, info = env.step(np.array([-0.2], np.float32))  # target 0.4 * 50 = 20
    assert info["order"] == pytest.approx(20.0)                         # position 0 at start
    assert info["u"] == pytest.approx([0.4])
    assert env.action_space.low[0] == -1.0 and env.action_space.high[0] == 1.0


@pytest.mark.parametrize("kind, action_range", [("none", (-1, 1)), ("base", (-1, 1)),
                                                ("none", (0, 1)), ("base", (0, 1))])
def test_orders_follow_the_regularization(kind, action_range):
    env = RegularizedAction(single(on_hand=7.0), kind, a_max=40.0, action_range=action_range)
    reg = Regularization(kind, L=2, a_max=40.0)
    obs, _ = env.reset(seed=1)
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = rng.uniform(action_range[0] - 0.3, 1.3, size=1).astype(np.float32)
        u = np.clip(a.astype(np.float64), action_range[0], 1.0)
        u = (u + 1) / 2 if action_range[0] < 0 else u
        expected = float(reg(u, obs.astype(np.float64)))
        obs, _, _, _, info = env.step(a)
        assert info["order"] == pytest.approx(min(expected, 60.0))


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("kind", ["none", "base"])
def test_wrapped_env_passes_the_checker(kind):
    check_env(RegularizedAction(single(), kind, a_max=50.0), skip_render_check=True)


def test_coeff_and_both_read_features():
    D = np.full((2, 30), 5.0)
    F = np.full((2, 30, 1), 5.0)
    env = InventoryEnv(InventorySystem(L=1), D, 20, 500.0, features=F)
    w = RegularizedAction(env, "both", feature_index=(1,), days=4.0, bias_scale=10.0)
    assert w.action_space.shape == (2,)
    w.reset(options={"path": 0})
    _, _, _, _, info = w.step(np.array([1.0, -1.0], np.float32))   # c = 1, bias 0
    assert info["order"] == pytest.approx(4.0 * 5.0)


def test_any_decoder_with_the_protocol():
    class Half:
        unit_actions, n_outputs = True, 1

        def __call__(self, u, obs):
            return u[..., 0] * 10.0

    env = RegularizedAction(single(), Half(), action_range=(0, 1))
    env.reset(seed=0)
    assert env.step(np.array([0.5], np.float32))[4]["order"] == pytest.approx(5.0)


@pytest.mark.parametrize("args, kwargs, exc, match", [
    (("base",), {}, ValueError, "a_max"),
    (("bass",), {"a_max": 1.0}, ValueError, "kind"),
    ((5,), {}, TypeError, "regularization"),
    ((Regularization("base", L=2, a_max=5.0),), {"a_max": 3.0}, TypeError, "keyword"),
    (("base",), {"a_max": 5.0, "action_range": (-2, 1)}, ValueError, "action_range"),
    (("base",), {"a_max": 5.0, "action_range": "ab"}, TypeError, "action_range"),
])
def test_bad_wrapper_arguments(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        RegularizedAction(single(), *args, **kwargs)


def test_bad_wrapper_env_and_actions():
    with pytest.raises(TypeError, match="env"):
        RegularizedAction("env", "base", a_max=5.0)
    env = RegularizedAction(single(), "base", a_max=5.0)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(1, np.float32))
    env.reset(seed=0)
    for bad, exc in [("0.5", TypeError), (np.array([np.nan]), ValueError),
                     (np.zeros(3), ValueError), (np.array([True]), TypeError)]:
        with pytest.raises(exc, match="action"):
            env.step(bad)


def test_vector_wrapper_rollout_equals_base_stock():
    inst_sys = InventorySystem(L=2, b=4.0, backlog=False)
    D = Poisson(5).sample(16, 200, seed=2)
    env = BatchInventoryEnv(inst_sys, D, 200, 60.0, on_hand=15.0)
    w = RegularizedVectorAction(env, "base", a_max=50.0)
    u = 2 * 16 / 50 - 1                                  # target 16
    wrapped = w.rollout(lambda o: np.full((16, 1), u))
    direct = env.rollout(lambda o: np.maximum(16 - o[:, 0] - o[:, 1], 0.0))
    assert wrapped == pytest.approx(direct)
    with pytest.raises(ValueError, match="actions"):
        w.reset(seed=0)
        w.step(np.zeros((3, 1)))
    with pytest.raises(TypeError, match="VectorEnv"):
        RegularizedVectorAction(single(), "base", a_max=5.0)


def test_envs_do_not_import_torch():
    code = ("import sys; import deepstock_lite.envs as e; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_vector_wrapper_on_the_retail_environment():
    from deepstock_lite.paper import RetailEnv, make_catalogue
    cat = make_catalogue(n_skus=6, horizon=30, seed=0, lead_range=(1, 2))
    env = RetailEnv(cat, np.arange(6))
    w = RegularizedVectorAction(env, "both", feature_index=env.demand_feature_index,
                                bias_scale=2.0)                  # L read from position_L
    direct = Regularization("both", L=env.position_L, feature_index=env.demand_feature_index,
                            bias_scale=2.0)
    u = np.full((6, len(env.demand_feature_index) + 1), 0.3)
    assert w.rollout(lambda o: 2 * u - 1) == pytest.approx(
        env.rollout(lambda o: direct(u, np.asarray(o, np.float64))))


class _GeneralPath(Regularization):
    """The same decoding as a subclass, which the wrapper decodes on numpy arrays only."""


def _bits(x):
    """What must be equal, bit for bit: the bytes of arrays (with dtype and shape) and
    floats, then everything else by ==."""
    if isinstance(x, np.ndarray):
        return x.dtype.str, x.shape, x.tobytes()
    if isinstance(x, float):
        return np.float64(x).tobytes()
    if isinstance(x, dict):
        return {k: _bits(v) for k, v in x.items()}
    if isinstance(x, tuple):
        return tuple(_bits(v) for v in x)
    return type(x), x


def _trajectory(env, seed, n_steps=2000):
    """Every number the wrapped environment gives over ``n_steps`` random actions (spread
    past the action range, with exact signed zeros and bounds), resets included."""
    rng = np.random.default_rng(seed)
    low = env.action_space.low[0]
    k = env.action_space.shape[0]
    acts = rng.uniform(low - 0.5, 1.5, size=(n_steps, k)).astype(np.float32)
    special = np.array([0.0, -0.0, low, 1.0, -1.0], np.float32)
    mask = rng.random(acts.shape) < 0.2
    acts[mask] = rng.choice(special, size=mask.sum())
    out = [_bits(env.reset(seed=seed))]
    for a in acts:
        step = env.step(a)
        out.append(_bits(step))
        if step[3]:
            out.append(_bits(env.reset()))
    return out


def _pair(kind, seed, action_range):
    """The same environment and decoding twice: the fast path and the general path."""
    rng = np.random.default_rng(100 + seed)
    L = (0, 1, 2, 3)[seed % 4]
    system = InventorySystem(L=L, h=1.0, b=rng.uniform(1, 19), backlog=bool(seed % 2))
    if kind in ("none", "base"):
        mean, on_hand = rng.uniform(2, 10), rng.uniform(0, 20)

        def make():
            return InventoryEnv(system, Poisson(mean), 50, 40.0, on_hand=on_hand)
        kw = dict(a_max=rng.uniform(10, 60))
    else:
        n_history, n_features = seed % 3, 1 + seed % 3
        D = rng.poisson(5, size=(4, 60)).astype(float)
        F = rng.uniform(0, 3, size=(4, 60, n_features))

        def make():
            return InventoryEnv(system, D, 50, 40.0, n_history=n_history, features=F)
        first = 1 + max(L - 1, 0) + n_history
        kw = dict(feature_index=tuple(range(first, first + n_features)),
                  days=rng.uniform(1, 28), bias_scale=rng.uniform(0, 10))
    fast = RegularizedAction(make(), kind, action_range=action_range, **kw)
    general = RegularizedAction(make(), _GeneralPath(kind, L=L, **kw),
                                action_range=action_range)
    return fast, general


@pytest.mark.parametrize("action_range", [(-1, 1), (0, 1)])
@pytest.mark.parametrize("kind", ["none", "base", "coeff", "both"])
def test_fast_path_is_bit_identical_to_the_general_path(kind, action_range):
    # observations, rewards, flags, infos (cost, order, t, u) of 2 000 steps, 4 instances
    # (lead times 0 to 3, lost sales and backlog, with demand history and 1 to 3 features)
    for seed in range(4):
        fast, general = _pair(kind, seed, action_range)
        assert fast._fast and not general._fast        # the two paths are the ones compared
        assert _trajectory(fast, seed) == _trajectory(general, seed)


def _vector_pair(kind, seed, action_range):
    """A batch environment twice, decoded by a Regularization (the unchecked path) and by
    the same decoding as a subclass (the checked path)."""
    rng = np.random.default_rng(200 + seed)
    L = (0, 1, 2, 3)[seed % 4]
    system = InventorySystem(L=L, h=1.0, b=rng.uniform(1, 19), backlog=bool(seed % 2))
    n, n_history, n_features = (1, 5, 16, 64)[seed % 4], seed % 2, 1 + seed % 3
    D = rng.poisson(5, size=(n + 1, 60)).astype(float)
    F = rng.uniform(0, 3, size=(n + 1, 60, n_features))
    first = 1 + max(L - 1, 0) + n_history
    kw = dict(a_max=rng.uniform(10, 60)) if kind in ("none", "base") else dict(
        feature_index=tuple(range(first, first + n_features)), days=rng.uniform(1, 28),
        bias_scale=rng.uniform(0, 10))
    on_hand = rng.uniform(0, 20)

    def make():
        return BatchInventoryEnv(system, D, 50, 40.0, n_envs=n, n_history=n_history,
                                 features=F, on_hand=on_hand)
    fast = RegularizedVectorAction(make(), kind, action_range=action_range, **kw)
    general = RegularizedVectorAction(make(), _GeneralPath(kind, L=L, **kw),
                                      action_range=action_range)
    return fast, general


def _vector_trajectory(env, seed, n_steps=300):
    rng = np.random.default_rng(seed)
    low = env.single_action_space.low[0]
    acts = rng.uniform(low - 0.5, 1.5, size=(n_steps,) + env.action_space.shape)
    special = np.array([0.0, -0.0, low, 1.0, -1.0])
    mask = rng.random(acts.shape) < 0.2
    acts[mask] = rng.choice(special, size=mask.sum())
    out = [_bits(env.reset(seed=seed))]
    for i, a in enumerate(acts):
        step = env.step(a.astype(np.float32) if i % 2 else a)
        out.append(_bits(step))
        if step[3][0]:
            out.append(_bits(env.reset()))
    return out


@pytest.mark.parametrize("action_range", [(-1, 1), (0, 1)])
@pytest.mark.parametrize("kind", ["none", "base", "coeff", "both"])
def test_vector_fast_path_is_bit_identical_to_the_general_path(kind, action_range):
    # observations, rewards, flags and infos of 300 steps of float32 and float64 actions,
    # 4 batches (1 to 64 SKUs, lead times 0 to 3, lost sales and backlog, 1 to 3 features)
    for seed in range(4):
        fast, general = _vector_pair(kind, seed, action_range)
        assert type(general.regularization) is not Regularization     # the checked path
        reg, calls = fast.regularization, []                           # the unchecked path,

        def order_array(u, obs):                                       # at every step
            calls.append(1)
            return Regularization.order_array(reg, u, obs)
        reg.order_array = order_array
        assert _vector_trajectory(fast, seed) == _vector_trajectory(general, seed)
        assert len(calls) == 300
    # non-finite actions take the checked path and its error
    fast.reset(seed=0)
    bad = np.zeros(fast.action_space.shape)
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="finite"):
        fast.step(bad)
