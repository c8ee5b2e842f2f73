"""Shared RL machinery: GAE, Polyak averaging, normalizers, replay buffer, decoders,
checkpoints."""
import copy
import os

import numpy as np
import pytest
import torch

from deepstock_lite.rl import (BaseStockDecoder, IdentityDecoder, ObsNormalizer, ReplayBuffer,
                               RewardScaler, RunningMeanStd, compute_gae, make_decoder,
                               load_checkpoint, save_checkpoint)
from deepstock_lite.rl.networks import Adam, MLP, Net, mlp, polyak_update
from deepstock_lite.rl.evaluation import linear_lr

torch.set_num_threads(1)


def test_gae_hand_computed_with_truncation_and_termination():
    g, lam = 0.9, 0.5
    # env 0: steps 0,1 then truncation at step 1 (bootstrap from the final obs value 10),
    #        a new episode at step 2.
    # env 1: termination at step 1 (no bootstrap), a new episode at step 2.
    r = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    v = np.array([[0.5, 0.5], [1.0, 1.0], [2.0, 2.0]])
    nv = np.array([[1.0, 1.0], [10.0, 7.0], [4.0, 4.0]])   # V(s_{t+1}) as returned by env
    term = np.array([[0, 0], [0, 1], [0, 0]])
    trunc = np.array([[0, 0], [1, 0], [0, 0]])
    adv, ret = compute_gae(r, v, nv, term, trunc, g, lam)
    # step 2 (last, bootstraps from V(s_3) = 4): delta = 3 + .9*4 - 2 = 4.6 in both envs
    d2 = 3 + g * 4 - 2
    # env 0, step 1: truncated -> delta = 2 + .9*10 - 1 = 10, recursion cut
    d1_0 = 2 + g * 10 - 1
    # env 1, step 1: terminated -> delta = 2 + 0 - 1 = 1, recursion cut
    d1_1 = 2 - 1
    d0 = 1 + g * 1.0 - 0.5
    expected = np.array([[d0 + g * lam * d1_0, d0 + g * lam * d1_1],
                         [d1_0, d1_1],
                         [d2, d2]])
    np.testing.assert_allclose(adv, expected)
    np.testing.assert_allclose(ret, expected + v)
    # numbers, to make the hand computation visible
    np.testing.assert_allclose(adv[:, 0], [1.4 + 0.45 * 10, 10.0, 4.6])


def test_gae_lambda_one_is_discounted_return_minus_value():
    r = np.array([1.0, 2.0, 3.0])
    v = np.array([0.3, 0.2, 0.1])
    nv = np.array([0.2, 0.1, 5.0])
    adv, ret = compute_gae(r, v, nv, np.zeros(3), [0, 0, 1], 0.5, 1.0)
    G = [1 + 0.5 * 2 + 0.25 * 3 + 0.125 * 5, 2 + 0.5 * 3 + 0.25 * 5, 3 + 0.5 * 5]
    np.testing.assert_allclose(ret, G)


def test_polyak_update():
    torch.manual_seed(0)
    a, b = mlp(3, 1, (4,)), mlp(3, 1, (4,))
    before = [p.clone() for p in b.parameters()]
    polyak_update(b, a, 0.25)
    for pb, p0, pa in zip(b.parameters(), before, a.parameters()):
        torch.testing.assert_close(pb, 0.75 * p0 + 0.25 * pa)
    polyak_update(b, a, 1.0)
    for pb, pa in zip(b.parameters(), a.parameters()):
        torch.testing.assert_close(pb, pa)
    with pytest.raises(ValueError, match="tau"):
        polyak_update(b, a, 1.5)


def test_fast_paths_are_bit_identical_to_torch():
    """The overhead-free MLP forward, Net.requires_grad_ and Adam's short path compute exactly
    what nn.Sequential, Module.requires_grad_ and torch's fused Adam compute."""
    torch.manual_seed(0)
    net = mlp(5, 3, (16, 16), "elu")
    assert isinstance(net, MLP)
    ref = torch.nn.Sequential(*net)          # the same layers, torch's own forward
    x = torch.randn(64, 5)
    assert torch.equal(net(x), ref(x))
    # Adam: the short path (from the second step on) against torch's own fused step
    twin = copy.deepcopy(ref)
    ours, theirs = Adam(list(net.parameters()), 1e-2), torch.optim.Adam(
        list(twin.parameters()), lr=1e-2, fused=True)
    for k in range(30):
        for model, opt in ((net, ours), (twin, theirs)):
            for g in opt.param_groups:
                g["lr"] = 1e-2 / (1 + k)      # the agents decay the learning rate
            opt.zero_grad()
            (model(x) ** 2).mean().backward()
            opt.step()
    assert ours._lists is not None           # the short path did run
    for a, b in zip(net.parameters(), twin.parameters()):
        assert torch.equal(a, b)
    # a reloaded state drops the cached state tensors
    ours.load_state_dict(theirs.state_dict())
    assert ours._lists is None
    # Net: freezing through the cached list, and polyak_update with cached lists
    class Two(Net):
        def __init__(self):
            super().__init__()
            self.net = mlp(2, 1, (4,))
    a, b = Two(), Two()
    a.requires_grad_(False)
    assert not any(p.requires_grad for p in a.parameters())
    a.requires_grad_(True)
    assert all(p.requires_grad for p in a.parameters())
    b_plain, a_plain = torch.nn.Sequential(*copy.deepcopy(b.net)), torch.nn.Sequential(*a.net)
    polyak_update(b, a, 0.1)                 # cached parameter lists
    polyak_update(b_plain, a_plain, 0.1)     # plain modules
    for pb, pp in zip(b.parameters(), b_plain.parameters()):
        assert torch.equal(pb, pp)


def test_adam_short_path_still_calls_step_hooks():
    """The short path skips torch's hook machinery only when no hook is registered."""
    torch.manual_seed(0)
    net = mlp(3, 1, (8,))
    opt = Adam(list(net.parameters()), 1e-2)
    x = torch.randn(16, 3)
    calls = []
    for k in range(4):
        if k == 2:
            handle = opt.register_step_post_hook(lambda o, a, kw: calls.append(k))
        opt.zero_grad()
        (net(x) ** 2).mean().backward()
        opt.step()
    assert calls == [2, 3]
    handle.remove()
    opt.zero_grad()
    (net(x) ** 2).mean().backward()
    opt.step()
    assert calls == [2, 3]


def test_running_mean_std_matches_numpy():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(1000, 2))
    rms = RunningMeanStd((2,), epsilon=0.0)
    for chunk in np.array_split(x, 7):
        rms.update(chunk)
    np.testing.assert_allclose(rms.mean, x.mean(0))
    np.testing.assert_allclose(rms.var, x.var(0))
    norm = ObsNormalizer(2)
    norm.update(x)
    z = norm(x)
    assert abs(z.mean()) < 1e-3 and abs(z.std() - 1) < 1e-2
    # numpy and torch paths agree
    np.testing.assert_allclose(norm(torch.tensor(x[:5], dtype=torch.float32)).numpy(), z[:5],
                               rtol=1e-5, atol=1e-5)


def test_reward_scaler_divides_by_return_std():
    sc = RewardScaler(1, gamma=0.0)
    for r in np.random.default_rng(1).normal(0, 5.0, 2000):
        sc([r])
    assert abs(1 / sc.scale - 5.0) < 0.3


def test_replay_buffer_wraps_and_roundtrips():
    buf = ReplayBuffer(5, obs_dim=2)
    for i in range(3):
        buf.add(np.full((2, 2), i), np.full((2, 1), i), np.full(2, float(i)), np.full((2, 2), i),
                np.zeros(2))
    assert len(buf) == 5 and buf.pos == 1
    assert sorted(buf.r.tolist()) == [0.0, 1.0, 1.0, 2.0, 2.0]
    batch = buf.sample(4, torch.Generator().manual_seed(0))
    assert batch["obs"].shape == (4, 2) and batch["u"].shape == (4, 1)
    other = ReplayBuffer(5, 2)
    other.load_state_dict(buf.state_dict())
    np.testing.assert_array_equal(other.r, buf.r)
    assert other.pos == buf.pos


def test_decoders():
    obs = np.array([[3.0, 4.0], [-2.0, 1.0], [30.0, 0.0]])
    base = BaseStockDecoder(L=2)
    np.testing.assert_allclose(base(np.array([20.0, 20.0, 20.0]), obs), [13.0, 21.0, 0.0])
    t = base(torch.tensor([20.0, 20.0, 20.0]), torch.tensor(obs, dtype=torch.float32))
    np.testing.assert_allclose(t.numpy(), [13.0, 21.0, 0.0])
    assert IdentityDecoder()(np.array([1.5]), obs[:1]) == 1.5
    assert make_decoder(base.to_dict()).L == 2
    with pytest.raises(ValueError, match="decoder"):
        make_decoder({"name": "nope"})
    with pytest.raises(ValueError, match="L"):
        BaseStockDecoder(-1)


def test_linear_lr():
    assert linear_lr(1.0, 0, 100, 0.1) == 1.0
    assert linear_lr(1.0, 50, 100, 0.1) == pytest.approx(0.55)
    assert linear_lr(1.0, 500, 100, 0.1) == pytest.approx(0.1)


def test_checkpoint_is_atomic_and_weights_only(tmp_path):
    path = tmp_path / "ck.pt"
    save_checkpoint(path, {"w": torch.ones(3), "n": 3, "s": "x"})
    d = load_checkpoint(path)
    assert d["n"] == 3 and torch.equal(d["w"], torch.ones(3))
    # a payload that cannot be saved leaves the old file intact and no temp file behind

    class Bad:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        save_checkpoint(path, {"w": Bad()})
    assert load_checkpoint(path)["n"] == 3
    assert os.listdir(tmp_path) == ["ck.pt"]
    torch.save({"not": "ours"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a deepstock_lite.rl checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")
