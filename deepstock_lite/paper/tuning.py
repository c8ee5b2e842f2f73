"""Hyperparameter studies on Optuna, shaped like the paper's (TPE after random start-up trials,
then the top configurations re-run over several seeds): each method's search space and run
(:data:`METHODS`), the paper's settings, and the study runner.

A study lives in an Optuna storage — a local SQLite file by default — so it survives being
killed; several worker processes (or machines sharing one database URL) can work on one study
(the lab's command line, run from the repository):

    python -m lab tune --method ds --reg base --setting 1 \\
        --trials 40 --storage sqlite:///studies/deepstock.db

The storage, the sampler, the recovery of killed workers' trials and the reading of finished
trials are :mod:`~deepstock_lite.paper.optuna_study`'s (their public names are importable
from here too).

Each trial's objective is the **validation** loss (what a practitioner can see); its test loss
is stored beside it (``trial.user_attrs["test"]``) and only read when reporting.

**Seeds.** The sampler's randomness for trial number ``k`` comes from a generator seeded by
the study name, the sampler seed (``sampler_seed``; ``--sampler-seed`` on the command line,
default 0) and ``k`` (:func:`~deepstock_lite.paper.optuna_study.trial_seed`). The training
seed (``seed``, ``--seed``) is another number: every trial trains with it, whatever the
sampler draws.
"""
from __future__ import annotations

import math
import time

import numpy as np

from ..core.validation import check_choice, check_int, check_name, check_seeds
from ..core.decoding import KINDS, SURROGATES, Regularization
from .optuna_study import (best_so_far, check_storage, complete_trials, open_study,
                           recover_dead_trials, trial_seed, trial_table, worker_info)
from .settings import READINGS, setting1, setting2, setting3, setting4

__all__ = ["METHODS", "SETTINGS", "BUDGETS", "open_study", "run_study", "best_so_far",
           "trial_table", "rerun_top", "evaluate_config", "make_setting", "trial_seed",
           "recover_dead_trials", "RL_STEPS"]

SETTINGS = {"1": setting1, "2": setting2, "3": setting3, "4": setting4}
BUDGETS = ("tiny", "small", "full")


def _check_setting(setting):
    if isinstance(setting, bool) or not isinstance(setting, (str, int)):
        raise TypeError(f"setting must be one of {sorted(SETTINGS)} (a string or an int), "
                        f"got {type(setting).__name__}")
    return check_choice("setting", str(setting), set(SETTINGS))


def make_setting(setting, reading="total", data_seed=None):
    """The :class:`~.settings.PaperSetting` ``setting`` (``"1"``…``"4"``);
    ``reading`` picks Settings 2–3's data sizes (see :data:`~.settings.READINGS`) and is
    ignored by Settings 1 and 4. ``data_seed``: the draw of the data (``None``: the setting's
    default, the sweep's data)."""
    key = _check_setting(setting)
    reading = check_name("reading", reading, READINGS)
    kw = {} if data_seed is None else {"seed": check_int("data_seed", data_seed, low=0)}
    return SETTINGS[key](reading=reading, **kw) if key in ("2", "3") else SETTINGS[key](**kw)


def _check_params(params, method):
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict of hyperparameters, got {type(params).__name__}")
    missing = sorted(PARAM_KEYS[method] - set(params))
    if missing:
        raise ValueError(f"params for method {method!r} must hold "
                         f"{sorted(PARAM_KEYS[method])}; missing {missing}")
    return params


# -- methods: a search space and a run function each ----------------------------------------
def _ds_space(trial, budget):
    return {
        "lr": trial.suggest_float("lr", 1e-3, 3e-2, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [2, 5, 10]),
        "width": trial.suggest_categorical("width", [32, 64, 128]),
        "initial_bias": trial.suggest_float("initial_bias", 0.2, 0.7),
    }


def _ds_run(params, S, reg_kind, seed, budget, surrogate="exact"):
    from .differentiable_simulator import DSConfig, train_ds
    # the budget counts gradient steps (an epoch has n_train / batch_size of them)
    n_train = S.data.train.shape[0]
    steps = {"tiny": 0, "small": 1500, "full": 6000}[budget]
    epochs = 5 if budget == "tiny" else max(1, steps * params["batch_size"] // n_train)
    cfg = DSConfig(hidden=(params["width"],) * 2, lr=params["lr"],
                   batch_size=params["batch_size"], epochs=epochs,
                   patience=max(epochs // 5, 2), lr_patience=max(epochs // 30, 1),
                   initial_bias=params["initial_bias"], seed=seed, surrogate=surrogate)
    reg = _regularization(reg_kind, S)
    feats = None if S.features is None else {k: S.features[k] for k in ("train", "val")}
    res = train_ds(S.system, reg, S.data.train, S.data.val, config=cfg, features=feats,
                   n_history=S.n_history, on_hand=S.on_hand, cost_start=S.cost_start)
    test = S.evaluate_on_observations(res.policy.act_numpy, "test")
    return {"val": res.best_val, "test": test}


def off_policy_schedule(setting, budget="small", method="ddpg", reading="total", *,
                        warmup_cap=True):
    """What the sweep's DDPG or dist. SAC run does on ``setting`` at ``budget`` (the
    configurations of :func:`_ddpg_run` and :func:`_dsac_run`): transitions per episode, the
    warm-up (``learning_starts``, :func:`warmup_and_eval`), the budget, the transitions
    collected (training stops at an episode boundary), those collected after the warm-up, the
    gradient updates, the held-out evaluations and the share of the tuned learning rate left
    at the first update (linear decay over the budget). ``warmup_cap=False``: the schedule
    before the cap, when the warm-up could fill the budget."""
    from ..rl.evaluation import linear_lr
    method = check_name("method", method, ("ddpg", "dsac"))
    budget = check_name("budget", budget, BUDGETS)
    S = make_setting(_check_setting(setting), reading)
    env = S.make_env("train")
    episode = env.num_envs * env.core.horizon // S.system.P
    steps = RL_STEPS[budget]
    starts, every = warmup_and_eval(episode, steps, cap=warmup_cap)
    collected = -(-steps // episode) * episode          # whole episodes
    learning = max(collected - starts + env.num_envs, 0)   # the step at the warm-up's end learns
    per_step = gradient_steps(method, env.num_envs)
    return {"episode": episode, "learning_starts": starts, "budget": steps,
            "collected": collected, "after_warmup": learning,
            "updates": learning // env.num_envs * per_step,
            "evaluations": collected // every,
            "lr_share_at_first_update": linear_lr(1.0, starts, steps, 0.05)}


def _ddpg_space(trial, budget):
    return {
        "lr": trial.suggest_float("lr", 5e-5, 9e-3, log=True),
        "gamma": trial.suggest_float("gamma", 0.9, 0.999),
        "batch_size": trial.suggest_categorical("batch_size", [128, 256, 512]),
        "tau": trial.suggest_float("tau", 1e-3, 5e-2, log=True),
        "buffer_size": trial.suggest_categorical("buffer_size", [20_000, 50_000, 100_000]),
        "exploration_noise": trial.suggest_float("exploration_noise", 0.0, 0.3),
    }


#: transitions of an off-policy RL run (DDPG, dist. SAC) per budget; PPO runs ten times as many
RL_STEPS = {"tiny": 300, "small": 10_000, "full": 30_000}


def warmup_and_eval(episode, steps, *, cap=True):
    """``(learning_starts, eval_every)`` of an off-policy run: five episodes each, but at most
    a fifth of the budget, so that every run learns for most of its budget and is evaluated
    (on Settings 1-3 five episodes are 350-700 transitions; on Setting 4, 16 000 would exceed
    the 10 000-transition budget). ``cap=False``: the rule before the cap (a warm-up of five
    episodes or the whole budget, an evaluation every five episodes), for the record."""
    if not cap:
        return min(episode * 5, steps), episode * 5
    every = max(min(episode * 5, steps // 5), 1)
    return every, every


def gradient_steps(method, num_envs):
    """Gradient updates per vector-env step of the sweep's off-policy runs: DDPG one per
    transition, dist. SAC one per four transitions."""
    return num_envs if method == "ddpg" else max(num_envs // 4, 1)


def _rl_fit(module, make_config, S, reg_kind):
    """Train an RL agent on a setting's train split (model selection on val); return its
    paper loss on the validation and test splits."""
    env, ev = S.make_env("train"), S.make_env("val")
    per_episode = env.num_envs * env.core.horizon // S.system.P
    # the same decoding DS uses: a Regularization is an RL decoder (unit actions)
    agent, _ = module.train(env, make_config(per_episode, env.num_envs), eval_env=ev,
                            decoder=_regularization(reg_kind, S), quiet=True)
    return {split: S.evaluate_on_observations(agent.act, split) for split in ("val", "test")}


def _ddpg_run(params, S, reg_kind, seed, budget, surrogate="exact", reward_norm=None):
    from ..rl import ddpg
    steps = RL_STEPS[budget]
    # one gradient step per transition (the vector env collects num_envs at a time)
    rule = {} if reward_norm is None else {"reward_norm": reward_norm}
    return _rl_fit(ddpg, lambda ep, n: ddpg.DDPGConfig(
        total_steps=steps, learning_starts=warmup_and_eval(ep, steps)[0],
        batch_size=params["batch_size"],
        buffer_size=params["buffer_size"], gamma=params["gamma"], tau=params["tau"],
        actor_lr=params["lr"], critic_lr=params["lr"],
        exploration_noise=params["exploration_noise"], a_max=S.q_max,
        eval_every=warmup_and_eval(ep, steps)[1],
        gradient_steps=gradient_steps("ddpg", n), seed=seed, **rule), S, reg_kind)


def _dsac_space(trial, budget):
    return {
        "lr": trial.suggest_float("lr", 5e-5, 9e-3, log=True),
        "gamma": trial.suggest_float("gamma", 0.9, 0.999),
        "batch_size": trial.suggest_categorical("batch_size", [128, 256, 512]),
        "tau": trial.suggest_float("tau", 1e-3, 5e-2, log=True),
        "init_alpha": trial.suggest_float("init_alpha", 1e-3, 0.3, log=True),
    }


def _dsac_run(params, S, reg_kind, seed, budget, surrogate="exact"):
    from ..rl import dsac
    steps = RL_STEPS[budget]
    return _rl_fit(dsac, lambda ep, n: dsac.DSACConfig(
        total_steps=steps, learning_starts=warmup_and_eval(ep, steps)[0],
        batch_size=params["batch_size"],
        gamma=params["gamma"], tau=params["tau"], actor_lr=params["lr"],
        critic_lr=params["lr"], init_alpha=params["init_alpha"], a_max=S.q_max,
        eval_every=warmup_and_eval(ep, steps)[1], gradient_steps=gradient_steps("dsac", n),
        seed=seed), S, reg_kind)


def _ppo_space(trial, budget):
    return {
        "lr": trial.suggest_float("lr", 5e-5, 9e-3, log=True),
        "gamma": trial.suggest_float("gamma", 0.9, 0.999),
        "gae_lambda": trial.suggest_float("gae_lambda", 0.5, 1.0),
        "clip_coef": trial.suggest_float("clip_coef", 0.1, 0.3),
        "ent_coef": trial.suggest_float("ent_coef", 1e-4, 0.05, log=True),
        "n_epochs": trial.suggest_categorical("n_epochs", [1, 3, 5, 10]),
        "minibatch_size": trial.suggest_categorical("minibatch_size", [64, 128, 256]),
    }


def _ppo_run(params, S, reg_kind, seed, budget, surrogate="exact"):
    from ..rl import ppo
    steps = RL_STEPS[budget] * 10  # on-policy, no replay: many more (cheap) transitions
    return _rl_fit(ppo, lambda ep, n: ppo.PPOConfig(
        total_steps=steps, gamma=params["gamma"], gae_lambda=params["gae_lambda"],
        lr=params["lr"], clip_coef=params["clip_coef"], ent_coef=params["ent_coef"],
        n_epochs=params["n_epochs"], minibatch_size=params["minibatch_size"], a_max=S.q_max,
        eval_every=ep * 5, seed=seed), S, reg_kind)


METHODS = {"ds": (_ds_space, _ds_run), "ddpg": (_ddpg_space, _ddpg_run),
           "ppo": (_ppo_space, _ppo_run), "dsac": (_dsac_space, _dsac_run)}
# the hyperparameters each method's run reads (the keys of its search space)
PARAM_KEYS = {"ds": {"lr", "batch_size", "width", "initial_bias"},
              "ddpg": {"lr", "gamma", "batch_size", "tau", "buffer_size", "exploration_noise"},
              "dsac": {"lr", "gamma", "batch_size", "tau", "init_alpha"},
              "ppo": {"lr", "gamma", "gae_lambda", "clip_coef", "ent_coef", "n_epochs",
                      "minibatch_size"}}
# the synthetic settings have no demand features, so only these decodings apply
SETTING_KINDS = ("none", "base")
MAX_TRIALS = 100_000


def _regularization(kind, S):
    if kind in ("none", "base"):
        return Regularization(kind, L=S.system.L, a_max=S.q_max)
    raise ValueError(f"regularization {kind!r} needs demand features; the synthetic settings "
                     "support 'none' and 'base'")


# -- studies -------------------------------------------------------------------------------------
def _check_common(method, reg_kind, setting, budget, reading, surrogate, seed):
    method = check_name("method", method, METHODS)
    reg_kind = check_name("reg_kind", reg_kind, KINDS)
    if reg_kind not in SETTING_KINDS:
        raise ValueError(f"reg_kind must be one of {list(SETTING_KINDS)} on the synthetic "
                         f"settings ({reg_kind!r} needs demand features), got {reg_kind!r}")
    key = _check_setting(setting)
    budget = check_name("budget", budget, BUDGETS)
    reading = check_name("reading", reading, READINGS)
    surrogate = check_name("surrogate", surrogate, SURROGATES)
    if surrogate != "exact" and method != "ds":
        raise ValueError(f"surrogate applies to method 'ds' only, got surrogate={surrogate!r} "
                         f"with method={method!r}")
    seed = check_int("seed", seed, low=0)
    return method, reg_kind, key, budget, reading, surrogate, seed


def evaluate_config(method, reg_kind, setting, params, seed=0, budget="small", *,
                    reading="total", surrogate="exact", data_seed=None, reward_norm=None):
    """Train one configuration and return ``{"val": …, "test": …}``.

    ``reading``: Settings 2–3's data sizes (:data:`~.settings.READINGS`); ``surrogate``: the
    backward pass of DS's order clamp (``method="ds"`` only; see
    :func:`~deepstock_lite.core.decoding.relu_surrogate`); ``data_seed``: the draw of the data
    (``None``: the sweep's, :func:`make_setting`); ``reward_norm``: DDPG's reward rule
    (``method="ddpg"`` only; :data:`~deepstock_lite.rl.ddpg.REWARD_NORMS`; ``None``: the
    current default).
    """
    method, reg_kind, key, budget, reading, surrogate, seed = _check_common(
        method, reg_kind, setting, budget, reading, surrogate, seed)
    rule = _check_reward_norm(reward_norm, method)
    params = _check_params(params, method)
    S = make_setting(key, reading, data_seed)
    return METHODS[method][1](params, S, reg_kind, seed, budget, surrogate, **rule)


def _check_reward_norm(reward_norm, method):
    """``{"reward_norm": …}`` for a DDPG run's keyword (empty for ``None``), checked."""
    if reward_norm is None:
        return {}
    from ..rl.ddpg import REWARD_NORMS
    if method != "ddpg":
        raise ValueError(f"reward_norm applies to method 'ddpg' only, got "
                         f"reward_norm={reward_norm!r} with method={method!r}")
    return {"reward_norm": check_choice("reward_norm", reward_norm, set(REWARD_NORMS))}


def run_study(method, reg_kind, setting, n_trials, *, storage=None, study_name=None,
              n_startup_trials=10, seed=0, budget="small", quiet=True, reading="total",
              surrogate="exact", total=False, sampler_seed=0, reward_norm=None):
    """Add ``n_trials`` finished trials to the study (creating it if needed); with
    ``total=True``, run only as many as the study still needs to reach ``n_trials`` finished
    trials (how an interrupted sweep resumes). Each trial stores its test loss in
    ``trial.user_attrs["test"]`` beside its validation loss (the objective).

    ``seed`` is the training seed of every trial; ``sampler_seed`` seeds the sampler, per
    trial (:func:`trial_seed`), so workers started together on one study draw distinct
    configurations. ``reward_norm``: DDPG's reward rule, as in :func:`evaluate_config`."""
    import optuna

    method, reg_kind, key, budget, reading, surrogate, seed = _check_common(
        method, reg_kind, setting, budget, reading, surrogate, seed)
    rule = _check_reward_norm(reward_norm, method)
    n_trials = check_int("n_trials", n_trials, low=1, high=MAX_TRIALS)
    n_startup_trials = check_int("n_startup_trials", n_startup_trials, low=0)
    storage = check_storage(storage)
    if study_name is not None and (not isinstance(study_name, str) or not study_name):
        raise TypeError(f"study_name must be None or a non-empty string, got {study_name!r}")
    if not isinstance(total, bool):
        raise TypeError(f"total must be True or False, got {type(total).__name__}")
    if quiet:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler_seed = check_int("sampler_seed", sampler_seed, low=0)
    name = study_name or f"{method}-{reg_kind}-setting{key}-{budget}"
    study = open_study(name, storage, n_startup_trials, sampler_seed)
    if total:
        done = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
        n_trials = n_trials - done
        if n_trials <= 0:
            return study
    space, train_and_score = METHODS[method]
    S = make_setting(key, reading)

    worker = worker_info()
    from ..rl.evaluation import TrainingDivergedError

    def objective(trial):
        trial.set_user_attr("worker", worker)   # who runs it (recover_dead_trials)
        params = space(trial, budget)
        t0 = time.process_time()
        try:
            out = train_and_score(params, S, reg_kind, seed, budget, surrogate, **rule)
        finally:  # CPU time of the trial, diverged ones included (the sweep's cost)
            trial.set_user_attr("cpu_seconds", time.process_time() - t0)
        trial.set_user_attr("test", out["test"])
        if not math.isfinite(out["val"]):
            raise TrainingDivergedError(
                f"{method.upper()} training diverged in trial {trial.number}: the validation "
                f"loss is {out['val']}. Lower the learning rate.")
        return out["val"]

    # a diverged trial (or one with a non-finite validation loss) is recorded as FAIL and
    # the study goes on
    study.optimize(objective, n_trials=n_trials, catch=(TrainingDivergedError,))
    return study


def rerun_top(study, method, reg_kind, setting, k=5, seeds=(0, 1, 2, 3, 4), budget="small",
              *, reading="total", surrogate="exact"):
    """Re-run the ``k`` best configurations with several seeds; return them sorted by mean
    validation loss, each with its per-seed validation and test losses."""
    done = complete_trials(study)
    k = check_int("k", k, low=1)
    seeds = check_seeds(seeds)
    top = sorted(done, key=lambda t: t.value)[:k]
    rows = []
    for t in top:
        outs = [evaluate_config(method, reg_kind, setting, t.params, s, budget,
                                reading=reading, surrogate=surrogate) for s in seeds]
        rows.append({"params": t.params, "val": [o["val"] for o in outs],
                     "test": [o["test"] for o in outs],
                     "mean_val": float(np.mean([o["val"] for o in outs])),
                     "mean_test": float(np.mean([o["test"] for o in outs]))})
    return sorted(rows, key=lambda r: r["mean_val"])
