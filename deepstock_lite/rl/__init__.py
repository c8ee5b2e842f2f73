"""Deep reinforcement learning for inventory control: DDPG, PPO and distributional SAC.

One file per algorithm, read top to bottom (CleanRL style): the config dataclass with every
hyperparameter, the networks, the update and the training loop (``ddpg.py``, ``ppo.py``,
``dsac.py``); names in the code are the symbols of the chapter. Shared parts are small and never
call back into an algorithm: networks, buffers, normalizers, the action mapping (``actions``),
the divergence guard and keep-best bookkeeping (``evaluation``), configuration checks
(``config_fields``), checkpoints, and the action decoders (the seam where DeepStock's policy
regularizations plug in; their home is :mod:`deepstock_lite.core.decoding`, re-exported here).
"""
from . import ddpg, dsac, ppo
from .buffers import ReplayBuffer, compute_gae
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .ddpg import DDPG, DDPGConfig
from .dsac import DSAC, DSACConfig
from .ppo import PPO, PPOConfig
from ..core.decoding import (BaseStockDecoder, IdentityDecoder, make_decoder,
                             inventory_position, order_up_to)
from .normalization import ObsNormalizer, RewardScaler, RunningMeanStd
from .evaluation import TrainingDivergedError, TrainingResult
from .instances import INSTANCES, make_envs
from .networks import mlp

__all__ = ["ddpg", "ppo", "dsac", "DDPG", "DDPGConfig", "PPO", "PPOConfig", "DSAC", "DSACConfig",
           "ReplayBuffer", "compute_gae", "save_checkpoint",
           "load_checkpoint", "BaseStockDecoder", "IdentityDecoder", "make_decoder",
           "inventory_position", "order_up_to", "ObsNormalizer", "RewardScaler", "RunningMeanStd",
           "TrainingDivergedError", "TrainingResult", "CheckpointError", "INSTANCES", "make_envs",
           "mlp"]
