"""The DeepStock paper's synthetic settings 1–4 (Xie et al. 2026), ready to train on.

The paper names the settings and their trajectory counts (see :data:`READINGS`); their
details (the demand generators, the day structure, the costs and the loss) come from the
authors' released code for the synthetic experiments, run by us, not from the paper's text.
Each :class:`PaperSetting` bundles the system, the train/validation/test demand, the
observation's extra features, and the *loss* of that code: the average cost per day over the
costed days ``cost_start … T−1`` (Setting 1: days 3…30 of 31). Setting 1 follows the authors'
released code exactly: 31 days, P = 2, L = 1, backlog, b = 0.9, h = 0.1, initial stock 0,
first order on day 2, orders in [0, 100], feature = the day index.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.paper_data import DemandSplits, make_ar1, make_iid, make_indep
from ..core.policies import FunctionPolicy
from ..core.simulator import InventorySystem, simulate
from ..core.validation import check_choice, check_int, check_name
from ..envs.batch_env import BatchInventoryEnv
from ..envs.episode import observation

__all__ = ["PaperSetting", "READINGS", "ar1_sizes", "setting1", "setting2", "setting3",
           "setting4"]


@dataclass
class PaperSetting:
    name: str
    system: InventorySystem
    data: DemandSplits
    features: dict          # split -> array (n, T, F) or None
    n_history: int
    cost_start: int
    q_max: float
    on_hand: float = 0.0

    @property
    def T(self):
        return self.data.train.shape[1]

    def demand(self, split):
        return getattr(self.data, check_choice("split", split, {"train", "val", "test"}))

    def loss_of_costs(self, cost):
        """The loss of the authors' released code: mean over trajectories and costed days
        of the per-day cost."""
        return float(np.asarray(cost)[:, self.cost_start:].mean())

    def evaluate(self, policy, split="test"):
        """Loss of a simulator policy (``act(state) -> orders``) on a split."""
        r = simulate(self.system, policy, self.demand(split), on_hand=self.on_hand)
        return self.loss_of_costs(r.cost)

    def evaluate_on_observations(self, act, split="test"):
        """Loss of a policy given as ``act(observation) -> orders`` (a network's view, the
        layout of :meth:`observation_fn`) on a split."""
        obs = self.observation_fn(split)
        return self.evaluate(FunctionPolicy(lambda state: act(obs(state))), split)

    def make_env(self, split, *, reward="attributed", n_envs=None):
        """A :class:`~deepstock_lite.envs.BatchInventoryEnv` over a split's trajectories.

        Decisions start at the first review period; with ``reward="attributed"`` the rewards
        of an episode add up to minus the cost of exactly the costed days (for Setting 1,
        days 3…30, as in the authors' released code). ``n_envs=None`` replays every row in
        order.
        """
        warmup = self.system.first_review
        horizon = self.T - warmup - self.system.L
        horizon -= horizon % self.system.P
        feats = None if self.features is None else self.features[split]
        return BatchInventoryEnv(self.system, self.demand(split), horizon, self.q_max,
                                 n_envs=n_envs, warmup=warmup, n_history=self.n_history,
                                 on_hand=self.on_hand, reward=reward, features=feats)

    def observation_fn(self, split):
        """Maps a simulator state to the environments' observation layout
        ``[on_hand, pipeline, last n_history demands, features]`` for this split's rows."""
        D, F = self.demand(split), self.features.get(split) if self.features else None
        return lambda state: observation(state, D, self.n_history, F)


def _day_feature(D):
    return np.broadcast_to(np.arange(D.shape[1], dtype=float)[None, :, None],
                           (D.shape[0], D.shape[1], 1)).copy()


def setting1(seed=42):
    """INDEP demand, 10/10/100 trajectories of 31 days; feature: the day index."""
    data = make_indep(10, 10, 100, horizon=31, seed=seed)
    system = InventorySystem(L=1, P=2, h=0.1, b=0.9, backlog=True, first_review=2)
    feats = {s: _day_feature(getattr(data, s)) for s in ("train", "val", "test")}
    return PaperSetting("Setting 1 (INDEP)", system, data, feats, n_history=0, cost_start=3,
                        q_max=100.0)


#: How to read the paper's "20 / 10 sample trajectories" of Settings 2–3.
#: ``"total"`` (the default): training and validation together, 10 + 10 and 5 + 5;
#: ``"each"``: 20 + 20 and 10 + 10, the sizes of the book's first results files.
READINGS = ("total", "each")
_AR1_SIZES = {"2": 20, "3": 10}     # the paper's count of sample trajectories


def ar1_sizes(key, reading="total"):
    """``(n_train, n_val)`` of Setting ``key`` (``"2"`` or ``"3"``) under a reading of the
    paper's count (see :data:`READINGS`)."""
    key = check_choice("key", str(key), set(_AR1_SIZES))
    reading = check_name("reading", reading, READINGS)
    n = _AR1_SIZES[key]
    return (n // 2, n // 2) if reading == "total" else (n, n)


def _ar1_setting(key, reading, seed):
    n_train, n_val = ar1_sizes(key, reading)
    n = _AR1_SIZES[key]
    # one draw per setting and seed at the larger ("each") sizes; the "total" reading keeps
    # its first rows, so both readings share the test trajectories and the benchmark
    full = make_ar1(n_train=n, n_val=n, n_test=100, horizon=31, seed=seed)
    info = {}
    for k, v in full.info.items():
        split = k.split("_", 1)[0]
        info[k] = v[:n_train] if split == "train" else v[:n_val] if split == "val" else v
    data = DemandSplits(full.train[:n_train], full.val[:n_val], full.test, info=info)
    system = InventorySystem(L=1, P=2, h=0.1, b=0.9, backlog=True, first_review=2)
    name = f"Setting {key} (AR(1), {n_train} train + {n_val} val)"
    return PaperSetting(name, system, data, None, n_history=1, cost_start=3, q_max=100.0)


def setting2(seed=0, reading="total"):
    """AR(1) demand, the paper's 20 sample trajectories: 10 train + 10 validation by default
    (``reading="each"``: 20 + 20); 100 test trajectories; feature: yesterday's demand."""
    return _ar1_setting("2", reading, check_int("seed", seed, low=0))


def setting3(seed=0, reading="total"):
    """AR(1) demand, the paper's 10 sample trajectories: 5 train + 5 validation by default
    (``reading="each"``: 10 + 10); 100 test trajectories; feature: yesterday's demand."""
    return _ar1_setting("3", reading, check_int("seed", seed, low=0))


def setting4(n_train=10, horizon=64, n_skus=5, seed=0):
    """IID normal demand (mean 100, σ ~ U(5, 20) per SKU), one demand per ordering period:
    a repeated newsvendor (L = 0, P = 1 here); feature: the SKU's σ."""
    n_train = check_int("n_train", n_train, low=1)
    data = make_iid(n_skus=n_skus, n_train=n_train, n_val=n_train, n_test=100,
                    horizon=horizon, seed=seed)
    system = InventorySystem(L=0, P=1, h=0.1, b=0.9, backlog=True)
    feats = {}
    for s in ("train", "val", "test"):
        sig = data.info[f"{s}_sigma"]
        feats[s] = np.broadcast_to(sig[:, None, None], (sig.size, horizon, 1)).copy()
    return PaperSetting(f"Setting 4 (IID, N={n_train}, H={horizon})", system, data, feats,
                        n_history=0, cost_start=0, q_max=200.0)
