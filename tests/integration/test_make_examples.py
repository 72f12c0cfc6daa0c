"""``scripts/make_examples.py`` reproduces the committed ``examples/``, and the driving clip has a trackable face."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from animeceleb.driving import drive_video, read_video
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.timeout(180)


def test_examples_are_reproduced_by_the_script(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "scripts/make_examples.py", "--out", str(tmp_path)], cwd=REPO_ROOT, check=True, timeout=120
    )
    characters = sorted(path.name for path in tmp_path.glob("character_*.png"))
    assert characters == sorted(path.name for path in (REPO_ROOT / "examples").glob("character_*.png"))
    for name in characters:
        made, committed = Image.open(tmp_path / name), Image.open(REPO_ROOT / "examples" / name)
        assert made.mode == committed.mode and np.array_equal(np.asarray(made), np.asarray(committed)), name
    assert [Image.open(path).mode for path in tmp_path.glob("*_transparent.png")] == ["RGBA"]
    frames, info = read_video(tmp_path / "driving_astronaut.mp4")
    assert frames.shape == (75, 360, 480, 3) and info.fps == 25


def test_the_driving_example_has_a_face_in_every_frame() -> None:
    result = drive_video(REPO_ROOT / "examples" / "driving_astronaut.mp4")
    assert len(result.poses) == 75 and result.missing == ()
    roll = result.poses[:, -2]
    assert np.ptp(roll) > 10  # the clip tilts the head by +-12 degrees
