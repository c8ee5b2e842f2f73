"""Simulator throughput: SKU-periods per second for batches of SKUs, and for a plain
per-SKU Python loop of the same dynamics (backlog, L = 2, base stock, Poisson demand).

Run:  python benchmarks/simulator.py     (one thread; prints a table)
Target (issue 2): >= 20 million SKU-periods/s at 8 192 SKUs and >= 20x the plain loop.
"""
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from deepstock_lite import InventorySystem, simulate  # noqa: E402
from deepstock_lite.core.policies import BaseStock  # noqa: E402


def plain_loop(demand, S, L, h, b):
    """The same event order as InventorySystem.step, one SKU at a time, in plain Python."""
    total = 0.0
    for row in demand.tolist():
        on_hand, pipe = 0.0, [0.0] * L
        for d in row:
            position = on_hand + sum(pipe)
            q = max(S - position, 0.0)
            pipe[L - 1] = q
            end = on_hand - d
            total += h * end if end > 0 else -b * end
            on_hand = end + pipe[0]
            pipe = pipe[1:] + [0.0]
    return total


def best_of(fn, repeats=3):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    rng = np.random.default_rng(0)
    system = InventorySystem(L=2, h=1.0, b=9.0)
    policy = BaseStock(20)
    print(f"{'batch (SKUs)':>12} {'periods':>8} {'SKU-periods/s':>16}")
    rates = {}
    for n in (1, 64, 1024, 8192):
        T = max(200, 2_000_000 // n) if n > 1 else 20_000
        D = rng.poisson(5, size=(n, T)).astype(float)
        dt = best_of(lambda: simulate(system, policy, D))
        rates[n] = n * T / dt
        print(f"{n:>12} {T:>8} {rates[n]:>16,.0f}")
    n, T = 64, 2000
    D = rng.poisson(5, size=(n, T)).astype(float)
    dt = best_of(lambda: plain_loop(D, 20.0, 2, 1.0, 9.0))
    loop_rate = n * T / dt
    print(f"{'plain loop':>12} {T:>8} {loop_rate:>16,.0f}")
    print(f"speed-up at 8192 SKUs over the plain loop: {rates[8192] / loop_rate:.1f}x")
    # the two implementations agree on the cost
    ref = plain_loop(D[:4], 20.0, 2, 1.0, 9.0)
    vec = simulate(system, policy, D[:4]).cost.sum()
    assert abs(ref - vec) < 1e-6 * abs(ref), (ref, vec)


if __name__ == "__main__":
    main()
