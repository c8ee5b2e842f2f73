"""The Stable-Baselines3 VecEnv adapter over the batched simulator."""
import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize  # noqa: E402

from deepstock_lite import InventorySystem  # noqa: E402
from deepstock_lite.core.demand import Poisson  # noqa: E402
from deepstock_lite.envs import (BatchInventoryEnv, InventoryEnv,  # noqa: E402
                                 RegularizedVectorAction)
from deepstock_lite.integrations.sb3 import BatchVecEnv  # noqa: E402

SYSTEM = InventorySystem(L=2, b=4.0, backlog=False)


def test_autoreset_and_terminal_observation():
    venv = BatchVecEnv(BatchInventoryEnv(SYSTEM, Poisson(5), 5, 60.0, n_envs=3), seed=0)
    obs = venv.reset()
    assert obs.shape == (3, 2) and obs.dtype == np.float32
    for k in range(5):
        obs, rew, dones, infos = venv.step(np.full((3, 1), 5.0, np.float32))
        assert rew.shape == (3,) and dones.shape == (3,)
    assert dones.all()
    assert all(i["TimeLimit.truncated"] for i in infos)
    assert all("terminal_observation" in i for i in infos)
    np.testing.assert_array_equal(obs, np.full((3, 2), [0.0, 0.0]))  # fresh episode
    assert venv.get_attr("num_envs") == [3, 3, 3]


def test_same_transitions_as_dummy_vec_env_of_single_envs():
    """Row i of the batched adapter equals a single env fed the same demand row."""
    D = Poisson(5).sample(4, 30, seed=1)
    batch = BatchVecEnv(BatchInventoryEnv(SYSTEM, D, 30, 60.0))
    dummy = DummyVecEnv([lambda i=i: _Row(InventoryEnv(SYSTEM, D, 30, 60.0), i)
                         for i in range(4)])
    o1, o2 = batch.reset(), dummy.reset()
    np.testing.assert_array_equal(o1, o2)
    rng = np.random.default_rng(0)
    for _ in range(30):
        a = rng.uniform(0, 12, size=(4, 1)).astype(np.float32)
        r1, r2 = batch.step(a), dummy.step(a)
        np.testing.assert_array_equal(r1[1], r2[1])
        np.testing.assert_array_equal(r1[2], r2[2])
        np.testing.assert_array_equal(r1[0][~r1[2]], r2[0][~r2[2]])


class _Row(gym.Wrapper):
    """A single env replaying demand row ``i`` at every reset."""

    def __init__(self, env, i):
        super().__init__(env)
        self.i = i

    def reset(self, seed=None, options=None):
        return self.env.reset(options={"path": self.i})


def test_seeded_adapter_is_repeatable_and_works_with_vec_normalize():
    def run():
        b = BatchInventoryEnv(SYSTEM, Poisson(5), 10, 60.0, n_envs=8)
        venv = VecNormalize(BatchVecEnv(RegularizedVectorAction(b, "base", a_max=50.0),
                                        seed=4))
        venv.reset()
        return [venv.step(np.zeros((8, 1), np.float32))[1].copy() for _ in range(25)]
    np.testing.assert_array_equal(run(), run())


def test_bad_adapter_arguments():
    with pytest.raises(TypeError, match="VectorEnv"):
        BatchVecEnv(InventoryEnv(SYSTEM, Poisson(5), 10, 60.0))
    with pytest.raises(ValueError, match="seed"):
        BatchVecEnv(BatchInventoryEnv(SYSTEM, Poisson(5), 10, 60.0, n_envs=2), seed=-1)
    venv = BatchVecEnv(BatchInventoryEnv(SYSTEM, Poisson(5), 10, 60.0, n_envs=2), seed=0)
    venv.reset()
    with pytest.raises(ValueError, match="action"):
        venv.step(np.zeros((3, 1)))
