import random

import numpy as np
import pytest
import torch

from deepstock_lite import set_seed


def test_set_seed_covers_random_numpy_torch():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()
    rng = set_seed(7)
    a, ga = draw(), rng.random()
    rng = set_seed(7)
    assert draw() == a and rng.random() == ga
    assert torch.get_num_threads() == 1


def test_set_seed_validates():
    with pytest.raises(ValueError, match="seed"):
        set_seed(-1)
    with pytest.raises(TypeError, match="seed"):
        set_seed(1.5)
    with pytest.raises(ValueError, match="torch_threads"):
        set_seed(0, torch_threads=0)
