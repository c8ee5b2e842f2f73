import math

import pytest

from deepstock_lite.core.statistics import t_interval


def test_t_interval_against_the_t_table():
    t = t_interval([1.0, 2.0, 3.0])
    # t_{0.975, 2} = 4.3027 (any t table); the standard deviation of 1, 2, 3 is 1
    assert t["mean"] == 2.0 and t["n"] == 3
    assert (t["low"], t["high"]) == pytest.approx((2 - 4.302652729749464 / math.sqrt(3),
                                                   2 + 4.302652729749464 / math.sqrt(3)))
    assert t_interval([0.0, 1.0], level=0.9)["high"] == pytest.approx(
        0.5 + 6.313751514675041 * math.sqrt(0.5) / math.sqrt(2))


def test_t_interval_needs_two_values():
    one = t_interval([1.0])
    assert one["mean"] == 1.0 and math.isnan(one["low"]) and math.isnan(one["high"])
    assert math.isnan(t_interval([])["mean"])
