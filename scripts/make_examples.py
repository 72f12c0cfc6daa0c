"""Make the app's ``examples/``: synthetic anime heads and a short driving clip, all from the project's own tools.

Characters come from ``animeceleb.data.synthetic`` (one with a transparent background); the driving clip is
``skimage.data.astronaut()`` (public domain, NASA) turned and tilted over three seconds, encoded by
``animeceleb.driving.write_video``. Deterministic: the same files every run. Usage: ``python scripts/make_examples.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from animeceleb.data.synthetic import SyntheticCharacter, render  # noqa: E402
from animeceleb.driving import write_video  # noqa: E402
from animeceleb.pose import Pose  # noqa: E402

CHARACTER_SEEDS = (1, 10, 13, 18, 23)  # picked for varied skin, hair, colours and accessories
TRANSPARENT_SEED = 18  # this one is saved as RGBA, to show that transparency is composited on white
CHARACTER_SIZE = 512
CLIP_SIZE = (360, 480)  # height, width
CLIP_FPS = 25.0
CLIP_SECONDS = 3.0
FACE_CENTRE = (225, 145)  # (x, y) of the astronaut's face in the 512x512 original


def make_characters(folder: Path) -> list[Path]:
    """Write the synthetic example characters, neutral pose, as PNG."""
    paths = []
    for seed in CHARACTER_SEEDS:
        character = SyntheticCharacter.random(np.random.default_rng(seed))
        rgba = seed == TRANSPARENT_SEED
        image = render(character, Pose.neutral(), CHARACTER_SIZE, rgba=rgba)
        path = folder / f"character_{seed:02d}{'_transparent' if rgba else ''}.png"
        Image.fromarray(image).save(path, optimize=True)
        paths.append(path)
    return paths


def astronaut_frames() -> list[np.ndarray]:
    """The astronaut's face centred in a 480x360 frame, tilting (roll) and turning its framing left and right."""
    height, width = CLIP_SIZE
    padded = np.pad(data.astronaut(), ((200, 200), (200, 200), (0, 0)), mode="edge")
    centre = (FACE_CENTRE[0] + 200, FACE_CENTRE[1] + 200)
    count = round(CLIP_FPS * CLIP_SECONDS)
    frames = []
    for index in range(count):
        phase = 2 * np.pi * index / count
        matrix = cv2.getRotationMatrix2D(centre, 12 * np.sin(phase), 1.4 + 0.07 * np.sin(2 * phase))
        matrix[:, 2] += (width / 2 - centre[0] + 20 * np.sin(phase), height / 2 - centre[1] + 10 * np.cos(phase))
        frames.append(cv2.warpAffine(padded, matrix, (width, height), flags=cv2.INTER_CUBIC))
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "examples")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    paths = make_characters(args.out)
    paths.append(write_video(args.out / "driving_astronaut.mp4", astronaut_frames(), CLIP_FPS))
    for path in paths:
        print(f"{path} ({path.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
