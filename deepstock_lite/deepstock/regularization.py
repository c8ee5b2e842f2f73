"""DeepStock's policy regularizations (None, Base, Coeff, Both).

The decodings live with the other action decoders in :mod:`deepstock_lite.rl.decoders`, the one
layer every method (DDPG, PPO, distributional SAC, the differentiable simulator) uses; this
module re-exports them under their DeepStock name.
"""
from ..rl.decoders import (KINDS, SURROGATES, Regularization, initial_bias_logit,
                           inventory_position, order_up_to, relu_surrogate)

__all__ = ["KINDS", "SURROGATES", "Regularization", "inventory_position", "initial_bias_logit",
           "order_up_to", "relu_surrogate"]
