"""Sample efficiency against Stable-Baselines3 on the same environment and wrappers.

Reads the Stable-Baselines3 study (``python -m lab sb3-study --budget full --write``, the
committed ``deepstock_lite/data/results/sb3_study.json``): PPO and DDPG of both libraries
through the book's wrappers with the Base decoding, instances (a) and (b), every seed of the
study, one CPU thread. For each algorithm and instance it prints the median over the seeds of
the training CPU seconds (evaluations excluded) until the validation cost first came within 5%
and 3% of the known optimum (a seed that never did counts as infinitely late), and the median
test gap of the final policy and of the best on validation; then, for each of the book's
agents, whether it is no later than SB3 to 5% and to 3% (medians), and where it ends against
SB3: the mean difference of the test gaps (best on validation, the policy ``train`` returns;
the final one beside it) with Welch's 95% interval over the independent seeds, "worse" or
"better" only where the interval excludes zero, "not shown" otherwise. A difference of the
medians alone is no verdict: the seeds of one library spread over several points.

Run:  python benchmarks/sb3_efficiency.py [--study PATH] [--decoding base|none]
      (the committed table: ``> benchmarks/results/sb3_efficiency.txt``)
"""
import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deepstock_lite.integrations import sb3_summary  # noqa: E402


def verdicts(rows):
    """``(algo, instance, lib, to 5% ok, to 3% ok)`` of each of the book's rows against SB3's
    row of the same algorithm and instance: is the book's median time no later? (Where the
    agents end is judged by :func:`sb3_summary.end_differences`, over the seeds.)"""
    sb3 = {(a, i): (t5, t3) for a, i, lib, t5, t3, *_ in rows if lib == "sb3"}
    out = []
    for algo, inst, lib, t5, t3, *_ in rows:
        if lib == "sb3" or (algo, inst) not in sb3:
            continue
        s5, s3 = sb3[(algo, inst)]
        out.append((algo, inst, lib, t5 <= s5, t3 <= s3))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--study", default=str(sb3_summary.RESULTS), help="the study's results file")
    p.add_argument("--decoding", choices=sb3_summary.REGS, default="base")
    a = p.parse_args(argv)
    path = Path(a.study)
    if not path.is_file():
        p.error(f"--study: no results file at {path} (run: python -m lab sb3-study --budget "
                f"full --write)")
    data = json.loads(path.read_text())
    meta = data.get("meta", {})
    rows = sb3_summary.efficiency(data, a.decoding)
    seeds = sorted({r["seed"] for r in data["runs"].values()})
    print(f"# python benchmarks/sb3_efficiency.py --decoding {a.decoding}   (study: "
          f"{meta.get('command', '?')}; Stable-Baselines3 {meta.get('stable_baselines3', '?')}"
          f", torch {meta.get('torch', '?')}, {meta.get('threads', '?')} thread, seeds "
          f"{seeds})")
    print("# medians over the seeds; seconds: training CPU until the validation cost is within "
          "5% / 3% of the optimum")
    print(sb3_summary.format_efficiency(data, a.decoding))
    print()
    print(f"{'algo':5} {'inst':4} {'library':10} {'to 5%':>6} {'to 3%':>6}   (the book's "
          f"median against SB3's: no later?)")
    for algo, inst, lib, ok5, ok3 in verdicts(rows):
        print(f"{algo:5} {inst:4} {lib:10} " + " ".join(
            f"{'yes' if ok else 'NO':>6}" for ok in (ok5, ok3)))
    print()
    print("# where it ends: mean test gap, the book's minus SB3's, percentage points (Welch's "
          "95% interval over the seeds)")
    print(f"{'algo':5} {'inst':4} {'library':10} {'gap':5} {'difference':>10} "
          f"{'95% interval':>18}  verdict")
    for algo, inst, lib, key, diff, low, high in sb3_summary.end_differences(data, a.decoding):
        verdict = "worse" if low > 0 else "better" if high < 0 else "not shown"
        print(f"{algo:5} {inst:4} {lib:10} {key.split('_')[0]:5} {100 * diff:+10.2f} "
              f"{f'({100 * low:+.2f}, {100 * high:+.2f})':>18}  {verdict}")
    return rows


if __name__ == "__main__":
    main()
