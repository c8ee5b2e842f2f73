"""What the decoding wrappers cost: section 4 of ``benchmarks/simulator.py`` on its own.

``RegularizedAction`` with each DeepStock decoding (none, base, coeff, both) against the bare
pure-Python reference environment (instance (b): lost sales, L = 2, Poisson(5), h = 1, b = 4,
episodes of 1 000 periods, resets included), ``InventoryEnv`` and a minimal Base wrapper in
plain Python; ``RegularizedVectorAction`` against the bare ``BatchInventoryEnv`` at 16, 256
and 4 096 SKUs. Rows interleaved, medians of the per-repetition ratios, CPU time (see
``benchmarks/simulator.py``, where the rows are defined).

Run:  python benchmarks/wrapper_speed.py [--steps N] [--repeats R] [--json PATH]
      (the committed table: ``> benchmarks/results/wrapper_speed.txt``)
Target: every wrapper row >= 0.5x the bare environment.
"""
import argparse
import json
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from simulator import decoding_wrappers  # noqa: E402  (sets one thread before numpy)

import numpy as np  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=100_000,
                   help="single-environment steps per row and repetition (vector rows: "
                        "steps / 50)")
    p.add_argument("--repeats", type=int, default=7, help="interleaved repetitions")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the rows as JSON")
    args = p.parse_args(argv)
    if args.steps < 1 or args.repeats < 1:
        p.error("--steps and --repeats must be at least 1")
    print(f"# python benchmarks/wrapper_speed.py --steps {args.steps} --repeats {args.repeats}"
          f"  (Python {platform.python_version()}, numpy {np.__version__}, load average "
          f"{os.getloadavg()[0]:.1f})")
    out = decoding_wrappers(args.steps, args.repeats, vector_steps=max(1, args.steps // 50))
    rows = [{"row": n, "steps_per_s": r, "ratio_to_bare": x, "ratio_to_its_env": o}
            for n, r, x, o in out.pop("single")]
    rows += [{"row": f"{n}, {skus} SKUs", "n_skus": skus, "sku_steps_per_s": r * skus,
              "steps_per_s": r, "ratio_to_bare": x, "ratio_to_its_env": o}
             for skus, table in out.items() for n, r, x, o in table]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
