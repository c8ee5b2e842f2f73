"""Stable-Baselines3 through the DeepStock wrapper (skipped without stable-baselines3)."""
import json

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from stable_baselines3 import DDPG, PPO  # noqa: E402

from deepstock_lite.envs import InventoryEnv, RegularizedAction  # noqa: E402
from lab import sb3_study  # noqa: E402
from deepstock_lite.integrations import sb3_summary  # noqa: E402
from deepstock_lite.rl.instances import get_instance  # noqa: E402


def wrapped(kind="base"):
    inst = get_instance("b")
    return RegularizedAction(InventoryEnv(inst.system(), inst.demand(), 50, 60.0, on_hand=15.0),
                             kind, a_max=50.0)


@pytest.mark.parametrize("algo", [PPO, DDPG])
def test_sb3_trains_through_the_wrapper(algo):
    import torch
    torch.set_num_threads(1)
    env = wrapped()
    kw = dict(n_steps=128, batch_size=64, n_epochs=2) if algo is PPO else \
        dict(learning_starts=100, batch_size=32)
    model = algo("MlpPolicy", env, seed=0, device="cpu", policy_kwargs=dict(net_arch=[16, 16]),
                 **kw).learn(300)
    obs, _ = env.reset(seed=1)
    action, _ = model.predict(obs, deterministic=True)
    assert action.shape == (1,) and -1.0 <= action[0] <= 1.0
    _, _, _, _, info = env.step(action)
    assert 0.0 <= info["order"] <= 50.0


def test_study_tiny_budget(tmp_path):
    out = tmp_path / "sb3.json"
    data = sb3_study.run_study("tiny", out, quiet=True)
    assert len(data["runs"]) == 8                 # 2 libraries x 2 algorithms x 2 decodings
    for row in data["runs"].values():
        assert np.isfinite(row["final_gap"]) and np.isfinite(row["best_gap"])
        assert row["cpu_s"] > 0 and row["evals"]
    # resumable: a second call runs nothing and returns the same file
    again = sb3_study.run_study("tiny", out, quiet=True)
    assert again["runs"] == json.loads(out.read_text())["runs"] == data["runs"]
    table = sb3_study.format_table(data)
    assert "sb3" in table and "book" in table
    with pytest.raises(ValueError, match="budget"):
        sb3_study.run_study("huge", out)
    with pytest.raises(TypeError, match="data"):
        sb3_summary.summarize([1, 2])
