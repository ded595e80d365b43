"""Detection on planted truth: brightspots against the raw leaderboard, over several seeds.

    python -m bench.detection --seeds 101 202 303 --null-seeds 11 12 13 14 15 --reps 200

Prints precision and recall of rep-level bright spots per seed and pooled, the raw leaderboard's
precision (top k by won amount, k = planted), and bright spots found in null organisations.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from brightspots import evaluate, synth


def run_one(tmp: Path, config: synth.SynthConfig):
    table, truth, diagnostics, per_outcome = evaluate.analyse_synthetic(
        tmp / f"{config.seed}-{int(config.null)}", config
    )
    return evaluate.score(table, truth, per_outcome), diagnostics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="*", default=[101, 202, 303])
    ap.add_argument("--null-seeds", type=int, nargs="*", default=[11, 12, 13, 14, 15])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--months", type=int, default=18)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        total = None
        for seed in args.seeds:
            t0 = time.perf_counter()
            det, diag = run_one(
                tmp, synth.SynthConfig(reps=args.reps, months=args.months, seed=seed)
            )
            total = det if total is None else total + det
            print(
                f"seed {seed}: planted {det.planted} (detectable {det.detectable}) labelled "
                f"{det.labelled} (coached {det.coached_labelled}) precision {det.precision:.2f} "
                f"recall {det.recall:.2f} (detectable {det.detectable_recall:.2f}) | teams: "
                f"coached found {det.teams_found}/{det.teams_planted} (detectable "
                f"{det.teams_detectable}), labelled "
                f"{det.teams_labelled} | raw top-k precision {det.raw_precision:.2f}, rich in "
                f"raw top-k {det.raw_rich_in_top}, rich labelled {det.rich_labelled} | AUC "
                f"{diag['auc']:.3f} phi {diag['phi']:.2f} tau2 {diag['tau2']:.4f} "
                f"({time.perf_counter() - t0:.0f}s)"
            )
        if total is not None:
            print(
                f"POOLED: precision {total.precision:.2f} recall {total.recall:.2f} recall among "
                f"detectable {total.detectable_recall:.2f} ({total.planted - total.detectable} "
                f"undetectable) | coached teams found {total.teams_found}/{total.teams_planted}"
                f" | raw leaderboard precision {total.raw_precision:.2f}"
            )
        nulls = []
        for seed in args.null_seeds:
            det, diag = run_one(
                tmp, synth.SynthConfig(reps=args.reps, months=args.months, seed=seed, null=True)
            )
            nulls.append(det.labelled)
            print(f"null seed {seed}: bright spots {det.labelled} (tau2 {diag['tau2']:.4f})")
        if nulls:
            print(f"NULL: mean bright spots per org {sum(nulls) / len(nulls):.2f}")


if __name__ == "__main__":
    main()
