"""``animate``: astronaut-derived face clip or pose CSV -> browser-playable h264 mp4, end to end through the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from animeceleb.driving import preset_poses, probe_video, read_video, write_pose_csv
from animeceleb.models import FOMM, Animo, AnimoConfig, FOMMConfig
from tests.helpers import TINY_FOMM, TINY_NETS, run_cli
from tests.integration.driving_clips import astronaut_frame, rotated, save_clip

SIZE = (64, 64)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("animate")
    torch.manual_seed(0)  # a fixed untrained model, so every run checks the same outputs
    Animo(AnimoConfig(**TINY_NETS, domains=("anime",), image_size=SIZE)).save_pretrained(root / "model")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (80, 80, 4), dtype=np.uint8)).save(root / "source.png")
    frame = astronaut_frame()
    save_clip(root / "face.mp4", [rotated(frame, angle) for angle in np.linspace(-8, 8, 12)])
    return root


def test_face_video_to_playable_mp4(workspace: Path) -> None:
    out = workspace / "result.mp4"
    result = run_cli("animate", str(workspace / "source.png"), "--driving", str(workspace / "face.mp4"),
                     "--model", str(workspace / "model"), "--out", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    info = probe_video(out)
    assert (info.codec, info.pix_fmt, info.width, info.height) == ("h264", "yuv420p", 64, 64)
    frames, _ = read_video(out)
    assert len(frames) == 12 and frames.std() > 1  # every driving frame rendered, not blank


def test_side_by_side_keeps_driving_video(workspace: Path) -> None:
    out = workspace / "side.mp4"
    result = run_cli("animate", str(workspace / "source.png"), "--driving", str(workspace / "face.mp4"),
                     "--model", str(workspace / "model"), "--out", str(out), "--side-by-side")  # fmt: skip
    assert result.returncode == 0, result.stderr
    frames, info = read_video(out)
    width = 64 + round(640 * 64 / 480)  # the driving frame scaled to the result's height, then the result
    assert len(frames) == 12 and (info.height, info.width) == (64, width + width % 2)  # h264 needs even sizes


def test_pose_csv_drives_the_model(workspace: Path) -> None:
    csv = write_pose_csv(workspace / "talk.csv", preset_poses("talk", fps=10, seconds=1))
    out = workspace / "talk.mp4"
    result = run_cli("animate", str(workspace / "source.png"), "--driving", str(csv), "--fps", "10",
                     "--model", str(workspace / "model"), "--out", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    frames, info = read_video(out)
    assert len(frames) == 10 and info.fps == pytest.approx(10)
    assert np.abs(frames[0].astype(int) - frames[5].astype(int)).max() > 0  # the mouth moved


def test_fomm_is_driven_by_frames(workspace: Path) -> None:
    FOMM(FOMMConfig(**TINY_FOMM, image_size=SIZE)).save_pretrained(workspace / "fomm")
    out = workspace / "fomm.mp4"
    args = ["animate", str(workspace / "source.png"), "--model", str(workspace / "fomm"), "--out", str(out)]
    assert run_cli(*args, "--driving", str(workspace / "face.mp4")).returncode == 0
    assert len(read_video(out)[0]) == 12
    result = run_cli(*args, "--driving", str(workspace / "talk.csv"))
    assert result.returncode == 2 and "FOMM is driven by video frames" in result.stderr


def test_bad_inputs_fail_clearly(workspace: Path) -> None:
    (workspace / "broken.png").write_bytes(b"not an image")
    common = ["--model", str(workspace / "model"), "--out", str(workspace / "x.mp4")]
    result = run_cli("animate", str(workspace / "broken.png"), "--driving", str(workspace / "face.mp4"), *common)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot read broken.png as an image" in result.stderr
    (workspace / "broken.mp4").write_bytes(b"\x00" * 1000)
    result = run_cli("animate", str(workspace / "source.png"), "--driving", str(workspace / "broken.mp4"), *common)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert not (workspace / "x.mp4").exists()
