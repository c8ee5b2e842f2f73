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
