"""Benchmark ``drive`` (video -> poses) on a 640x480 clip of a moving face, against detection in every frame.

Rows (each the whole library path: decode, landmarks, head pose, features, smoothing):
  baseline    detect the face in every frame at full resolution, then fit landmarks
  downscaled  detect in every frame on a 320-pixel-wide copy
  tracked     the default: detect once on the downscaled frame, then search only near the previous landmarks
plus the ``python -m animeceleb drive`` command end to end (process start-up and CSV included).

Acceptance (issue 7): the default path runs at >= 25 frames/s on the 2-core CPU machine.

    python -m benchmarks.bench_drive [--frames 250] [--repeats 2]     (from the repository root)
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # run from a checkout without installing

from animeceleb.driving import DriveOptions, FaceTracker, drive_video, write_video  # noqa: E402
from tests.integration.driving_clips import astronaut_frame  # noqa: E402

ACCEPTANCE_FPS = 25.0


def moving_face_clip(path: Path, frames: int, fps: float = 25.0) -> Path:
    """The astronaut swaying: rotation +-8 degrees, sideways drift +-40 px, zoom +-8 %, 640x480."""
    face = astronaut_frame()
    height, width = face.shape[:2]

    def frame(index: int) -> np.ndarray:
        t = index / fps
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), 8 * math.sin(t * 2.1), 1 + 0.08 * math.sin(t * 1.3))
        matrix[0, 2] += 40 * math.sin(t * 1.7)
        return cv2.warpAffine(face, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)

    return write_video(path, (frame(index) for index in range(frames)), fps)


def time_drive(clip: Path, tracker: FaceTracker, repeats: int) -> tuple[float, int]:
    """Best wall time of ``drive_video`` over ``repeats`` runs, and the number of frames without a face."""
    best, missing = math.inf, 0
    for _ in range(repeats):
        start = time.perf_counter()
        result = drive_video(clip, options=DriveOptions(), tracker=tracker)
        best = min(best, time.perf_counter() - start)
        missing = len(result.missing)
    return best, missing


def time_cli(clip: Path, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "animeceleb", "drive", str(clip), "--out", str(out)],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=250, help="clip length in frames (25 fps)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per row; the best is kept")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        clip = moving_face_clip(Path(folder) / "clip.mp4", args.frames)
        trackers = {
            "baseline": FaceTracker(detect_width=None, use_tracking=False),
            "downscaled": FaceTracker(use_tracking=False),
            "tracked": FaceTracker(),
        }
        print(f"drive on a 640x480 clip of {args.frames} frames (best of {args.repeats})\n")
        print(f"{'row':<12} {'seconds':>8} {'frames/s':>9} {'ms/frame':>9} {'no face':>8} {'vs baseline':>12}")
        rates = {}
        for name, tracker in trackers.items():
            seconds, missing = time_drive(clip, tracker, args.repeats)
            rates[name] = args.frames / seconds
            speedup = rates[name] / rates["baseline"]
            print(
                f"{name:<12} {seconds:8.2f} {rates[name]:9.1f} {1000 * seconds / args.frames:9.1f} "
                f"{missing:8d} {speedup:11.2f}x"
            )
        cli_seconds = time_cli(clip, Path(folder) / "poses.csv")
        print(f"{'cli':<12} {cli_seconds:8.2f} {args.frames / cli_seconds:9.1f}   (process start-up included)")
    verdict = "PASS" if rates["tracked"] >= ACCEPTANCE_FPS else "FAIL"
    print(f"\nacceptance: tracked {rates['tracked']:.1f} frames/s >= {ACCEPTANCE_FPS:g}: {verdict}")


if __name__ == "__main__":
    main()
