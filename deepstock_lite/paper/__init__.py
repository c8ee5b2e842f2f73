"""The DeepStock paper's method, the baseline it compares against and its experiments: policy
regularization (whose one home is :mod:`deepstock_lite.core.decoding`, re-exported here), the
differentiable simulator (DS), the paper's settings and its tuning protocol, the e-commerce
catalogue study and the reading of its policies. Chapters import from here."""
from ..core.decoding import (KINDS, SURROGATES, Regularization, initial_bias_logit,
                             inventory_position, order_up_to, relu_surrogate)
from .differentiable_simulator import DSConfig, DSPolicy, ds_rollout, train_ds
from .settings import PaperSetting, ar1_sizes, setting1, setting2, setting3, setting4
from .tuning import evaluate_config, make_setting, off_policy_schedule, run_study
from .analysis import paired_differences
from .catalogue import Catalogue, make_catalogue
from .catalogue_config import CatalogueConfig
from .censoring import censor, observed_sales
from .normalization import SkuScaler
from .retail import (PeriodCoeff, RetailEnv, forecast_base_stock, forecast_s_S,
                     metrics_by_period, retail_ds_config, retail_metrics, retail_rollout_torch,
                     train_ds_retail, tune_heuristic)
from .retail_ds import observation_stats
from .retail_policies import damped
from .retail_study import (HEURISTIC_GRID, INITIAL_ACTION, S_S_GRID, RetailStudy, relative_to,
                           retail_regularization)
from .interpret import (coefficients, difference_in_differences, heuristic_target,
                        network_outputs, record_rollout, target_terms)

__all__ = ["KINDS", "SURROGATES", "Regularization", "initial_bias_logit", "inventory_position",
           "order_up_to", "relu_surrogate", "DSConfig", "DSPolicy",
           "ds_rollout", "train_ds", "PaperSetting", "ar1_sizes", "setting1", "setting2",
           "setting3", "setting4", "evaluate_config", "make_setting", "off_policy_schedule",
           "run_study", "paired_differences", "Catalogue", "CatalogueConfig", "make_catalogue",
           "censor", "observed_sales", "SkuScaler", "RetailEnv", "retail_metrics",
           "forecast_base_stock", "forecast_s_S", "tune_heuristic", "retail_rollout_torch",
           "train_ds_retail", "retail_ds_config", "PeriodCoeff", "metrics_by_period",
           "observation_stats", "damped", "HEURISTIC_GRID", "INITIAL_ACTION", "S_S_GRID",
           "RetailStudy", "relative_to", "retail_regularization", "coefficients",
           "difference_in_differences", "heuristic_target", "network_outputs",
           "record_rollout", "target_terms"]
