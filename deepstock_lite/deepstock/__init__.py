"""DeepStock: policy regularization, the differentiable simulator and the paper's settings."""
from ..core.decoding import (KINDS, SURROGATES, Regularization, initial_bias_logit,
                             inventory_position, order_up_to, relu_surrogate)
from .ds import DSConfig, DSPolicy, ds_rollout, train_ds
from .settings import PaperSetting, setting1, setting2, setting3, setting4
from .catalogue import Catalogue, CatalogueConfig, censor, make_catalogue, observed_sales
from .normalization import SkuScaler
from .retail import (RetailEnv, forecast_base_stock, forecast_s_S, retail_metrics,
                     retail_ds_config, retail_rollout_torch, train_ds_retail,
                     tune_heuristic)

__all__ = ["KINDS", "SURROGATES", "Regularization", "initial_bias_logit", "inventory_position",
           "order_up_to", "relu_surrogate", "DSConfig", "DSPolicy",
           "ds_rollout", "train_ds", "PaperSetting", "setting1", "setting2", "setting3",
           "setting4", "Catalogue", "CatalogueConfig", "make_catalogue", "censor",
           "observed_sales", "SkuScaler", "RetailEnv", "retail_metrics", "forecast_base_stock",
           "forecast_s_S", "tune_heuristic", "retail_rollout_torch", "train_ds_retail",
           "retail_ds_config"]
