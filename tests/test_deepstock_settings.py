import numpy as np
import pytest

from deepstock_lite.core.policies import BaseStock, FunctionPolicy
from deepstock_lite.paper import setting1, setting2, setting3, setting4


def test_setting1_matches_the_authors_setup():
    S = setting1()
    assert S.data.train.shape == (10, 31) and S.data.test.shape == (100, 31)
    assert (S.system.L, S.system.P, S.system.first_review) == (1, 2, 2)
    assert (S.system.h, S.system.b, S.system.backlog) == (0.1, 0.9, True)
    # the loss is 0.1 * mean(end inv)^+ + 0.9 * mean(end inv)^- over days 3..30
    from deepstock_lite import simulate
    r = simulate(S.system, BaseStock(36), S.data.test)
    e = r.end_inventory[:, 3:]
    manual = (0.1 * np.maximum(e, 0) + 0.9 * np.maximum(-e, 0)).mean()
    assert S.evaluate(BaseStock(36)) == pytest.approx(manual)
    np.testing.assert_array_equal(r.order[:, :2], 0)            # first order on day 2
    assert np.all(r.order[:, 3::2] == 0)                        # only every other day


def test_observation_fn_layout():
    S = setting2()
    obs_fn = S.observation_fn("test")
    seen = []
    S.evaluate(FunctionPolicy(lambda s: (seen.append(obs_fn(s)), np.zeros(s.n))[1]), "test")
    first = seen[0]                                             # day 2: [on_hand, D_1]
    assert first.shape == (100, 2)
    np.testing.assert_allclose(first[:, 1], S.data.test[:, 1])


def test_ar1_settings_sizes():
    # default reading: the paper's 20 / 10 sample trajectories are train + validation
    assert setting2().data.train.shape == setting2().data.val.shape == (10, 31)
    assert setting3().data.train.shape == setting3().data.val.shape == (5, 31)
    # the sizes of the first results files; both readings share the test set
    each = setting2(reading="each")
    assert each.data.train.shape == (20, 31)
    assert setting3(reading="each").data.train.shape == (10, 31)
    np.testing.assert_array_equal(each.data.test, setting2().data.test)
    np.testing.assert_array_equal(each.data.train[:10], setting2().data.train)
    with pytest.raises(ValueError, match="reading"):
        setting2(reading="both")


def test_setting4_feature_is_sigma():
    S = setting4(n_train=5, horizon=8)
    assert S.data.train.shape == (25, 8)
    np.testing.assert_allclose(S.features["test"][:, 0, 0], S.data.info["test_sigma"])
    with pytest.raises(ValueError, match="split must be one of"):
        S.demand("holdout")


def test_setting1_env_rewards_add_up_to_the_paper_loss():
    S = setting1()
    env = S.make_env("test")
    obs, _ = env.reset()
    total, done = 0.0, False
    while not done:
        obs, r, term, trunc, _ = env.step(np.maximum(36 - obs[:, 0], 0))
        total -= r.sum()
        done = trunc[0]
    assert obs.shape[1] == 2                       # [on_hand, day]
    loss = total / (100 * 28)                      # 100 trajectories, days 3..30
    assert loss == pytest.approx(S.evaluate(BaseStock(36)))
