"""Gymnasium environments over the batched simulator."""
from .inventory_env import BatchInventoryEnv, InventoryEnv

__all__ = ["InventoryEnv", "BatchInventoryEnv"]
