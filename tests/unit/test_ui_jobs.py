"""The work behind the app's tabs, without Gradio: clips, comparisons, dataset browsing."""

from __future__ import annotations

import os
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from animeceleb.data import write_synthetic_dataset
from animeceleb.driving import read_video
from animeceleb.errors import InputError
from animeceleb.inference import Animator
from animeceleb.models import load_model
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
    frames, info = read_video(clip.mp4)
    assert frames.shape == (6, *TINY_IMAGE_SIZE, 3) and info.fps == pytest.approx(12.0) and seen == list(range(1, 7))
    assert len(iio.imread(clip.gif)) <= 3


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
    monkeypatch.setenv(jobs.DATA_ROOTS_ENV, os.pathsep.join([str(allowed), ""]))
    assert jobs.dataset_choices() == [jobs.SYNTHETIC, str(allowed)]
    samples = jobs.dataset_samples(str(allowed), 5, seed=0)
    assert len(samples) == 2 and jobs.sample_image(samples[0]).shape == (32, 32, 3)
    for refused in (str(tmp_path), str(allowed / ".."), "/"):
        with pytest.raises(InputError, match="not a dataset this app may read"):
            jobs.dataset_samples(refused, 2, seed=0)
    synthetic = jobs.dataset_samples(jobs.SYNTHETIC, 3, seed=1)
    assert [sample["pose"] for sample in synthetic] == [
        sample["pose"] for sample in jobs.dataset_samples("synthetic", 3, 1)
    ]
