"""Classical inventory theory: closed forms and exact optima (numpy/scipy only, no torch).

One calling convention everywhere: the demand is the one positional argument and every other
parameter is keyword-only, ``h=`` (holding), ``b=`` (backlog or lost-sales penalty), ``K=``
(fixed order cost), ``L=`` (lead time), ``P=`` (review period), the levels ``S=``/``s=`` and
the rest::

    optimal_base_stock(DiscreteDemand.poisson(5), h=1, b=9, L=2)
    solve_lost_sales(DiscreteDemand.poisson(5), L=2, h=1, b=4)

The demand is a law: a :class:`DiscreteDemand` (``DiscreteDemand.poisson(mean)``,
``DiscreteDemand(pmf)``, ``.geometric``, ``.from_scipy``, ``.from_sample``), a frozen
``scipy.stats`` law or a demand process of :mod:`deepstock_lite.core.demand` (its
per-period law). The exact methods for (s, S) policies and lost sales need integer demand;
the ``*_normal`` closed forms need a normal law (``stats.norm(mu, sigma)``); the empirical
newsvendor takes a demand sample and the Setting 1 DP per-day laws (or the trajectories whose
columns give them). Import every name from here, not from the modules.

* newsvendor: :func:`optimal_newsvendor`, :func:`newsvendor_cost`;
* base stock with backorders: :func:`optimal_base_stock`, :func:`base_stock_cost`;
* (s, S): :func:`optimal_s_S`, :func:`s_S_cost`, :func:`eoq_s_S`, :func:`finite_horizon_s_S`;
* continuous review (r, Q) with a lead time and normal demand: :func:`optimal_r_Q`,
  :func:`r_Q_cost` (the demand law per unit of time, ``stats.norm(lam, sigma)``);
* lost sales: :func:`solve_lost_sales`, :func:`evaluate_policy_exact`, the heuristics;
* the DeepStock paper's Setting 1: :func:`solve_setting1_dp`, :func:`setting1_expected_loss`.
"""
from ..core.continuous import ContinuousDemand
from ..core.distributions import DiscreteDemand, DiscreteDistribution, poisson_pmf
from .newsvendor import (NewsvendorSolution, critical_ratio, newsvendor_cost,
                         newsvendor_cost_empirical, newsvendor_cost_normal, newsvendor_empirical,
                         newsvendor_normal, optimal_newsvendor)
from .base_stock import (BaseStockSolution, base_stock_cost, base_stock_cost_normal,
                         base_stock_normal, optimal_base_stock)
from .s_S import (FiniteHorizonSS, SSResult, eoq_s_S, finite_horizon_s_S,
                  k_convexity_constant, optimal_s_S, renewal_mass, s_S_cost, s_S_cost_grid,
                  single_period_cost)
from .r_Q import RQSolution, optimal_r_Q, r_Q_cost
from .lost_sales import (HeuristicResult, LookupPolicy, LostSalesResult, PolicyEvaluation,
                         backorder_base_stock_level, best_base_stock, best_capped_base_stock,
                         best_constant_order, evaluate_policy_exact, lost_sales_heuristics,
                         myopic_policy, solve_lost_sales)
from .setting1_dp import (Setting1Solution, setting1_expected_loss, setting1_loss,
                          setting1_system, solve_setting1_dp)

__all__ = [
    # demand laws
    "DiscreteDemand", "ContinuousDemand", "DiscreteDistribution", "poisson_pmf",
    # newsvendor
    "NewsvendorSolution", "critical_ratio", "optimal_newsvendor", "newsvendor_cost",
    "newsvendor_normal", "newsvendor_cost_normal", "newsvendor_empirical",
    "newsvendor_cost_empirical",
    # base stock
    "BaseStockSolution", "optimal_base_stock", "base_stock_cost", "base_stock_normal",
    "base_stock_cost_normal",
    # (s, S)
    "SSResult", "FiniteHorizonSS", "optimal_s_S", "s_S_cost", "s_S_cost_grid", "eoq_s_S",
    "finite_horizon_s_S", "k_convexity_constant", "renewal_mass", "single_period_cost",
    # continuous review (r, Q)
    "RQSolution", "optimal_r_Q", "r_Q_cost",
    # lost sales
    "LostSalesResult", "PolicyEvaluation", "HeuristicResult", "LookupPolicy",
    "solve_lost_sales", "evaluate_policy_exact", "backorder_base_stock_level",
    "best_base_stock", "best_capped_base_stock", "myopic_policy", "best_constant_order",
    "lost_sales_heuristics",
    # the DeepStock paper's Setting 1
    "Setting1Solution", "solve_setting1_dp", "setting1_loss", "setting1_expected_loss",
    "setting1_system",
]
