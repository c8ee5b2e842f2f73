"""Every experiment's budgets, in one place.

A budget names how much an experiment trains: ``tiny`` is a smoke test of seconds, and the
committing budgets (``full``, or ``small`` for the paper's sweeps) are the ones whose results a
chapter loads. The tables the methods themselves read (the tuning protocol's budgets, the
retail study's) live beside the methods in ``deepstock_lite``; this registry names them too,
so ``python -m lab budgets`` lists every experiment's budgets.
"""
from __future__ import annotations

from deepstock_lite.paper.retail_study import BUDGETS as RETAIL
from deepstock_lite.paper.tuning import BUDGETS as TUNING, RL_STEPS

__all__ = ["REGISTRY", "ZIPKIN_DS", "ZIPKIN_DS_COMMITTING", "ZIPKIN_RL", "ZIPKIN_RL_FILES",
           "ZIPKIN_RL_STRUCTURE", "ZIPKIN_RL_CRITIC", "SB3_STUDY",
           "PAPER_COMMITTING",
           "PAPER_DRAWS", "PAPER_DRAWS_COMMITTING", "PAPER_DRAWS_RESOLUTION",
           "PAPER_DIAGNOSE_PLANS", "PAPER_RISK_PLANS", "PAPER_RISK_CONFIGS", "describe"]

#: zipkin-ds and ds-surrogate: DS's training budget per cell
ZIPKIN_DS = {
    "tiny": dict(n_train=8, n_val=8, epochs=2, patience=2),
    # the committed table: 512 training and 1 024 validation trajectories
    "full": dict(n_train=512, n_val=1024, epochs=200, patience=60),
    # the earlier table, a quarter of the data (Chapter 9 compares it with "full")
    "small": dict(n_train=128, n_val=256, epochs=200, patience=60),
    # the two controls of Chapter 9's ablation: "small" with full's validation set only, and
    # "small" with four times the epochs and patiences (as many gradient steps as "full")
    "val1024": dict(n_train=128, n_val=1024, epochs=200, patience=60),
    "epochs800": dict(n_train=128, n_val=256, epochs=800, patience=240, lr_patience=40),
    # the gradient comparison (ds-surrogate): half of "small"'s data, half its epochs
    "medium": dict(n_train=64, n_val=128, epochs=100, patience=30),
}
#: the zipkin-ds budgets whose files a chapter loads (``--write``), and each one's file name
ZIPKIN_DS_COMMITTING = {"full": "zipkin_ds", "small": "zipkin_ds_small",
                        "val1024": "zipkin_ds_val1024", "epochs800": "zipkin_ds_epochs800"}

#: zipkin-rl: the share of the chapters' training steps, and the evaluation paths
#: ``longer``: the budget PPO and dist. SAC needed to reach 1% on every cell (DDPG, with its
#: own settings, does not reach it there; Chapter 9): each agent's transitions times
#: ``steps_mult`` (the learning-rate decay stretched with them, the evaluation cadence kept)
#: and the configuration fields in ``config``; written to its own file
ZIPKIN_RL = {"tiny": dict(scale=0.02, eval_paths=8, eval_horizon=200),
             "full": dict(scale=1.0, eval_paths=50, eval_horizon=600)}
ZIPKIN_RL["longer"] = dict(ZIPKIN_RL["full"], steps_mult={"ddpg": 4, "ppo": 2, "dsac": 4},
                           config={"ddpg": {"batch_size": 1024}})
#: ``ppo_ortho``: the table's budget and configuration with PPO's initial weights orthogonal
#: (``ortho_init=True``, Stable-Baselines3's and CleanRL's; the book's default is PyTorch's):
#: is the initialization that lets the book's PPO end with SB3's (Chapter 13) better here too?
#: ``algos``: the only agents a budget runs (default: every one)
ZIPKIN_RL["ppo_ortho"] = dict(ZIPKIN_RL["full"], config={"ppo": {"ortho_init": True}},
                              algos=("ppo",))
#: ``ppo_torch``: its paired control, the table's PPO again (PyTorch's initial weights) on
#: the same seeds, run like ``ppo_ortho`` under the package's CPU settings (the table's rows
#: were made before them, with other last bits)
ZIPKIN_RL["ppo_torch"] = dict(ZIPKIN_RL["full"], algos=("ppo",))
#: zipkin-rl: the budgets that may write a committed file, and each one's file
ZIPKIN_RL_FILES = {"full": "zipkin_rl", "longer": "zipkin_rl_longer",
                   "ppo_ortho": "zipkin_rl_ppo_ortho", "ppo_torch": "zipkin_rl_ppo_torch"}


def _ddpg_hardest(config, **kw):
    """A zipkin-rl-structure variant: DDPG on the cell L = 4, b = 39, seeds 0-3, with
    ``config`` changed from the table's configuration."""
    return dict(cells=((4, 39),), algo="ddpg", seeds=(0, 1, 2, 3), config=config, **kw)


#: DDPG's longer budget (four times the table's 25 000 transitions, minibatch 1 024)
_DDPG_X4 = {"total_steps": 100_000, "batch_size": 1024}


#: zipkin-rl-structure: zipkin-rl's training budget, the cells (L, b), agents and seeds, and
#: the (paths, periods after a burn-in of 50) of the optimal policy's simulation that supplies
#: the states
ZIPKIN_RL_STRUCTURE = {
    "tiny": dict(train="tiny", cells=((4, 39),), algos=("ddpg",), seeds=(0,), states=(4, 50),
                 variants={"batch_64": dict(cells=((4, 39),), algo="ddpg", seeds=(0,),
                                            config={"batch_size": 64})}),
    "full": dict(train="full", cells=((4, 4), (4, 9), (4, 19), (4, 39)),
                 algos=("ddpg", "ppo", "dsac"), seeds=(0, 1), states=(20, 100),
                 # the suspected cause changed: DDPG's minibatch (its default 256, and 1 024),
                 # then four times the transitions as well (zipkin-rl's longer budget)
                 variants={**{f"batch_{n}": _ddpg_hardest({"batch_size": n})
                              for n in (256, 1024)},
                           "steps_x4_batch_1024": _ddpg_hardest(dict(_DDPG_X4)),
                           # the table's configuration again, every checkpoint scored exactly
                           # (score_checkpoints): did the run find a good policy at all?
                           "checkpoints": _ddpg_hardest({}, score_checkpoints=True),
                           # the remedies for two suspected causes, one at a time: TD3's
                           # (a critic's errors the actor exploits) and six times the
                           # exploration noise (a slope measured on too narrow a range)
                           "td3": _ddpg_hardest({"twin_critics": True, "target_noise": 0.2,
                                                 "policy_delay": 2}),
                           "exploration_0.3": _ddpg_hardest({"exploration_noise": 0.3}),
                           # the longer budget's DDPG, every checkpoint scored exactly
                           "steps_x4_batch_1024_checkpoints": _ddpg_hardest(
                               dict(_DDPG_X4), score_checkpoints=True),
                           # the critic trained more: 2 and 4 critic updates per transition,
                           # the actor's (and the targets') still one
                           **{f"critic_updates_{k}": _ddpg_hardest({"gradient_steps": k,
                                                                    "policy_delay": k})
                              for k in (2, 4)}}),
}

#: Zipkin's 16 cells (L, b), in the order of lab.ds_experiments.ZIPKIN_CELLS
_ZIPKIN_CELLS = tuple((L, b) for b in (4, 9, 19, 39) for L in (1, 2, 3, 4))

#: zipkin-rl-critic: zipkin-rl's training budget (DDPG's steps), the cells (L, b) and seeds of
#: the actor on the exact critic, the (paths, periods after a burn-in of 50) of the optimal
#: policy's simulation whose states it trains on; ``learned``: the cells and seeds whose table
#: runs are repeated with their critics' greedy policies scored; ``quantile``: those of DDPG
#: with dist. SAC's critics; ``longer``: DDPG at zipkin-rl's budget ``train`` with the
#: configuration fields ``config`` (``longer``: four times the transitions; its minibatch of
#: 1 024 put back to the table's 256), with its own critic ("plain", every cell) and with dist.
#: SAC's ("quantile": the cells with b >= 19, where those critics helped most at the table's
#: budget; such a run costs ~12 CPU-minutes, one with DDPG's own critic ~3.5);
#: ``dsac_settings``: DDPG at ``train`` with dist. SAC's settings (``config`` and ``n_envs``),
#: per critic on ``cells``, and with each of ``variants`` (config fields put back to DDPG's)
#: per critic on ``variant_cells``
ZIPKIN_RL_CRITIC = {
    "tiny": dict(train="tiny", cells=((2, 4),), seeds=(0,), states=(4, 50),
                 learned=dict(cells=((2, 4),), seeds=(0,)),
                 quantile=dict(cells=((2, 4),), seeds=(0,)),
                 longer=dict(cells={"plain": ((2, 4),), "quantile": ((2, 4),)}, seeds=(0,),
                             train="tiny", config={"batch_size": 64}),
                 dsac_settings=dict(cells={"quantile": ((2, 4),), "plain": ((2, 4),)},
                                    seeds=(0,), train="tiny", n_envs=2,
                                    config={"batch_size": 64, "reward_norm": "reward"},
                                    variant_cells={"plain": ((2, 4),),
                                                   "quantile": ((2, 4),)},
                                    variants={"return": {"reward_norm": "return"}})),
    "full": dict(train="full", cells=_ZIPKIN_CELLS, seeds=(0, 1, 2, 3), states=(20, 100),
                 learned=dict(cells=_ZIPKIN_CELLS, seeds=(0, 1)),
                 quantile=dict(cells=_ZIPKIN_CELLS, seeds=(0, 1)),
                 longer=dict(cells={"plain": _ZIPKIN_CELLS,
                                    "quantile": tuple(c for c in _ZIPKIN_CELLS if c[1] >= 19)},
                             seeds=(0, 1), train="longer", config={"batch_size": 256}),
                 # DDPG with every setting of dist. SAC's longer run but its actor: 80 000
                 # transitions, two SKUs a vector step (an update per two transitions),
                 # minibatch 128, rewards centred ("reward", its rule); with dist. SAC's
                 # critics (~2.7 CPU-minutes a run) and with DDPG's own (~1.3) on every cell
                 dsac_settings=dict(cells={"quantile": _ZIPKIN_CELLS,
                                           "plain": _ZIPKIN_CELLS},
                                    seeds=(0, 1), train="longer", n_envs=2,
                                    config={"batch_size": 128, "reward_norm": "reward",
                                            "total_steps": 80_000},
                                    # one setting put back to DDPG's, with either critic
                                    variant_cells={c: tuple(x for x in _ZIPKIN_CELLS
                                                            if x[1] >= 19)
                                                   for c in ("plain", "quantile")},
                                    variants={"return": {"reward_norm": "return"}})),
}

#: sb3-study: steps (transitions per run), evaluation cadence, seeds, instances, and the
#: (paths, periods) of the test and validation sets, per algorithm where they differ (PPO's
#: runs are cheap and its differences small: ten seeds; DDPG's three)
SB3_STUDY = {
    "full": dict(steps={"ppo": 122_880, "ddpg": 12_500}, eval_every={"ppo": 10_240,
                 "ddpg": 1_250}, seeds={"ppo": tuple(range(10)), "ddpg": (0, 1, 2)},
                 instances=("a", "b"), test=(500, 2000), val=(100, 1000),
                 learning_starts=2_000),
    "tiny": dict(steps={"ppo": 2_048, "ddpg": 300}, eval_every={"ppo": 1_024, "ddpg": 150},
                 seeds={"ppo": (0,), "ddpg": (0,)}, instances=("b",), test=(20, 200),
                 val=(10, 100), learning_starts=100),
}

#: paper: the tuning protocol's budgets (deepstock_lite.paper.tuning); these may replace
#: the committed files (the chapter's sweep is ``small``)
PAPER_COMMITTING = ("small", "full")

#: paper-draws: ``small`` is the sweep's training budget (the committing one); ``tiny`` a
#: smoke test; the heuristic's grid per budget (the committed paper_heuristics.json uses "fine")
PAPER_DRAWS = ("tiny", "small")
PAPER_DRAWS_COMMITTING = ("small",)
PAPER_DRAWS_RESOLUTION = {"tiny": "coarse", "small": "fine"}

#: paper-diagnose, per budget: the sweep's training budget, DS seeds and learning rates, RL seeds
PAPER_DIAGNOSE_PLANS = {
    "tiny": dict(train="tiny", ds_seeds=(0,), rl_seeds=(0,), rl_methods=("ddpg",)),
    "full": dict(train="small", ds_seeds=(0, 1, 2, 3), rl_seeds=(0, 1, 2),
                 rl_methods=("ddpg", "dsac")),
}

#: paper-risk, per budget: the seeds
PAPER_RISK_PLANS = {"tiny": dict(seeds=(0,)), "full": dict(seeds=(0, 1, 2, 3, 4))}
#: paper-risk, per budget: the dist. SAC configuration (with ``a_max`` = the setting's q_max,
#: ``seed`` and ``risk`` added): Chapter 8's choices (gamma 0.9, Huber threshold 0.1), a
#: warm-up of 2 000 transitions and a quarter of an update per transition, as the sweep's
#: dist. SAC
PAPER_RISK_CONFIGS = {"tiny": dict(total_steps=600, learning_starts=200, eval_every=200,
                                   gamma=0.9, kappa=0.1, gradient_steps=12),
                      "full": dict(total_steps=20_000, learning_starts=2_000, eval_every=2_000,
                                   gamma=0.9, kappa=0.1, gradient_steps=12)}

#: each command's budgets: ``{command: {budget: what it trains}}``
REGISTRY = {
    "zipkin-ds": {k: v for k, v in ZIPKIN_DS.items() if k != "medium"},
    "ds-surrogate": {"tiny": ZIPKIN_DS["tiny"], "full": ZIPKIN_DS["medium"]},
    "zipkin-rl": ZIPKIN_RL,
    "zipkin-rl-structure": ZIPKIN_RL_STRUCTURE,
    "zipkin-rl-critic": ZIPKIN_RL_CRITIC,
    "sb3-study": SB3_STUDY,
    "paper": {b: {"rl_steps": RL_STEPS[b]} for b in TUNING},
    "tune": {b: {"rl_steps": RL_STEPS[b]} for b in TUNING},
    "paper-draws": {b: {"training": b, "heuristic_grid": PAPER_DRAWS_RESOLUTION[b]}
                    for b in PAPER_DRAWS},
    "paper-diagnose": PAPER_DIAGNOSE_PLANS,
    "paper-risk": {b: {**PAPER_RISK_PLANS[b], **PAPER_RISK_CONFIGS[b]}
                   for b in PAPER_RISK_PLANS},
    "retail-table1": RETAIL,
    "retail-pareto": RETAIL,
    "retail-diagnose": {b: v for b, v in RETAIL.items() if b != "short"},
}


def describe():
    """The registry as text, one line per (command, budget)."""
    lines = []
    for cmd, budgets in REGISTRY.items():
        for b, detail in budgets.items():
            text = ", ".join(f"{k}={v}" for k, v in detail.items())
            lines.append(f"{cmd:<16} {b:<6} {text}")
    return "\n".join(lines)
