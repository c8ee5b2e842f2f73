"""``python -m lab <experiment> [options]``: one command line for every experiment."""
from __future__ import annotations

import importlib
import sys

#: experiment -> (module of ``lab``, whether the module's parser takes the experiment's name
#: as its first argument (modules that run two related experiments), what it runs)
COMMANDS = {
    "zipkin-ds": ("ds_experiments", True, "DS on Zipkin's 16 lost-sales cells (Chapter 9)"),
    "ds-surrogate": ("ds_experiments", True,
                     "DS with exact against surrogate gradients (Chapter 9)"),
    "zipkin-rl": ("zipkin_rl", False, "DDPG, PPO and dist. SAC on Zipkin's cells (Chapter 9)"),
    "zipkin-rl-structure": ("zipkin_rl_structure", False,
                            "the agents' targets against the optimal policy's (Chapter 9)"),
    "zipkin-rl-critic": ("zipkin_rl_critic", False,
                         "DDPG's actor on the exact critic, and other critics (Chapter 9)"),
    "paper": ("paper", False,
              "the paper's Settings 1-4: tuning sweeps and re-runs (Chapter 10)"),
    "paper-draws": ("paper_draws", False,
                    "Settings 2 and 3 over several data draws (Chapter 10)"),
    "paper-diagnose": ("paper_diagnose", False,
                       "re-runs that test the causes Chapter 10 proposes"),
    "paper-risk": ("paper_risk", False,
                   "risk-neutral against CVaR dist. SAC on Setting 4 (Chapter 10)"),
    "tune": ("tune", False, "one worker of an Optuna study (Chapter 10's protocol)"),
    "retail-table1": ("retail_study", True,
                      "the paper's Table 1 on a synthetic catalogue (Chapter 11)"),
    "retail-pareto": ("retail_study", True, "the stockout-turnover trade-off (Chapter 11)"),
    "retail-diagnose": ("retail_diagnose", False,
                        "why DDPG + Both trails None on the catalogue (Chapter 11)"),
    "sb3-study": ("sb3_study", False, "Stable-Baselines3 beside the book's agents (Chapter 13)"),
}
#: what ``python -m lab`` lists: every experiment, and the budget registry
WHAT = {**{k: what for k, (_, _, what) in COMMANDS.items()},
        "budgets": "every experiment's budgets"}

def usage():
    width = max(map(len, WHAT))
    return ("usage: python -m lab <experiment> [options]   (python -m lab <experiment> --help)"
            "\n\nexperiments:\n" + "\n".join(f"  {k:<{width}}  {v}" for k, v in WHAT.items()))


def module_and_argv(argv):
    """``(module, arguments for its main)`` of a command line ``[experiment, options...]``."""
    name, rest = argv[0], list(argv[1:])
    mod, named, _ = COMMANDS[name]
    return importlib.import_module(f"lab.{mod}"), ([name] + rest if named else rest)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return
    if argv[0] == "budgets":
        from .budgets import describe
        print(describe())
        return
    if argv[0] not in COMMANDS:
        print(f"python -m lab: unknown experiment {argv[0]!r}; choose one of "
              f"{', '.join(WHAT)}", file=sys.stderr)
        raise SystemExit(2)
    module, args = module_and_argv(argv)
    module.main(args)


if __name__ == "__main__":
    main()
