"""DeepStock Lite: the companion package of an executable book on inventory control,
from the newsvendor to deep reinforcement learning with policy regularization.

Layers (each depends only on those below): ``core`` (simulator, demand, metrics, policies,
seeding) → ``classical`` (closed forms and exact optima) → ``envs`` (gymnasium environments)
→ ``rl`` (DDPG, PPO, distributional SAC) → ``deepstock`` (regularizations, DS, the paper's
settings, the retail study) → ``integrations``. Nothing in ``core`` or ``classical`` imports
torch. The experiment commands that write the chapters' results files are not in the package:
they are the repository's lab, ``python -m lab``.
"""
from .core.seeding import set_seed, make_rng
from .core.simulator import InventorySystem, InventoryState, SimulationResult, simulate

__version__ = "0.1.0"

__all__ = ["set_seed", "make_rng", "InventorySystem", "InventoryState", "SimulationResult",
           "simulate", "__version__"]
