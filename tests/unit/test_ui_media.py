"""The app's upload guards and image/video helpers (no Gradio, no server)."""

from __future__ import annotations

import os
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from animeceleb.errors import InputError
from animeceleb.ui.media import (
    Limits,
    OutputFolder,
    check_video,
    frame_image,
    frames_for,
    label_image,
    load_image,
    side_by_side,
)
from tests.conftest import REPO_ROOT

DRIVING = REPO_ROOT / "examples" / "driving_astronaut.mp4"


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width`` x ``height`` pixels but holds almost no data (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    )
    return path


def garbage(path: Path) -> Path:
    """A file with an image name and no image inside."""
    path.write_bytes(b"not an image at all")
    return path


def test_load_image_composites_transparency_on_white(tmp_path: Path) -> None:
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[2:5, 3:6] = (10, 20, 30, 255)
    Image.fromarray(rgba).save(tmp_path / "a.png")
    image = load_image(tmp_path / "a.png")
    assert image.shape == (10, 12, 3) and image.dtype == np.uint8
    assert (image[0, 0] == 255).all() and tuple(image[3, 4]) == (10, 20, 30)


def test_load_image_applies_exif_rotation_and_grey(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.new("L", (40, 20), 128).save(tmp_path / "rotated.jpg", exif=exif)
    image = load_image(tmp_path / "rotated.jpg")
    assert image.shape == (40, 20, 3)


@pytest.mark.parametrize(
    ("make", "limits", "message"),
    [
        (lambda folder: folder / "missing.png", Limits(), "source image not found"),
        (lambda folder: garbage(folder / "x.png"), Limits(), "cannot read x.png"),
        (lambda folder: png_header_only(folder / "big.png", 40, 40), Limits(max_image_pixels=1000), "40x40 pixels"),
        (lambda folder: png_header_only(folder / "bomb.png", 30000, 30000), Limits(), "the limit is 25 megapixels"),
        (lambda folder: png_header_only(folder / "heavy.png", 4, 4), Limits(max_file_mb=1e-5), "the limit is 1e-05 MB"),
    ],
)
def test_load_image_refuses_bad_files_with_a_reason(make, limits: Limits, message: str, tmp_path: Path) -> None:  # noqa: ANN001
    with pytest.raises(InputError, match=message):  # refused from the header: the 900 MP "bomb" is never decoded
        load_image(make(tmp_path), limits)


def test_load_image_without_a_file_says_to_upload() -> None:
    with pytest.raises(InputError, match="upload one first"):
        load_image(None)


def test_frame_image_crops_or_pads_to_the_model_size() -> None:
    wide = np.zeros((50, 100, 3), np.uint8)
    cropped, padded = frame_image(wide, (32, 32), "crop"), frame_image(wide, (32, 32), "pad")
    assert cropped.shape == padded.shape == (32, 32, 3)
    assert (cropped == 0).all()  # the centre of a black image
    assert (padded[0] == 255).all() and (padded[16] == 0).all()  # white bands above and below
    assert frame_image(np.zeros((64, 64, 3), np.uint8), (64, 64)).shape == (64, 64, 3)
    with pytest.raises(InputError, match="choose one of crop, pad"):
        frame_image(wide, (32, 32), "stretch")


def test_check_video_limits(tmp_path: Path) -> None:
    assert check_video(DRIVING).duration == pytest.approx(3.0)
    with pytest.raises(InputError, match="the limit is 1 s"):
        check_video(DRIVING, Limits(max_video_seconds=1))
    with pytest.raises(InputError, match="largest side may be 100 pixels"):
        check_video(DRIVING, Limits(max_video_side=100))
    Image.new("RGB", (16, 16)).save(tmp_path / "still.png")
    with pytest.raises(InputError, match="still image, not a video"):
        check_video(tmp_path / "still.png")
    (tmp_path / "broken.mp4").write_bytes(b"\x00" * 100)
    with pytest.raises(InputError, match="cannot read"):
        check_video(tmp_path / "broken.mp4")


def test_frames_for_refuses_too_many_frames() -> None:
    assert frames_for(2.0, 25.0) == 50
    with pytest.raises(InputError, match="the limit is 10"):
        frames_for(1.0, 25.0, Limits(max_video_frames=10))


def test_side_by_side_and_labels() -> None:
    left, right = np.zeros((20, 10, 3), np.uint8), np.full((40, 40, 3), 255, np.uint8)
    assert side_by_side([left, right]).shape == (20, 30, 3)
    assert side_by_side([left, right], height=40).shape == (40, 60, 3)
    labelled = label_image(right, "model")
    assert labelled.shape[1:] == (40, 3) and labelled.shape[0] > 40
    assert (labelled[: labelled.shape[0] - 40] < 255).any()  # the caption is drawn


def test_output_folder_prunes_old_files() -> None:
    outputs = OutputFolder(max_age_s=60)
    old = outputs.new_path(".mp4")
    old.write_bytes(b"x")
    os.utime(old, (time.time() - 120, time.time() - 120))
    new = outputs.new_path(".gif")
    assert new.suffix == ".gif" and new.parent == outputs.root and not old.exists()
