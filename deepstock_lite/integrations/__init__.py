"""Bridges to other RL libraries (optional dependencies, imported only when used).

* :mod:`deepstock_lite.integrations.sb3`: a Stable-Baselines3 ``VecEnv`` over the batched
  simulator (``pip install "deepstock-lite[sb3]"``).
* :mod:`deepstock_lite.integrations.sb3_study`: Stable-Baselines3 PPO and DDPG, with and
  without the Base decoding, beside the book's own agents on instances (a) and (b).
"""
