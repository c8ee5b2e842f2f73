"""DeepStock Lite: the companion package of an executable book on inventory control,
from the newsvendor to deep reinforcement learning with policy regularization.

Layers (each depends only on those below): ``core`` (simulator, demand, metrics, policies,
seeding) → ``classical`` (closed forms and exact optima) → ``envs`` (gymnasium environments)
→ ``rl`` (DDPG, PPO, distributional SAC) → ``deepstock`` (regularizations, experiments).
Nothing in ``core`` or ``classical`` imports torch.
"""
from .core.seeding import set_seed, make_rng
from .core.simulator import InventorySystem, InventoryState, SimulationResult, simulate

__version__ = "0.1.0"

__all__ = ["set_seed", "make_rng", "InventorySystem", "InventoryState", "SimulationResult",
           "simulate", "__version__"]
