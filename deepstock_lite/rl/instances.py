"""The two test instances of the deep-RL chapters, with their known optima.

* ``"a"``: backorders, Poisson(5) demand, h = 1, b = 9, L = 2. Optimal policy: base stock at
  level 20, long-run average cost 7.123.
* ``"b"``: lost sales, Poisson(5), h = 1, b = 4, L = 2. Optimal average cost 4.395
  (Zipkin 2008 lists 4.40); the best base-stock policy costs 4.64.

:func:`make_envs` builds a training environment (fresh demand every episode) and a held-out
evaluation environment (fixed demand paths, common random numbers across policies).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..core.demand import Poisson
from ..core.simulator import InventorySystem
from ..core.validation import check_choice, check_int, check_real

__all__ = ["Instance", "INSTANCES", "get_instance", "make_envs"]


@dataclass(frozen=True)
class Instance:
    name: str
    description: str
    backlog: bool
    b: float
    optimum: float          # optimal long-run average cost per period
    base_stock_level: int   # best base-stock level (optimal policy under backorders)
    h: float = 1.0
    L: int = 2
    mean: float = 5.0

    def system(self):
        return InventorySystem(L=self.L, P=1, h=self.h, b=self.b, backlog=self.backlog)

    def demand(self):
        return Poisson(self.mean)


INSTANCES = {
    "a": Instance("a", "backorders, Poisson(5), h=1, b=9, L=2", True, 9.0, 7.123, 20),
    "b": Instance("b", "lost sales, Poisson(5), h=1, b=4, L=2", False, 4.0, 4.395, 16),
}


def get_instance(name):
    return INSTANCES[check_choice("name", name, set(INSTANCES))]


def make_envs(name, *, n_envs=1, horizon=100, q_max=60.0, reward="attributed", on_hand=15.0,
              eval_paths=100, eval_horizon=1000, eval_seed=12345):
    """``(train_env, eval_env)`` for instance ``name``.

    The training env draws fresh Poisson demand at every reset; the evaluation env holds
    ``eval_paths`` fixed demand paths of ``eval_horizon`` periods drawn with ``eval_seed``
    and replays them in order (held-out, common random numbers).
    """
    from ..envs import BatchInventoryEnv

    inst = get_instance(name)
    check_int("eval_paths", eval_paths, low=1)
    check_int("eval_horizon", eval_horizon, low=1)
    check_real("on_hand", on_hand, low=0.0)
    system = inst.system()
    train = BatchInventoryEnv(system, inst.demand(), horizon, q_max, n_envs=n_envs,
                              on_hand=on_hand, reward=reward)
    D = inst.demand().sample(eval_paths, eval_horizon, seed=eval_seed)
    evaluation = BatchInventoryEnv(system, D, eval_horizon, q_max, on_hand=on_hand)
    return train, evaluation
