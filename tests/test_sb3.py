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
    # (SB3 and the book) x 2 algorithms x 2 decodings, and the book's PPO with orthogonal
    # initial weights under both decodings
    assert len(data["runs"]) == 10
    assert {k for k in data["runs"] if k.startswith("book_ortho/")} == {
        "book_ortho/ppo/none/b/0", "book_ortho/ppo/base/b/0"}
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
    with pytest.raises(ValueError, match="lib, algo"):
        sb3_study.run_one("book_ortho", "ddpg", "base", "b", 0, "tiny")


def test_efficiency_medians_count_never_as_infinitely_late():
    """Medians over seeds of the CPU seconds to 5% and 3% (a seed that never got there is
    infinitely late) and of the final and best gaps, per algorithm, instance and library."""
    def run(lib, seed, evals, final, best):
        return {"lib": lib, "algo": "ppo", "reg": "base", "instance": "a", "seed": seed,
                "optimum": 10.0, "evals": evals, "final_gap": final, "best_gap": best}
    runs = {"sb3/0": run("sb3", 0, [[1, 1.0, 12.0], [2, 2.0, 10.4], [3, 3.0, 10.2]], .02, .02),
            "sb3/1": run("sb3", 1, [[1, 1.5, 10.6], [2, 2.5, 10.3], [3, 3.5, 10.1]], .01, .01),
            "sb3/2": run("sb3", 2, [[1, 1.0, 11.0], [2, 2.0, 10.9], [3, 3.0, 10.8]], .08, .08),
            "book/0": run("book", 0, [[1, 0.5, 10.4], [2, 1.0, 10.4]], .04, .03)}
    rows = sb3_summary.efficiency({"runs": runs})
    assert rows == [("ppo", "a", "sb3", 2.5, 3.0, 0.02, 0.02, 3),
                    ("ppo", "a", "book", 0.5, float("inf"), 0.04, 0.03, 1)]
    text = sb3_summary.format_efficiency({"runs": runs})
    assert "inf" in text and "book" in text
    with pytest.raises(TypeError, match="data"):
        sb3_summary.efficiency([])
