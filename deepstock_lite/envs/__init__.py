"""Gymnasium environments over the batched simulator, and the action wrappers that put
DeepStock's decodings (None / Base / Coeff / Both) in front of any agent."""
from .batch_env import BatchInventoryEnv
from .inventory_env import InventoryEnv
from .wrappers import RegularizedAction, RegularizedVectorAction

__all__ = ["InventoryEnv", "BatchInventoryEnv", "RegularizedAction", "RegularizedVectorAction"]
