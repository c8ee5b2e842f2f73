"""The package's foundation (numpy/scipy only): the simulator, demand processes and laws,
metrics, classical policies, seeding and argument checks, t-intervals, and the loader of the
results files the chapters read."""
from .demand import (DemandProcess, FromArray, NegativeBinomial, Normal, Poisson,
                     UniformInteger)
from .continuous import ContinuousDemand
from .distributions import DiscreteDemand, DiscreteDistribution, poisson_pmf
from .metrics import average_cost, fill_rate, stockout_rate, summarize, turnover_time
from .paper_data import DemandSplits, indep_floors, make_ar1, make_iid, make_indep
from .policies import SSPolicy, BaseStock, ConstantOrder, FunctionPolicy, Policy
from .seeding import make_rng, set_seed
from .simulator import (InventoryState, InventorySystem, PeriodRecord, SimulationResult,
                        simulate)
from .record_returns import record_returns
from .results_store import load_results
from .statistics import t_interval

__all__ = [
    "InventorySystem", "InventoryState", "PeriodRecord", "SimulationResult", "simulate",
    "DemandProcess", "Poisson", "Normal", "UniformInteger", "NegativeBinomial", "FromArray",
    "DiscreteDemand", "ContinuousDemand", "DiscreteDistribution", "poisson_pmf",
    "average_cost", "fill_rate", "stockout_rate", "turnover_time", "summarize",
    "DemandSplits", "indep_floors", "make_indep", "make_ar1", "make_iid",
    "Policy", "BaseStock", "SSPolicy", "ConstantOrder", "FunctionPolicy",
    "set_seed", "make_rng", "record_returns", "load_results", "t_interval",
]
