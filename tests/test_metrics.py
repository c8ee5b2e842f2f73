import numpy as np
import pytest

from deepstock_lite import InventorySystem, simulate
from deepstock_lite.core import metrics
from deepstock_lite.core.policies import BaseStock


def test_metrics_by_hand():
    end = np.array([[2.0, -1.0, 0.0, 4.0]])
    sales = np.array([[3.0, 2.0, 1.0, 2.0]])
    demand = np.array([[3.0, 3.0, 1.0, 2.0]])
    assert metrics.stockout_rate(end) == 0.5
    assert metrics.fill_rate(sales, demand) == pytest.approx(8 / 9)
    assert metrics.turnover_time(end, sales) == pytest.approx((6 / 4) / (8 / 4))
    assert metrics.average_cost([[1.0, 2.0, 3.0, 6.0]], start=2) == 4.5
    assert metrics.turnover_time(end, np.zeros((1, 4))) == float("inf")


def test_summarize_on_simulation():
    r = simulate(InventorySystem(L=0, h=1, b=4), BaseStock(5), [[3, 7, 2]])
    m = r.metrics()
    assert m["average_cost"] == pytest.approx(13 / 3)
    assert m["stockout_rate"] == pytest.approx(1 / 3)
    assert m["fill_rate"] == pytest.approx(10 / 12)
    assert m["turnover_time"] == pytest.approx((5 / 3) / (10 / 3))


def test_metric_errors():
    with pytest.raises(ValueError, match="same shape"):
        metrics.fill_rate(np.ones((1, 3)), np.ones((1, 4)))
    with pytest.raises(ValueError, match="start must be in"):
        metrics.average_cost(np.ones((1, 3)), start=3)
    with pytest.raises(ValueError, match="cost must be finite"):
        metrics.average_cost([[1.0, np.inf]])
