"""Bridges to other RL libraries (optional dependencies, imported only when used).

* :mod:`deepstock_lite.integrations.sb3`: a Stable-Baselines3 ``VecEnv`` over the batched
  simulator (``pip install "deepstock-lite[sb3]"``).

The study that runs Stable-Baselines3 beside the book's agents is the lab's
(``python -m lab sb3-study``, ``lab/sb3_study.py`` in the repository).
"""
