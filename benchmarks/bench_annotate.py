"""Annotation speed with the workbench engine at 256x256: images per second, against a bare Blender render loop.

Renders the procedural test character (``tests/integration/blender_character.py``) with ``annotate_model`` twice,
with a few and with more frames, so the difference gives the cost of one frame (pose, render, PNG, move into place)
without the fixed start-up (two Blender launches, model import). The baseline, measured in the same run on the same
scene and camera, is ``bpy.ops.render.render()`` called in a loop with nothing else. Usage::

    python benchmarks/bench_annotate.py [--frames 24] [--size 256]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # run from anywhere without installing the package

from animeceleb.annotate import AnnotateOptions, annotate_model, blender_python  # noqa: E402
from animeceleb.annotate.blender import WORKER  # noqa: E402

BUILDER = REPO_ROOT / "tests" / "integration" / "blender_character.py"
FEW = 4
OPTIONS = AnnotateOptions(morph_map={"brows_up": "MyBrowRaise"})  # default engine and anti-aliasing
BARE_LOOP = """
import json, os, runpy, sys, time
worker = runpy.run_path(sys.argv[1])
model, size, frames, samples = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
worker["load_model"](model)
meshes = worker["render_meshes"]()
head = worker["Head"]("Rig", "head")
centre, extent = worker["head_box"](head, meshes)
settings = dict(engine="workbench", size=size, camera="orthographic", fov=30.0, margin=1.4, samples=samples)
worker["setup_camera"](centre, extent, 1.0, settings)
worker["setup_render"](settings)
worker["bpy"].ops.render.render()  # warm-up, as the first annotated frame pays for it too
start = time.perf_counter()
for _ in range(frames):
    worker["bpy"].ops.render.render()
print("@bench", time.perf_counter() - start, flush=True)
os._exit(0)
"""


def time_annotate(model: Path, root: Path, frames: int, size: int) -> float:
    start = time.perf_counter()
    annotate_model(model, root, replace(OPTIONS, frames=frames, size=size))
    return time.perf_counter() - start


def time_bare_loop(python: Path, model: Path, frames: int, size: int) -> float:
    command = [str(python), "-c", BARE_LOOP, str(WORKER), str(model), str(size), str(frames), str(OPTIONS.samples)]
    output = subprocess.run(command, capture_output=True, text=True, timeout=600, check=True).stdout
    return float(next(line for line in output.splitlines() if line.startswith("@bench")).split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=24, help="frames of the longer run (default %(default)s)")
    parser.add_argument("--size", type=int, default=256, help="image side (default %(default)s)")
    args = parser.parse_args()
    python = blender_python()
    with tempfile.TemporaryDirectory(prefix="bench-annotate-") as scratch:
        model = Path(scratch) / "character.glb"
        subprocess.run([str(python), str(BUILDER), str(model)], capture_output=True, timeout=300, check=True)
        few = time_annotate(model, Path(scratch) / "few", FEW, args.size)
        many = time_annotate(model, Path(scratch) / "many", args.frames, args.size)
        bare = time_bare_loop(python, model, args.frames - FEW, args.size)
    per_frame = (many - few) / (args.frames - FEW)
    bare_per_frame = bare / (args.frames - FEW)
    rows = [
        ("annotate, per frame (difference of two runs)", args.frames - FEW, many - few, 1 / per_frame),
        (f"annotate, end to end ({args.frames} poses + basis)", args.frames + 1, many, (args.frames + 1) / many),
        ("baseline: bare bpy render loop, same scene", args.frames - FEW, bare, 1 / bare_per_frame),
    ]
    print(f"workbench engine, {args.size}x{args.size} RGBA, {OPTIONS.samples} AA samples, procedural test character")
    print(f"{'what':50s} {'images':>7s} {'seconds':>8s} {'images/s':>9s}")
    for what, count, seconds, rate in rows:
        print(f"{what:50s} {count:7d} {seconds:8.2f} {rate:9.2f}")
    print(f"ratio: annotate per-frame time / bare render time = {per_frame / bare_per_frame:.2f}x")


if __name__ == "__main__":
    main()
