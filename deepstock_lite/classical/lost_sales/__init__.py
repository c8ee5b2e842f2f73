r"""Exact lost-sales inventory control with a lead time (Zipkin 2008).

Periodic review, i.i.d. integer demand, lead time :math:`L \ge 1`, unmet demand lost. The
state at the start of a period, after that period's arrival, is
:math:`x = (x_0, x_1, \dots, x_{L-1})`: :math:`x_0` on hand, :math:`x_l` the order arriving
:math:`l` periods from now. Each period: order :math:`z`, demand :math:`D`, cost
:math:`c(x_0) = h\,E(x_0 - D)^+ + b\,E(D - x_0)^+`, next state
:math:`((x_0 - D)^+ + x_1, x_2, \dots, x_{L-1}, z)` (the convention of
:mod:`deepstock_lite.core.simulator`). The long-run average cost :math:`g` solves

.. math:: g + v(x) = c(x_0) + \min_{z} E\, v\big((x_0 - D)^+ + x_1, x_2, \dots, z\big),

solved here by relative value iteration (Puterman 1994, §8.5.5) over all states whose
position :math:`x_0 + \dots + x_{L-1} + z` is at most the optimal *backorder* base-stock
level :math:`S_{bo}` (Zipkin 2008: the optimal lost-sales position never exceeds it, so the
bound loses nothing). Each iteration is one sparse matrix-vector product over the
(state, order) pairs and one segmented minimum; the stopping rule uses the bounds
:math:`\min_x (Tv - v) \le g \le \max_x (Tv - v)`, so the printed cost is certified.

The same machinery evaluates any stationary policy exactly (:func:`evaluate_policy_exact`)
and the classical heuristics: base stock, capped base stock (Xin 2021), myopic (Zipkin 2008)
and constant order.

Every function takes the demand as its one positional argument, a
:class:`~deepstock_lite.core.distributions.DiscreteDemand` (e.g.
``DiscreteDemand.poisson(5)``), a frozen ``scipy.stats`` discrete law or a discrete demand
process of :mod:`deepstock_lite.core.demand`, and everything else by keyword (``L=``,
``h=``, ``b=``, ``policy=``, ...): ``solve_lost_sales(DiscreteDemand.poisson(5), L=2, h=1,
b=4)``. Import the names from :mod:`deepstock_lite.classical`. The modules:

* :mod:`~deepstock_lite.classical.lost_sales.model`: the checked parameters, the period
  cost, the law of the leftover stock and :math:`S_{bo}`;
* :mod:`~deepstock_lite.classical.lost_sales.state_space`: the states, their number, the
  memory estimate and guards (:data:`~deepstock_lite.classical.lost_sales.state_space.
  MAX_MEMORY`), the sparse transition matrix;
* :mod:`~deepstock_lite.classical.lost_sales.policy`: the policy table and the results;
* :mod:`~deepstock_lite.classical.lost_sales.value_iteration`: relative value iteration,
  :func:`solve_lost_sales` and :func:`evaluate_policy_exact`;
* :mod:`~deepstock_lite.classical.lost_sales.heuristics`: the four heuristics.
"""
from .heuristics import (best_base_stock, best_capped_base_stock, best_constant_order,
                         lost_sales_heuristics, myopic_policy)
from .model import LostSalesModel, backorder_base_stock_level
from .policy import HeuristicResult, LookupPolicy, LostSalesResult, PolicyEvaluation
from .state_space import MAX_MEMORY, MAX_STATES, MAX_TRANSITIONS, memory_estimate
from .value_iteration import evaluate_policy_exact, solve_lost_sales

__all__ = ["LostSalesModel", "LostSalesResult", "PolicyEvaluation", "HeuristicResult",
           "LookupPolicy", "backorder_base_stock_level", "solve_lost_sales",
           "evaluate_policy_exact", "best_base_stock", "best_capped_base_stock",
           "myopic_policy", "best_constant_order", "lost_sales_heuristics", "MAX_MEMORY",
           "MAX_STATES", "MAX_TRANSITIONS", "memory_estimate"]
