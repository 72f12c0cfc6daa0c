"""Speed of the procedural renderer at 256x256: images per second, wall clock and CPU time.

Rows: rendering alone (anti-aliased polygons drawn directly at 256x256); the naive way to anti-alias, measured in the
same run as the baseline (draw at 2x, then area-downsample); and the full ``render-synthetic`` path (render, RGBA
PNG encoding, official layout on disk) with one and two worker processes. The machine may be shared: CPU-time rates
show the cost independent of other load.

    python benchmarks/bench_synthetic.py --images 1000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from animeceleb.data.sampling import sample_poses  # noqa: E402
from animeceleb.data.synthetic import character_for, render, write_synthetic_dataset  # noqa: E402

SIZE = 256
TARGET = 200.0  # images per second the renderer must reach at 256x256


def timed(work: Callable[[], None]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and its finished children)."""
    cpu = os.times()
    start = time.perf_counter()
    work()
    wall = time.perf_counter() - start
    after = os.times()
    return wall, sum(after[:4]) - sum(cpu[:4])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000, help="images per measurement (default 1000)")
    args = parser.parse_args()
    if args.images < 20:
        parser.error("--images must be at least 20 (the dataset measurement writes 20 frames per identity)")
    n = args.images
    characters = [character_for(0, identity) for identity in range(50)]
    poses = sample_poses(np.random.default_rng(0), n)
    render(characters[0], poses[0], SIZE)  # warm the caches of module-level geometry

    def direct() -> None:
        for index in range(n):
            render(characters[index % 50], poses[index], SIZE)

    def supersampled() -> None:
        for index in range(n):
            large = render(characters[index % 50], poses[index], 2 * SIZE)
            cv2.resize(large, (SIZE, SIZE), interpolation=cv2.INTER_AREA)

    def to_disk(workers: int) -> Callable[[], None]:
        def work() -> None:
            with tempfile.TemporaryDirectory() as root:
                write_synthetic_dataset(root, identities=n // 20, frames_per_identity=20, size=SIZE, workers=workers)

        return work

    rows = [
        ("render only (direct anti-aliasing)", timed(direct)),
        ("baseline: render at 2x + downsample", timed(supersampled)),
        ("render-synthetic to disk, 1 worker", timed(to_disk(1))),
        ("render-synthetic to disk, 2 workers", timed(to_disk(2))),
    ]
    load = os.getloadavg()[0]
    print(f"{n} images of {SIZE}x{SIZE}; {os.cpu_count()} CPU cores; load average {load:.1f} (other jobs share them)")
    print(f"{'measurement':40s} {'wall s':>8s} {'img/s':>8s} {'CPU img/s':>10s} {'vs 200/s':>10s}")
    for name, (wall, cpu) in rows:
        print(f"{name:40s} {wall:8.2f} {n / wall:8.1f} {n / cpu:10.1f} {n / wall / TARGET:9.2f}x")
    direct_wall, baseline_wall = rows[0][1][0], rows[1][1][0]
    print(f"direct anti-aliasing is {baseline_wall / direct_wall:.1f}x faster than the supersampling baseline")
    best_disk = min(rows[2][1][0], rows[3][1][0])
    print(f"acceptance: 1000 images written in {best_disk * 1000 / n:.1f} s (limit 10 s)")


if __name__ == "__main__":
    main()
