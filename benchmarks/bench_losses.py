"""Training-loss speed: SSIM forward + backward with our matrix-product blur vs kornia's depthwise convolutions.

SSIM is the costly part of the offline fallback loss (``ReconstructionLoss``), computed at four pyramid levels for
the warped and the final image of every training step. Times the SSIM map alone (ours vs ``kornia.metrics.ssim``, the
baseline, same inputs) and the whole fallback loss, at the training batch (8 pairs x 2 directions, 256x256), best of
``--repeats``. Prints a table and the speed-up over kornia.

    python benchmarks/bench_losses.py --batch 16 --size 256 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import kornia
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from animeceleb.train.losses import ReconstructionLoss  # noqa: E402
from animeceleb.train.ssim import ssim_map  # noqa: E402


def best_seconds(loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], shape: tuple, repeats: int) -> float:
    """Fastest forward + backward of ``loss(prediction, target).mean()`` after one untimed call."""
    prediction, target = torch.rand(shape, requires_grad=True), torch.rand(shape)
    times = []
    for _ in range(repeats + 1):
        started = time.perf_counter()
        loss(prediction, target).mean().backward()
        times.append(time.perf_counter() - started)
    return min(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16, help="images per call (training: 2 x the pair batch)")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    shape = (args.batch, 3, args.size, args.size)
    cases = {
        "SSIM, kornia (baseline)": lambda p, t: kornia.metrics.ssim(p, t, 11),
        "SSIM, ours": lambda p, t: ssim_map(p, t, 11),
        "fallback loss (4 levels)": ReconstructionLoss(4),
    }
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f}, input {shape}, best of {args.repeats}"
    )
    print(f"{'forward + backward':<28}{'ms':>9}")
    seconds = {name: best_seconds(loss, shape, args.repeats) for name, loss in cases.items()}
    for name, value in seconds.items():
        print(f"{name:<28}{value * 1000:>9.1f}")
    print(f"speed-up of our SSIM over kornia's: {seconds['SSIM, kornia (baseline)'] / seconds['SSIM, ours']:.2f}x")


if __name__ == "__main__":
    main()
