"""One divergence error for every trainer (the RL agents, DS, DS on the catalogue, the tuning
study's trials), and the keep-best / early-stopping rule they share (:class:`KeepBest`)."""
import math

import numpy as np
import pytest
import torch

from deepstock_lite import InventorySystem
from deepstock_lite.paper import DSConfig, Regularization, ds_rollout, train_ds
from deepstock_lite.paper.catalogue import make_catalogue
from deepstock_lite.paper.retail import RetailEnv, retail_ds_config, train_ds_retail
from deepstock_lite.rl import BaseStockDecoder, TrainingDivergedError, ddpg, dsac, ppo
from deepstock_lite.rl.evaluation import KeepBest
from deepstock_lite.rl.instances import make_envs


def test_the_error_is_a_runtime_and_a_floating_point_error():
    """Code that caught what a trainer raised before (RuntimeError for the RL agents and the
    catalogue DS, FloatingPointError for DS) still catches a divergence."""
    assert issubclass(TrainingDivergedError, RuntimeError)
    assert issubclass(TrainingDivergedError, FloatingPointError)
    from deepstock_lite.rl import evaluation
    assert evaluation.TrainingDivergedError is TrainingDivergedError


# -- KeepBest ----------------------------------------------------------------------------------
def test_keep_best_tolerance_patience_and_snapshots():
    taken = []

    def snap(tag):
        return lambda: taken.append(tag) or tag

    keep = KeepBest(patience=2, min_delta=0.5)
    assert keep.offer(math.inf, -1, snap("start"))     # the first offer is always kept
    assert keep.offer(10.0, 0, snap(0))
    assert not keep.offer(9.5, 1, snap(1))             # lower by exactly min_delta: not enough
    assert keep.stale == 1 and not keep.stop
    assert keep.offer(9.4, 2, snap(2))                 # lower by more: kept, the count restarts
    assert keep.stale == 0
    assert not keep.offer(9.4, 3, snap(3)) and not keep.stop
    assert not keep.offer(math.nan, 4, snap(4))        # NaN never improves
    assert keep.stop and keep.stale == 2
    assert keep.best == {"eval_cost": 9.4, "step": 2, "state": 2}
    assert taken == ["start", 0, 2]                    # a snapshot only when kept


def test_keep_best_defaults_strict_and_never_stopping():
    keep = KeepBest()
    assert keep.offer(5.0, 0, lambda: "first")
    assert not any(keep.offer(5.0, s, lambda: "tie") for s in range(1, 50))   # ties: no
    assert keep.offer(np.nextafter(5.0, 0.0), 50, lambda: "lower")
    assert keep.best["state"] == "lower" and not keep.stop


# -- DS: keep-best with a 1e-9 tolerance and early stopping ------------------------------------
def _lost_sales():
    rng = np.random.default_rng(0)
    system = InventorySystem(L=2, h=1, b=4, backlog=False)
    return system, rng.poisson(5, (16, 30)), rng.poisson(5, (16, 30))


def test_ds_keeps_the_first_best_epoch_and_stops_after_patience():
    system, tr, va = _lost_sales()
    reg = Regularization("base", L=2, a_max=40)
    res = train_ds(system, reg, tr, va, cost_start=5, on_hand=10,
                   config=DSConfig(epochs=60, batch_size=4, lr=5e-2, patience=3, hidden=(8,)))
    vals = [h["val"] for h in res.history]
    best, epoch = math.inf, -1
    for e, v in enumerate(vals):
        if v < best - 1e-9:
            best, epoch = v, e
    assert (res.best_step, res.best_val) == (epoch, best)
    assert res.stopped_early and len(vals) == epoch + 1 + 3
    with torch.no_grad():          # the policy returned is the kept one
        kept = ds_rollout(res.policy, system, torch.as_tensor(va, dtype=torch.float32),
                          on_hand=10)[:, 5:].mean().item()
    assert kept == res.best_val


@pytest.mark.parametrize("step, best_epoch, stopped", [(1e-10, 0, True), (1e-8, 5, False)])
def test_ds_tolerance_is_1e_9(monkeypatch, step, best_epoch, stopped):
    """Validation costs falling by ``step`` per epoch: below the tolerance no epoch after the
    first counts as better (and training stops after ``patience``), above it every one does."""
    import deepstock_lite.paper.differentiable_simulator as ds
    real, evals = ds.ds_rollout, []

    def rollout(*args, **kwargs):
        costs = real(*args, **kwargs)
        if torch.is_grad_enabled():                    # training: unchanged
            return costs
        evals.append(None)                             # validation: 5 - step * (epoch + 1)
        return torch.full(costs.shape, 5.0 - step * len(evals), dtype=torch.float64)
    monkeypatch.setattr(ds, "ds_rollout", rollout)
    system, tr, va = _lost_sales()
    res = train_ds(system, Regularization("base", L=2, a_max=40), tr, va, cost_start=5,
                   config=DSConfig(epochs=6, batch_size=8, patience=3, hidden=(8,)))
    assert (res.best_step, res.stopped_early) == (best_epoch, stopped)
    assert len(res.history) == (4 if stopped else 6)


# -- every trainer raises TrainingDivergedError --------------------------------------------------
def test_ds_divergence(monkeypatch):
    system, tr, va = _lost_sales()
    reg = Regularization("base", L=2, a_max=40)
    cfg = DSConfig(epochs=2, batch_size=8, lr=1e30)
    # an absurd learning rate: after one Adam step the network's outputs are NaN
    with pytest.raises(TrainingDivergedError, match=r"DS training diverged at epoch 0, batch 1: "
                                                    r"the loss is nan\. Lower the learning "
                                                    r"rate \(DSConfig.lr\)"):
        train_ds(system, reg, tr, va, config=cfg)
    with pytest.raises(FloatingPointError):            # what DS raised before
        train_ds(system, reg, tr, va, config=cfg)
    # NaN gradients: the epoch's one Adam step leaves NaN in the parameters

    def nan_gradients(params, max_norm):
        for p in params:
            p.grad.fill_(math.nan)
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", nan_gradients)
    with pytest.raises(TrainingDivergedError, match=r"DS training diverged at epoch 0: "
                                                    r"parameter \S+ holds NaN or inf\. Lower"):
        train_ds(system, reg, tr, va, config=DSConfig(epochs=2, batch_size=16))


@pytest.fixture(scope="module")
def catalogue_envs():
    cat = make_catalogue(n_skus=60, horizon=20, seed=2)
    tr, va, _ = cat.split(by="sku")
    etr, eva = RetailEnv(cat, tr), RetailEnv(cat, va)
    reg = Regularization("both", L=etr.position_L, feature_index=etr.demand_feature_index,
                         days=28, bias_scale=14.0)
    return etr, eva, reg


def test_retail_ds_divergence(catalogue_envs, monkeypatch):
    etr, eva, reg = catalogue_envs
    # NaN gradients: the epoch's Adam steps leave NaN in the parameters (an absurd learning
    # rate does not do it reliably here: the sigmoid head saturates and the outputs stay finite)

    def nan_gradients(params, max_norm):
        for p in params:
            p.grad.fill_(math.nan)
    with monkeypatch.context() as m:
        m.setattr(torch.nn.utils, "clip_grad_norm_", nan_gradients)
        with pytest.raises(TrainingDivergedError, match=r"Retail DS training diverged at epoch 0"
                                                        r".*Lower lr"):
            train_ds_retail(etr, eva, reg,
                            retail_ds_config(hidden=(8,), epochs=2, batch_size=10))
    import deepstock_lite.paper.retail_ds as retail_ds

    def nan_rollout(policy, env, skus, **kw):
        return sum(p.sum() for p in policy.parameters()) * torch.full((len(skus),), np.nan)
    monkeypatch.setattr(retail_ds, "retail_rollout_torch", nan_rollout)
    with pytest.raises(TrainingDivergedError, match=r"Retail DS training diverged at epoch 0, "
                                                    r"batch 0: the surrogate loss is nan"):
        train_ds_retail(etr, eva, reg, retail_ds_config(hidden=(8,), epochs=1))
    with pytest.raises(RuntimeError):                  # what it raised before
        train_ds_retail(etr, eva, reg, retail_ds_config(hidden=(8,), epochs=1))


@pytest.mark.parametrize("module, Agent, cfg, n_envs", [
    (ddpg, "DDPG", dict(learning_starts=100, batch_size=16), 2),
    (dsac, "DSAC", dict(learning_starts=100, batch_size=16, n_quantiles=8), 2),
    (ppo, "PPO", dict(minibatch_size=64, n_epochs=1), 8)])
def test_rl_agents_non_finite_evaluation(monkeypatch, module, Agent, cfg, n_envs):
    env, ev = make_envs("a", n_envs=n_envs, horizon=50, eval_paths=5, eval_horizon=50)
    monkeypatch.setattr(getattr(module, Agent), "evaluate", lambda self, env: math.nan)
    config = getattr(module, f"{Agent}Config")(total_steps=400, eval_every=200, a_max=50.0,
                                               hidden=(8,), **cfg)
    with pytest.raises(TrainingDivergedError, match=rf"{Agent} training diverged at step \d+: "
                                                    r"the held-out evaluation cost is nan\. "
                                                    r"Lower the learning rates"):
        module.train(env, config, eval_env=ev, decoder=BaseStockDecoder(2), quiet=True)


def test_a_diverged_tuning_trial_fails_and_the_study_goes_on(tmp_path, monkeypatch):
    import optuna
    from deepstock_lite.paper import tuning
    space, _ = tuning.METHODS["ds"]
    calls = []

    def run(params, S, reg_kind, seed, budget, surrogate="exact"):
        calls.append(None)
        if len(calls) == 1:
            raise TrainingDivergedError("DS training diverged at epoch 0: ...")
        return {"val": math.nan if len(calls) == 2 else 1.0, "test": 1.0}
    monkeypatch.setattr(tuning, "METHODS", {**tuning.METHODS, "ds": (space, run)})
    monkeypatch.setattr(tuning, "make_setting", lambda *a, **k: None)
    study = tuning.run_study("ds", "base", "1", 3, storage=f"sqlite:///{tmp_path}/d.db",
                             n_startup_trials=2)
    states = [t.state for t in study.trials]
    F, C = optuna.trial.TrialState.FAIL, optuna.trial.TrialState.COMPLETE
    assert states == [F, F, C]
