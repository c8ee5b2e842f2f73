"""Classical inventory theory: closed forms and exact optima (numpy/scipy only, no torch).

One calling convention everywhere: keyword arguments ``h=`` (holding), ``b=`` (backlog or
lost-sales penalty), ``L=`` (lead time), ``P=`` (review period) and ``demand=`` (a
:class:`DiscreteDemand` or a frozen ``scipy.stats`` law). The exact methods for (s, S)
policies and lost sales need integer demand; ``mean=`` is a shortcut for Poisson demand.

* newsvendor: :func:`optimal_newsvendor`, :func:`newsvendor_cost`;
* base stock with backorders: :func:`optimal_base_stock`, :func:`base_stock_cost`;
* (s, S): :func:`optimal_s_S`, :func:`s_S_cost`, :func:`eoq_s_S`, :func:`finite_horizon_s_S`;
* lost sales: :func:`solve_lost_sales`, :func:`evaluate_policy_exact`, the heuristics;
* the DeepStock paper's Setting 1: :func:`solve_setting1_dp`, :func:`setting1_expected_loss`.
"""
from ..core.distributions import (ContinuousDemand, DiscreteDemand, DiscreteDistribution,
                                   poisson_pmf)
from .newsvendor import (NewsvendorSolution, critical_ratio, newsvendor_cost,
                         newsvendor_cost_discrete, newsvendor_cost_empirical,
                         newsvendor_cost_normal, newsvendor_cost_poisson, newsvendor_discrete,
                         newsvendor_empirical, newsvendor_normal, newsvendor_poisson,
                         optimal_newsvendor)
from .base_stock import (BaseStockSolution, base_stock_cost, base_stock_cost_discrete,
                         base_stock_cost_normal, base_stock_cost_poisson, base_stock_discrete,
                         base_stock_normal, base_stock_poisson, optimal_base_stock)
from .s_S import (FiniteHorizonSS, SSResult, eoq_s_S, finite_horizon_s_S,
                  k_convexity_constant, optimal_s_S, renewal_mass, s_S_cost, s_S_cost_grid,
                  single_period_cost)
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
    "newsvendor_cost_poisson", "newsvendor_normal", "newsvendor_cost_normal",
    "newsvendor_discrete", "newsvendor_cost_discrete", "newsvendor_poisson",
    "newsvendor_empirical", "newsvendor_cost_empirical",
    # base stock
    "BaseStockSolution", "optimal_base_stock", "base_stock_cost", "base_stock_cost_poisson",
    "base_stock_normal", "base_stock_cost_normal", "base_stock_discrete",
    "base_stock_cost_discrete", "base_stock_poisson",
    # (s, S)
    "SSResult", "FiniteHorizonSS", "optimal_s_S", "s_S_cost", "s_S_cost_grid", "eoq_s_S",
    "finite_horizon_s_S", "k_convexity_constant", "renewal_mass", "single_period_cost",
    # lost sales
    "LostSalesResult", "PolicyEvaluation", "HeuristicResult", "LookupPolicy",
    "solve_lost_sales", "evaluate_policy_exact", "backorder_base_stock_level",
    "best_base_stock", "best_capped_base_stock", "myopic_policy", "best_constant_order",
    "lost_sales_heuristics",
    # the DeepStock paper's Setting 1
    "Setting1Solution", "solve_setting1_dp", "setting1_loss", "setting1_expected_loss",
    "setting1_system",
]
