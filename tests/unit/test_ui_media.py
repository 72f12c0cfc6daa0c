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
from animeceleb.framing import CANONICAL, draw_guide
from animeceleb.imaging import side_by_side
from animeceleb.safe_paths import app_temp_dir
from animeceleb.ui.media import (
    Limits,
    OutputFolder,
    SourceFraming,
    check_video,
    frames_for,
    label_image,
    load_image,
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


def test_load_image_keeps_transparency(tmp_path: Path) -> None:
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[2:5, 3:6] = (10, 20, 30, 255)
    Image.fromarray(rgba).save(tmp_path / "a.png")
    np.testing.assert_array_equal(load_image(tmp_path / "a.png"), rgba)
    Image.fromarray(rgba[:, :, :3]).save(tmp_path / "b.png")
    assert load_image(tmp_path / "b.png").shape == (10, 12, 3)


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


def transparent_head(size: tuple[int, int], center: tuple[int, int], radius: int) -> np.ndarray:
    """An RGBA picture: a red disc (the head) on a transparent background."""
    ys, xs = np.mgrid[: size[0], : size[1]]
    image = np.zeros((*size, 4), np.uint8)
    image[(xs - center[0]) ** 2 + (ys - center[1]) ** 2 <= radius**2] = (220, 30, 30, 255)
    return image


def test_source_framing_auto_box_zoom_and_offsets() -> None:
    opaque = np.zeros((50, 100, 3), np.uint8)
    crop = SourceFraming().framing(opaque, (32, 32)).crop(opaque)  # an opaque picture: its centred square
    assert crop.shape == (32, 32, 3) and (crop[2:-2, 2:-2] == 0).all()  # (bicubic edges see the white margin)
    picture = transparent_head((120, 200), center=(150, 50), radius=30)
    auto = SourceFraming().head_box(picture)  # from the silhouette
    assert abs(auto.x - 150) <= 1.5
    crop = SourceFraming().framing(picture, (64, 64)).crop(picture)
    assert crop.shape == (64, 64, 4) and crop[0, 0, 3] == 0 and crop[26, 32, 3] == 255  # alpha kept
    moved = SourceFraming(zoom=2.0, offset_x=0.5, offset_y=-0.25).head_box(picture)
    assert moved.scale == pytest.approx(auto.scale / 2)
    assert (moved.x, moved.y) == pytest.approx((auto.x + auto.scale / 2, auto.y - auto.scale / 4))
    box = SourceFraming("box", "150, 50, 30").framing(picture, (64, 64))
    np.testing.assert_allclose(box.to_frame([[150, 50]])[0], np.multiply(CANONICAL.head_center, 64))
    for bad, message in ((SourceFraming("stretch"), "choose one of auto, box"), (SourceFraming("box", "1,2"), "x,y")):
        with pytest.raises(InputError, match=message):
            bad.head_box(picture)


def test_the_guide_marks_what_the_model_sees() -> None:
    picture = transparent_head((120, 200), center=(150, 50), radius=30)
    crop = SourceFraming().framing(picture, (64, 64)).crop(picture)
    guided = draw_guide(crop)
    changed = np.any(guided != crop, axis=2)
    assert changed.sum() > 50 and changed[round(CANONICAL.eye_line * 64)].any()  # the ellipse and the eye line


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
    mixed = side_by_side([left, np.zeros((20, 5, 4), np.uint8)])  # an RGBA image makes the row RGBA, RGB ones opaque
    assert mixed.shape == (20, 15, 4) and (mixed[:, :10, 3] == 255).all() and (mixed[:, 10:, 3] == 0).all()
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
    assert outputs.root.parent == app_temp_dir()  # a folder Gradio may serve (launch's allowed_paths)
