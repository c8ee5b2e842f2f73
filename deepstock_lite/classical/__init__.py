"""Classical inventory theory: closed forms and exact optima (numpy/scipy only, no torch)."""
from .newsvendor import (NewsvendorSolution, critical_ratio, newsvendor_cost_discrete,
                         newsvendor_cost_empirical, newsvendor_cost_normal, newsvendor_discrete,
                         newsvendor_empirical, newsvendor_normal, newsvendor_poisson)
from .base_stock import (BaseStockSolution, base_stock_cost_discrete, base_stock_cost_normal,
                         base_stock_discrete, base_stock_normal, base_stock_poisson)

__all__ = [
    "NewsvendorSolution", "critical_ratio", "newsvendor_normal", "newsvendor_cost_normal",
    "newsvendor_discrete", "newsvendor_cost_discrete", "newsvendor_poisson",
    "newsvendor_empirical", "newsvendor_cost_empirical",
    "BaseStockSolution", "base_stock_normal", "base_stock_cost_normal", "base_stock_discrete",
    "base_stock_cost_discrete", "base_stock_poisson",
]
from .s_S import eoq_s_S, optimal_s_S, s_S_cost
from .lost_sales import (LookupPolicy, evaluate_policy_exact, lost_sales_heuristics,
                         solve_lost_sales)
from .setting1_dp import solve_setting1_dp

__all__ += ["optimal_s_S", "s_S_cost", "eoq_s_S", "solve_lost_sales", "evaluate_policy_exact",
            "LookupPolicy", "lost_sales_heuristics", "solve_setting1_dp"]
