import os
import platform
import random
import subprocess
import sys

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


# A seed must give the same numbers on every x86 machine: the chapters' committed outputs are
# compared bit for bit on whichever CPU the tests run on. These are the bits of a small
# network's 50 Adam steps, recorded on an AMD EPYC under the package's CPU settings; a machine
# that prints others would fail the chapters' training cells too, and this says why.
_PROBE = """
import deepstock_lite, torch
deepstock_lite.set_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(3, 64), torch.nn.Tanh(), torch.nn.Linear(64, 64),
                          torch.nn.ReLU(), torch.nn.Linear(64, 1))
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
x, y = torch.randn(256, 3), torch.randn(256, 1)
for _ in range(50):
    loss = ((net(x) - y) ** 2).mean()
    opt.zero_grad(); loss.backward(); opt.step()
with torch.no_grad():
    print(loss.item().hex(), float(sum(p.double().sum() for p in net.parameters())).hex())
"""
_PROBE_BITS = "0x1.dba5720000000p-1 -0x1.3a2e413ef4000p+3"


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64")
                    or not torch.backends.mkl.is_available(),
                    reason="the settings concern x86 CPUs with torch's MKL")
def test_training_bits_do_not_depend_on_the_cpu():
    from deepstock_lite.core.seeding import REPRODUCIBLE_CPU, cpu_name
    env = {k: v for k, v in os.environ.items() if k not in REPRODUCIBLE_CPU}
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == _PROBE_BITS, (
        f"torch on this CPU gives {out}, not the recorded {_PROBE_BITS}: the chapters' "
        f"training outputs will not reproduce here ({cpu_name()})")


def test_importing_the_package_sets_the_cpu_kernels_unless_exported():
    from deepstock_lite.core.seeding import REPRODUCIBLE_CPU
    probe = ("import os, deepstock_lite; "
             "print(os.environ['MKL_CBWR'], os.environ['ATEN_CPU_CAPABILITY'])")
    clean = {k: v for k, v in os.environ.items() if k not in REPRODUCIBLE_CPU}
    out = subprocess.run([sys.executable, "-c", probe], env=clean, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == [REPRODUCIBLE_CPU["MKL_CBWR"], REPRODUCIBLE_CPU["ATEN_CPU_CAPABILITY"]]
    out = subprocess.run([sys.executable, "-c", probe], env={**clean, "MKL_CBWR": "AUTO"},
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ["AUTO", REPRODUCIBLE_CPU["ATEN_CPU_CAPABILITY"]]   # an exported value wins
