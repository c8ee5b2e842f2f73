"""Stable-Baselines3 adapter: many SKUs stepped at once through the batched simulator.

:class:`BatchVecEnv` turns a :class:`~deepstock_lite.envs.BatchInventoryEnv` (optionally
wrapped in :class:`~deepstock_lite.envs.RegularizedVectorAction`) into an SB3 ``VecEnv``: one
``step`` advances every SKU in numpy, instead of one Python environment per SKU as SB3's
``DummyVecEnv`` does. All SKUs share the episode clock, so they are truncated together and
reset together (SB3's autoreset convention: ``infos[i]["terminal_observation"]`` holds the
last observation and ``infos[i]["TimeLimit.truncated"]`` is ``True``)::

    from stable_baselines3 import PPO
    from deepstock_lite.envs import BatchInventoryEnv, RegularizedVectorAction
    from deepstock_lite.integrations.sb3 import BatchVecEnv

    batch = BatchInventoryEnv(inst.system(), inst.demand(), 64, 60.0, n_envs=16)
    venv = BatchVecEnv(RegularizedVectorAction(batch, "base", a_max=50.0), seed=0)
    PPO("MlpPolicy", venv, n_steps=64).learn(20_000)

This module imports ``stable_baselines3``: install it with ``pip install
"deepstock-lite[sb3]"``.
"""
from __future__ import annotations

import numpy as np
import gymnasium as gym
from stable_baselines3.common.vec_env import VecEnv

from ..core.validation import check_int

__all__ = ["BatchVecEnv", "policy_fn"]


class BatchVecEnv(VecEnv):
    """An SB3 ``VecEnv`` over a gymnasium vector environment whose episodes end together
    (:class:`~deepstock_lite.envs.BatchInventoryEnv`, possibly wrapped).

    ``seed`` seeds the stream of episodes (each reset draws fresh demand from it).
    """

    def __init__(self, env, seed=None):
        if not isinstance(env, gym.vector.VectorEnv):
            raise TypeError(f"env must be a gymnasium VectorEnv (e.g. BatchInventoryEnv), got "
                            f"{type(env).__name__}")
        self.env = env
        self._seed = None if seed is None else check_int("seed", seed, low=0)
        self._first = True
        self._actions = None
        super().__init__(env.num_envs, env.single_observation_space, env.single_action_space)

    # -- the VecEnv protocol -------------------------------------------------------------------
    def reset(self):
        seed = next((s for s in self._seeds if s is not None), None)
        if seed is None and self._first:
            seed = self._seed
        self._first = False
        obs, _ = self.env.reset(seed=seed)
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions):
        self._actions = actions

    def step_wait(self):
        if self._actions is None:
            raise RuntimeError("step_async() must be called before step_wait()")
        obs, reward, terminated, truncated, _ = self.env.step(self._actions)
        self._actions = None
        dones = np.logical_or(terminated, truncated)
        infos = [{} for _ in range(self.num_envs)]
        if dones.any():
            if not dones.all():  # pragma: no cover - the batched env ends all SKUs together
                raise RuntimeError("BatchVecEnv needs episodes that end together")
            for i, info in enumerate(infos):
                info["terminal_observation"] = obs[i]
                info["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
            obs, _ = self.env.reset()
        return obs, np.asarray(reward, np.float32), dones, infos

    def close(self):
        self.env.close()

    def get_attr(self, attr_name, indices=None):
        value = None if attr_name == "render_mode" else getattr(self.env, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name, value, indices=None):
        setattr(self.env, attr_name, value)

    def env_method(self, method_name, *method_args, indices=None, **method_kwargs):
        result = getattr(self.env, method_name)(*method_args, **method_kwargs)
        return [result for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class, indices=None):
        return [False for _ in self._get_indices(indices)]


def policy_fn(model, vec_normalize=None):
    """``obs -> actions`` for a rollout: the SB3 ``model``'s deterministic action, with the
    observation normalized by a frozen ``VecNormalize`` when one is given."""
    def act(obs):
        o = vec_normalize.normalize_obs(obs) if vec_normalize is not None else obs
        return model.predict(o, deterministic=True)[0]
    return act
