"""CPU training speed: seconds per step of the real training loop on glibc's malloc (the baseline), on tcmalloc
(``LD_PRELOAD``), and on tcmalloc with bf16 mixed precision (fast only on CPUs with AMX or AVX512-BF16).

Each (model, variant) run trains a fresh process on synthetic pairs with a shipped compact config (random
weights; the first ``--warmup`` steps are not timed). Runs alternate between the variants and the fastest of
``--repeats`` is kept, as a shared VM's speed drifts. Prints a table and each variant's speed-up over the baseline.

    python benchmarks/bench_train.py --steps 6 --repeats 2
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import os
import resource
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from animeceleb.train import load_train_config, train  # noqa: E402
from animeceleb.train.allocator import INSTALL_HINT, find_tcmalloc, tcmalloc_loaded  # noqa: E402
from benchmarks.fresh_process import run_in_fresh_process  # noqa: E402

CONFIGS = {  # the shipped compact models' configs that train every module
    "animo": ROOT / "configs" / "animeceleb-compact-strong.yaml",
    "pirender": ROOT / "configs" / "pirenderer-compact-strong.yaml",
}


def measure(kind: str, warmup: int, steps: int, mixed_precision: str) -> dict:
    """Train ``warmup + steps`` steps in this (fresh) process; seconds per timed step, peak RSS, the allocator."""
    config = dataclasses.replace(
        load_train_config(kind, CONFIGS[kind]),
        init_weights="",
        epochs=1,
        epoch_steps=warmup + steps,
        warp_epochs=0,
        log_every=1,
        checkpoint_every=warmup + steps,
        num_workers=0,
        mixed_precision=mixed_precision,
    )
    with tempfile.TemporaryDirectory() as out:
        train(kind, config, "synthetic", out, progress=False)
        with open(Path(out) / "log.csv", newline="") as file:
            wall = {int(row["step"]): float(row["wall_seconds"]) for row in csv.DictReader(file)}
    return {
        "seconds_per_step": (wall[warmup + steps] - wall[warmup]) / steps,
        "batch_size": config.batch_size,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "tcmalloc": tcmalloc_loaded(),
    }


def variants(library: str) -> dict[str, tuple[dict[str, str], str]]:
    """Variant name -> (environment, mixed precision); the first is the baseline."""
    tcmalloc = {"LD_PRELOAD": library}
    return {"glibc malloc": ({}, "no"), "tcmalloc": (tcmalloc, "no"), "tcmalloc + bf16": (tcmalloc, "bf16")}


def best_runs(kind: str, library: str, args: argparse.Namespace) -> dict[str, dict]:
    """The fastest of ``args.repeats`` alternating runs per variant."""
    runs: dict[str, list[dict]] = {name: [] for name in variants(library)}
    for _ in range(args.repeats):
        for name, (env, precision) in variants(library).items():
            runs[name].append(run_in_fresh_process(measure, kind, args.warmup, args.steps, precision, env=env))
    return {name: min(results, key=lambda result: result["seconds_per_step"]) for name, results in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=sorted(CONFIGS), default=sorted(CONFIGS))
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per run")
    parser.add_argument("--steps", type=int, default=6, help="timed steps per run")
    parser.add_argument("--repeats", type=int, default=2, help="alternating fresh-process runs; the fastest is kept")
    args = parser.parse_args()
    library = find_tcmalloc()
    if library is None:
        raise SystemExit(f"no tcmalloc library found: {INSTALL_HINT}")
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores, "
        f"CPU {torch.backends.cpu.get_cpu_capability()}, load {os.getloadavg()[0]:.1f}, {library}, "
        f"{args.steps} timed steps after {args.warmup}, best of {args.repeats} runs"
    )
    print(f"{'model':<10}{'variant':<17}{'batch':>6}{'s/step':>9}{'pairs/s':>9}{'peak RSS MB':>13}{'speed-up':>10}")
    for kind in args.models:
        results = best_runs(kind, library, args)
        for name, result in results.items():
            if result["tcmalloc"] != name.startswith("tcmalloc"):
                raise SystemExit(f"{name} run did not get the allocator it asked for")
            speedup = results["glibc malloc"]["seconds_per_step"] / result["seconds_per_step"]
            print(
                f"{kind:<10}{name:<17}{result['batch_size']:>6}{result['seconds_per_step']:>9.2f}"
                f"{result['batch_size'] / result['seconds_per_step']:>9.2f}{result['peak_rss_mb']:>13.0f}"
                f"{speedup:>9.2f}x"
            )


if __name__ == "__main__":
    main()
