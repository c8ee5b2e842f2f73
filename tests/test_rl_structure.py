"""Each deep-RL algorithm is one file read top to bottom, and the package uses public torch only."""
import ast
import inspect
import re
from pathlib import Path

import pytest

from deepstock_lite.rl import ddpg, dsac, ppo

PACKAGE = Path(__file__).resolve().parents[1] / "deepstock_lite"


@pytest.mark.parametrize("module, agent, config", [(ddpg, "DDPG", "DDPGConfig"),
                                                   (ppo, "PPO", "PPOConfig"),
                                                   (dsac, "DSAC", "DSACConfig")])
def test_the_algorithm_is_whole_in_its_file(module, agent, config):
    """The config, the agent with its update and its training loop, and ``train`` are all
    defined in the algorithm's own file; the agent inherits from nothing (no base class with
    hooks between the reader and the loop)."""
    cls = getattr(module, agent)
    assert cls.__bases__ == (object,)
    for name in ("__init__", "update", "learn", "act", "raw_action", "evaluate", "save", "load"):
        assert name in vars(cls), f"{agent}.{name} is not defined in {module.__name__}"
    assert getattr(module, config).__module__ == module.__name__
    assert module.train.__module__ == module.__name__
    # the loop's numbered comments are the steps of the chapter's algorithm box
    steps = re.findall(r"# (2\.\d)", inspect.getsource(cls.learn))
    assert steps == sorted(steps) and len(steps) >= 4


def test_no_private_torch_api():
    """No ``torch._something`` (private kernels such as ``torch._fused_adam_``) anywhere in
    the package: only torch's public API."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                    and not node.attr.startswith("__") and isinstance(node.value, ast.Name) \
                    and node.value.id == "torch":
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} torch.{node.attr}")
    assert not found, found
