"""Agents fail loudly: divergence stops training with a message, damaged checkpoints are
refused with one clear error naming the file, and the same seed gives the same agent."""
import hashlib

import numpy as np
import pytest
import torch

from deepstock_lite.rl import (BaseStockDecoder, CheckpointError, DDPG, DDPGConfig,
                               TrainingDivergedError, ddpg, dsac, load_checkpoint, ppo,
                               save_checkpoint)
from deepstock_lite.rl.instances import make_envs

STEPS = dict(total_steps=1200, learning_starts=400, eval_every=400)


def _fingerprint(agent):
    h = hashlib.sha256()
    for sd in agent.state_dict(include_buffer=False)["modules"].values():
        for p in sd.values():
            h.update(p.detach().numpy().tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("module, Config", [(ddpg, ddpg.DDPGConfig), (dsac, dsac.DSACConfig)])
def test_exploding_learning_rates_raise(module, Config):
    env, ev = make_envs("a", n_envs=1, horizon=50, eval_paths=10, eval_horizon=200)
    cfg = Config(a_max=50.0, actor_lr=1e3, critic_lr=1e3, **STEPS)
    with pytest.raises(TrainingDivergedError, match="diverged.*critic"):
        module.train(env, cfg, eval_env=ev, decoder=BaseStockDecoder(2), quiet=True)


def test_healthy_run_is_not_flagged():
    env, ev = make_envs("a", n_envs=1, horizon=50, eval_paths=10, eval_horizon=200)
    agent, hist = ddpg.train(env, DDPGConfig(a_max=50.0, **STEPS), eval_env=ev,
                             decoder=BaseStockDecoder(2), quiet=True)
    assert all(np.isfinite(h["eval_cost"]) for h in hist)


@pytest.mark.parametrize("module, Config, n_envs", [(ddpg, ddpg.DDPGConfig, 1),
                                                     (dsac, dsac.DSACConfig, 2),
                                                     (ppo, ppo.PPOConfig, 4)])
def test_same_seed_same_agent_bit_for_bit(module, Config, n_envs):
    """Twice in one process, with an evaluation env that draws demand from a process."""
    prints, costs = [], []
    for _ in range(2):
        env, ev = make_envs("b", n_envs=n_envs, horizon=40, eval_paths=10, eval_horizon=200)
        extra = {} if module is ppo else {"learning_starts": 300}
        cfg = Config(a_max=50.0, total_steps=800, eval_every=400, seed=3, **extra)
        agent, hist = module.train(env, cfg, eval_env=ev, decoder=BaseStockDecoder(2),
                                   quiet=True)
        prints.append(_fingerprint(agent))
        costs.append([h["eval_cost"] for h in hist])
    assert prints[0] == prints[1]
    assert costs[0] == costs[1]


_TWO_PROCESS = """
import hashlib, sys, torch
from deepstock_lite.rl import BaseStockDecoder, {mod}
from deepstock_lite.rl.instances import make_envs
torch.set_num_threads(1)
env, ev = make_envs("b", n_envs={n}, horizon=40, eval_paths=10, eval_horizon=200)
cfg = {mod}.{cfg}(a_max=50.0, total_steps=800, eval_every=400, seed=3{extra})
agent, hist = {mod}.train(env, cfg, eval_env=ev, decoder=BaseStockDecoder(2), quiet=True)
h = hashlib.sha256()
for sd in agent.state_dict(include_buffer=False)["modules"].values():
    for p in sd.values():
        h.update(p.detach().numpy().tobytes())
print(h.hexdigest())
"""


@pytest.mark.parametrize("module, Config, n_envs", [(ddpg, "DDPGConfig", 1),
                                                     (ppo, "PPOConfig", 4)])
def test_same_seed_same_agent_in_another_process(module, Config, n_envs):
    """A fresh interpreter (new hash seed, new allocator state) trains the identical agent."""
    import subprocess
    import sys

    torch.set_num_threads(1)
    extra = "" if module is ppo else ", learning_starts=300"
    code = _TWO_PROCESS.format(mod=module.__name__.rsplit(".", 1)[1], n=n_envs, cfg=Config,
                               extra=extra)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=600).stdout.split()[-1]
    env, ev = make_envs("b", n_envs=n_envs, horizon=40, eval_paths=10, eval_horizon=200)
    cfg = getattr(module, Config)(a_max=50.0, total_steps=800, eval_every=400, seed=3,
                                  **({} if module is ppo else {"learning_starts": 300}))
    agent, _ = module.train(env, cfg, eval_env=ev, decoder=BaseStockDecoder(2), quiet=True)
    assert _fingerprint(agent) == out


def _saved(tmp_path):
    agent = DDPG(DDPGConfig(a_max=50.0), 4, 50.0, BaseStockDecoder(2))
    path = tmp_path / "agent.pt"
    agent.save(path)
    return path


def test_damaged_checkpoints_give_one_clear_error(tmp_path):
    path = _saved(tmp_path)
    data = path.read_bytes()
    assert DDPG.load(path).config == DDPGConfig(a_max=50.0)
    cases = {
        "truncated.pt": data[: len(data) // 2],
        "empty.pt": b"",
        "text.pt": b"hello, I am a text file\n" * 10,
        "flipped.pt": data[:len(data) // 2] + bytes(b ^ 0xFF for b in data[len(data) // 2:
                                                                            len(data) // 2 + 64])
        + data[len(data) // 2 + 64:],
    }
    for name, blob in cases.items():
        bad = tmp_path / name
        bad.write_bytes(blob)
        with pytest.raises(CheckpointError, match=name):
            DDPG.load(bad)
        with pytest.raises(ValueError, match=name):  # CheckpointError is a ValueError
            load_checkpoint(bad)


def test_foreign_files_are_refused(tmp_path):
    torch.save({"not": "ours"}, tmp_path / "torch.pt")
    with pytest.raises(CheckpointError, match="torch.pt"):
        load_checkpoint(tmp_path / "torch.pt")
    save_checkpoint(tmp_path / "plain.pt", {"w": torch.ones(2)})
    with pytest.raises(CheckpointError, match="not of an agent"):
        DDPG.load(tmp_path / "plain.pt")
    with pytest.raises(CheckpointError, match="not a file"):
        load_checkpoint(tmp_path)
    with pytest.raises(TypeError, match="path"):
        load_checkpoint(3)
