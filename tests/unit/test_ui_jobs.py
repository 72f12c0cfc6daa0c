"""The work behind the app's tabs, without Gradio: clips, comparisons, dataset browsing."""

from __future__ import annotations

import os
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image

from animeceleb.data import write_synthetic_dataset
from animeceleb.driving import read_video
from animeceleb.errors import InputError
from animeceleb.inference import Animator
from animeceleb.inference.outputs import read_rgba_video
from animeceleb.models import load_model
from animeceleb.safe_paths import ROOTS_VARIABLE, PathRefused
from animeceleb.ui import jobs
from animeceleb.ui.media import OutputFolder
from tests.tiny_models import TINY_IMAGE_SIZE, save_tiny_models


@pytest.fixture(scope="module")
def animators(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Animator]:
    folders = save_tiny_models(tmp_path_factory.mktemp("models"))
    source = np.random.default_rng(0).integers(0, 255, (*TINY_IMAGE_SIZE, 3), dtype=np.uint8)
    prepared = {}
    for name, folder in folders.items():
        prepared[name] = Animator(load_model(folder))
        prepared[name].prepare(source)
    return prepared


def test_encode_clip_writes_every_frame_and_caps_the_gif(
    animators: dict[str, Animator], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "MAX_GIF_FRAMES", 3)
    poses = np.zeros((6, 20), np.float32)
    poses[:, 19] = np.linspace(-15, 15, 6)
    seen = []
    clip = jobs.encode_clip(
        animators["animo"].frames(poses), 6, 12.0, OutputFolder(), progress=lambda done, total, _: seen.append(done)
    )
    frames, info = read_video(clip.video)
    assert frames.shape == (6, *TINY_IMAGE_SIZE, 3) and info.fps == pytest.approx(12.0) and seen == list(range(1, 7))
    assert Image.open(clip.gif).n_frames <= 3


def test_encode_clip_keeps_transparency_in_webm_and_gif(animators: dict[str, Animator], tmp_path: Path) -> None:
    source = np.zeros((*TINY_IMAGE_SIZE, 4), np.uint8)
    source[8:-8, 8:-8] = (200, 120, 90, 255)  # an opaque square on a transparent background
    animator = Animator(animators["animo"].model)
    animator.prepare(source)
    clip = jobs.encode_clip(
        animator.frames(np.zeros((3, 20), np.float32)), 3, 10.0, OutputFolder(), video_format="webm"
    )
    webm = read_rgba_video(clip.video)
    assert webm.shape == (3, *TINY_IMAGE_SIZE, 4)
    assert (webm[:, 0, 0, 3] < 10).all() and (webm[:, 32, 32, 3] > 245).all()
    gif = iio.imread(clip.gif, index=None, mode="RGBA")
    assert (gif[:, 0, 0, 3] == 0).all() and (gif[:, 32, 32, 3] == 255).all()


def test_comparison_needs_a_video_for_frame_driven_models(animators: dict[str, Animator]) -> None:
    pose = np.zeros((1, 20), np.float32)
    entries, _ = jobs.comparison_drivings([("a", animators["animo"]), ("p", animators["pirenderer"])], poses=pose)
    grid = next(jobs.comparison_frames(entries))
    assert grid.shape[1] == 2 * TINY_IMAGE_SIZE[1] and grid.shape[0] > TINY_IMAGE_SIZE[0]
    with pytest.raises(InputError, match="fomm is driven by a face video"):
        jobs.comparison_drivings([("fomm", animators["fomm"])], poses=pose)


def test_dataset_browsing_stays_inside_the_allowed_roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    allowed = tmp_path / "allowed"
    write_synthetic_dataset(allowed, identities=1, frames_per_identity=2, size=32)
    (allowed / "escape").symlink_to(tmp_path)
    monkeypatch.setenv(ROOTS_VARIABLE, os.pathsep.join([str(allowed), ""]))
    assert jobs.dataset_choices() == [jobs.SYNTHETIC, str(allowed.resolve())]
    samples = jobs.dataset_samples(str(allowed), 5, seed=0)
    assert len(samples) == 2 and jobs.sample_image(samples[0]).shape == (32, 32, 3)
    for refused, message in (
        (str(tmp_path), "outside the allowed data folders"),
        (str(allowed / ".."), "'..' is not allowed"),
        (str(allowed / "escape"), "outside the allowed data folders"),
        ("/", "outside the allowed data folders"),
    ):
        with pytest.raises(PathRefused, match=message):
            jobs.dataset_samples(refused, 2, seed=0)
    monkeypatch.delenv(ROOTS_VARIABLE)
    assert jobs.dataset_choices() == [jobs.SYNTHETIC]  # no folders by default
    with pytest.raises(PathRefused, match="browsing server folders is off"):
        jobs.dataset_samples(str(allowed), 2, seed=0)
    synthetic = jobs.dataset_samples(jobs.SYNTHETIC, 3, seed=1)
    assert [sample["pose"] for sample in synthetic] == [
        sample["pose"] for sample in jobs.dataset_samples("synthetic", 3, 1)
    ]
