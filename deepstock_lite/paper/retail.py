r"""The e-commerce simulation: one policy for every SKU, in days of cover.

:class:`RetailEnv` runs a pool of catalogue SKUs (:mod:`~deepstock_lite.paper.catalogue`)
under lost sales, one **day** per step for all SKUs at once, in the *normalized units* of
:class:`~deepstock_lite.paper.normalization.SkuScaler`: stock and orders are divided by the
SKU's scale :math:`\hat s_i` (mean sales per day of the history before day 0, floored at 1/28)
and read as days of cover, so one network serves SKUs that sell 0.1 or 500 units a day.

**Events of day t** (SKU :math:`i`, :math:`t_0` the first day of the episode):

1. orders due today arrive into on-hand stock :math:`x_{it}`;
2. the observation is formed;
3. on a review day, :math:`(t - t_0) \bmod P_i = 0`, the action :math:`a_{it}` (days of cover) is
   converted to units :math:`q_{it} = \operatorname{clip}(\hat s_i a_{it}, 0, q_{\max}\hat s_i)`
   (rounded with ``np.rint`` when ``integer_orders``) and placed with lead time
   :math:`\ell_{it}` (``catalogue.lead_times[i, t]`` with random lead times, else :math:`L_i`);
   :math:`\ell = 0` arrives at once, before demand. On other days the action is ignored;
4. demand is served: sales :math:`y_{it} = \min(D_{it}, x_{it})`, lost sales
   :math:`D_{it} - y_{it}`, end-of-day stock :math:`e_{it} = x_{it} - y_{it}`;
5. the day is a stockout day when it *ends* out of stock,
   :math:`o_{it} = 1[e_{it} = 0] = 1[D_{it} \ge x_{it}]`.

The episode starts with :math:`x = \operatorname{rint}(\hat s_i (L_i + P_i))` on hand and an
empty pipeline; the first ``burn_in`` days (default :math:`\max L + \max P` over the pool) are
simulated, with the policy acting, but count neither in the metrics nor in the rewards (at most
half the episode by default).

**Metrics** (:func:`retail_metrics`, over the counted days :math:`\mathcal T`): stockout rate
:math:`SR_i = \frac{1}{|\mathcal T|}\sum_t o_{it}`, turnover time
:math:`TT_i = \bar e_i / \max(\bar y_i, \varepsilon)` in days (mean end-of-day stock over mean
daily sales, :math:`\varepsilon` the scaler's floor), the SKU objective
:math:`J_i = 100\,SR_i + w\,TT_i` (w in percentage points of stockout per day of turnover) and the
catalogue objective :math:`J = 100\,\overline{SR} + w\,\overline{TT}` (means over SKUs; lower is
better).

**Rewards.** :math:`TT_i` is a ratio of two sums over the episode, so it is not a sum of daily
terms: a day's stock costs more turnover when the SKU sells less over the *whole* episode.
``reward="sparse"`` pays the exact :math:`-J_i` on the last day (the paper's production reward).
``reward="attributed"`` charges each order, on its review day, the dense cost of the days it
influences, :math:`[t+l, t+l+P)` (a zero-order look-ahead, as in the paper's synthetic code):
it shortens the credit-assignment path of the RL agents from :math:`l + P` days to one step.
``reward="dense"`` pays :math:`r_{it} = -(100\,o_{it} + w\,e_{it}/\hat s_i)/|\mathcal T|` each
counted day: it divides by the *fixed* scale :math:`\hat s_i` instead of the realized mean sales,
so the rewards add up to :math:`-J_i` exactly when :math:`\max(\bar y_i, \varepsilon) = \hat s_i`
and to a surrogate otherwise.

**Observation** (float32, one row per SKU; ``env.obs_names``)::

    [on_hand, pipeline slot 1 … n_slots, sales_mean_7, sales_mean_28, forecast_7, forecast_28,
     promo_today, promo_next_7, dow_sin, dow_cos, L, P, review_today, days_to_next_review,
     log_scale]

Stock, pipeline (slot k: units arriving k days from now) and the four rates are divided by
:math:`\hat s_i`; ``n_slots`` is the longest possible lead time in the catalogue, so
``inventory_position(obs, env.position_L)`` is the inventory position in days of cover.
The trailing sales means are computed *online* from the simulated, censored sales (history
demand before the first day: stock sufficed then); the forecasts, promotions and calendar come
from :meth:`Catalogue.features` (they do not depend on the policy). ``days_to_next_review`` is
the number of days from today to the next review day after today (1…P). ``log_scale`` is
:math:`\log \hat s_i`: normalization makes every SKU look alike in days of cover, but how
noisy a day of demand is still depends on the scale (Poisson noise is relatively larger for
slow movers), so the one shared policy is told the scale.

:func:`retail_rollout_torch` runs the same dynamics in torch with the stockout indicator relaxed
to a sigmoid, so :func:`train_ds_retail` can train a DeepStock policy by backpropagation.

Implementation, by responsibility: :mod:`~deepstock_lite.paper.retail_metrics` (the
metrics), :mod:`~deepstock_lite.paper.retail_env` (the environment),
:mod:`~deepstock_lite.paper.retail_policies` (classical heuristics and the review-period
Coeff decoding) and :mod:`~deepstock_lite.paper.retail_ds` (the torch rollout and DS
training); this module re-exports their public names.
"""
from .retail_ds import (RETAIL_DS_DEFAULTS, retail_ds_config, retail_rollout_torch,
                        train_ds_retail)
from .retail_env import RetailEnv, metrics_by_period
from .retail_metrics import OBJECTIVES, retail_metrics
from .retail_policies import (PeriodCoeff, forecast_base_stock, forecast_s_S, forecast_target,
                              tune_heuristic)

__all__ = ["RetailEnv", "retail_metrics", "forecast_base_stock", "forecast_s_S",
           "tune_heuristic", "retail_rollout_torch", "train_ds_retail", "retail_ds_config",
           "RETAIL_DS_DEFAULTS", "OBJECTIVES",
           "forecast_target", "PeriodCoeff", "metrics_by_period"]
