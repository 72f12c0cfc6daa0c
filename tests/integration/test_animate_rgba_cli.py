"""``animate`` with transparent characters and framed pictures, end to end through the CLI (issue 10 acceptance)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from animeceleb.cli import main
from animeceleb.data.synthetic import SyntheticCharacter, render
from animeceleb.driving import preset_poses, probe_video, read_video, write_pose_csv
from animeceleb.framing import HeadBox, PasteBack, frame_source
from animeceleb.inference.outputs import read_rgba_video
from animeceleb.models import Animo, AnimoConfig
from animeceleb.pose import Pose
from tests.helpers import TINY_NETS, run_cli

SIZE = (64, 64)
PICTURE = (768, 1024)  # height, width
HEAD = (300.0, 420.0, 70.0)  # x, y, radius of the head in the picture: left of centre and low


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("animate_rgba")
    torch.manual_seed(0)  # the untrained flow is random: a fixed draw keeps the face opaque in every run
    Animo(AnimoConfig(**TINY_NETS, domains=("anime",), image_size=SIZE)).save_pretrained(root / "model")
    character = SyntheticCharacter.random(np.random.default_rng([5, 1]))
    Image.fromarray(render(character, Pose.neutral(), 128, rgba=True)).save(root / "character.png")
    write_pose_csv(root / "talk.csv", preset_poses("talk", fps=10, seconds=1))
    # a 1024x768 picture: a colour gradient with the character's head and shoulders placed off-centre
    ys, xs = np.mgrid[: PICTURE[0], : PICTURE[1]]
    picture = np.stack([xs * 255 // PICTURE[1], ys * 255 // PICTURE[0], np.full(PICTURE, 90)], axis=2).astype(np.uint8)
    x, y, radius = HEAD
    side = round(4 * radius)  # the renderer's frame is four head radii wide
    head = np.asarray(Image.fromarray(render(character, Pose.neutral(), side, rgba=True)))
    left, top = round(x - 0.5 * side), round(y - 0.41 * side)
    alpha = head[..., 3:] / 255
    region = picture[top : top + side, left : left + side]
    region[:] = (head[..., :3] * alpha + region * (1 - alpha)).round().astype(np.uint8)
    Image.fromarray(picture).save(root / "picture.png")
    return root


def test_rgba_character_to_transparent_webm(workspace: Path) -> None:
    out = workspace / "talk.webm"
    result = run_cli("animate", str(workspace / "character.png"), "--driving", str(workspace / "talk.csv"),
                     "--fps", "10", "--model", str(workspace / "model"), "--out", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    frames = read_rgba_video(out)
    assert frames.shape == (10, *SIZE, 4)
    for frame in frames:
        assert frame[:4, :4, 3].max() == 0 and frame[:4, -4:, 3].max() == 0  # background corners
        assert frame[30:38, 28:36, 3].min() == 255  # the face, between the eyes and the mouth


def test_framed_picture_pastes_back_at_full_size(workspace: Path) -> None:
    box = ",".join(f"{value:g}" for value in HEAD)
    common = ["--driving", str(workspace / "talk.csv"), "--fps", "10", "--model", str(workspace / "model")]
    source = workspace / "picture.png"
    out = workspace / "pasted"
    result = run_cli("animate", str(source), *common, "--frame", box, "--paste-back", "--out", str(out))
    assert result.returncode == 0, result.stderr
    picture = np.asarray(Image.open(source))
    paste = PasteBack(picture, frame_source(picture, HeadBox(*HEAD), SIZE))
    left, top, right, bottom = paste.window
    unchanged = np.ones(PICTURE, bool)
    unchanged[top:bottom, left:right] = ~paste.changed
    frames = [np.asarray(Image.open(path)) for path in sorted(out.iterdir())]
    assert len(frames) == 10
    for frame in frames:
        assert frame.shape == (*PICTURE, 3)
        np.testing.assert_array_equal(frame[unchanged], picture[unchanged])  # full resolution outside the head
        assert (frame[~unchanged] != picture[~unchanged]).any()
    video = workspace / "pasted.mp4"
    result = run_cli("animate", str(source), *common, "--frame", box, "--paste-back", "--out", str(video))
    assert result.returncode == 0, result.stderr
    info = probe_video(video)
    assert (info.width, info.height) == (1024, 768)
    assert len(read_video(video)[0]) == 10


@pytest.mark.parametrize(
    "options, message",
    [
        (["--paste-back"], "paste-back needs a framing"),
        (["--frame", "auto"], "needs a transparent (RGBA) picture"),
        (["--frame", "1,2"], "x,y,scale"),
        (["--background", "mauve"], "#RRGGBB"),
    ],
)
def test_option_errors_are_clear(
    workspace: Path, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    args = ["animate", str(workspace / "picture.png"), "--driving", str(workspace / "talk.csv"), *options]
    with contextlib.suppress(SystemExit):  # argparse exits 2 on a bad option value
        assert main([*args, "--model", str(workspace / "model"), "--out", str(workspace / "x.mp4")]) == 2
    assert message in capsys.readouterr().err
    assert not (workspace / "x.mp4").exists()
