"""Output writers: WebM and GIF keep transparency when read back, mp4 gets the chosen background, PNG frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from animeceleb.driving import probe_video, read_video
from animeceleb.errors import InputError
from animeceleb.inference.outputs import output_format, parse_color, read_rgba_video, write_frames

FPS = 10


def moving_square(count: int = 5, size: tuple[int, int] = (48, 63)) -> list[np.ndarray]:
    """RGBA frames: a green opaque square moving right on a fully transparent (red-coloured) background."""
    frames = []
    for index in range(count):
        frame = np.zeros((*size, 4), np.uint8)
        frame[..., :3] = (200, 30, 30)  # colour under alpha 0 must never show
        frame[12:36, 10 + 2 * index : 34 + 2 * index] = (30, 200, 90, 255)
        frames.append(frame)
    return frames


def assert_transparency_kept(decoded: np.ndarray, frames: list[np.ndarray]) -> None:
    assert decoded.shape == (len(frames), *frames[0].shape)
    for got, want in zip(decoded, frames, strict=True):
        assert got[..., 3][want[..., 3] == 0].max() <= 8  # VP9 is lossy next to the edges
        assert got[:8, :, 3].max() == 0 and got[40:, :, 3].max() == 0  # exactly transparent away from them
        assert got[14:34, 20:32, 3].min() == 255  # well inside the square in every frame
        assert np.abs(got[20, 22, :3].astype(int) - (30, 200, 90)).max() <= 4


def test_webm_keeps_alpha(tmp_path: Path) -> None:
    frames = moving_square()
    path = write_frames(tmp_path / "out.webm", frames, FPS)
    info = probe_video(path)
    assert info.codec.startswith("vp9") and (info.width, info.height) == (63, 48)
    assert_transparency_kept(read_rgba_video(path), frames)


def test_gif_keeps_transparency(tmp_path: Path) -> None:
    frames = moving_square()
    path = write_frames(tmp_path / "out.gif", frames, FPS)
    with Image.open(path) as gif:
        assert gif.n_frames == len(frames) and gif.info["duration"] == 1000 // FPS
        decoded = []
        for index in range(gif.n_frames):
            gif.seek(index)
            decoded.append(np.asarray(gif.convert("RGBA")))
    assert_transparency_kept(np.stack(decoded), frames)


def test_mp4_gets_the_background_colour(tmp_path: Path) -> None:
    path = write_frames(tmp_path / "out.mp4", moving_square(), FPS, background=parse_color("green"))
    decoded, info = read_video(path)
    assert (info.codec, info.width, info.height) == ("h264", 64, 48)  # padded to even for yuv420p
    assert np.abs(decoded[:, 2, 2].astype(int) - (0, 177, 64)).max() <= 6
    assert np.abs(decoded[:, 24, 22].astype(int) - (30, 200, 90)).max() <= 6


def test_png_frames_are_exact(tmp_path: Path) -> None:
    frames = moving_square(3)
    folder = write_frames(tmp_path / "frames", frames, FPS)
    names = sorted(path.name for path in folder.iterdir())
    assert names == ["00000.png", "00001.png", "00002.png"]
    for name, frame in zip(names, frames, strict=True):
        np.testing.assert_array_equal(np.asarray(Image.open(folder / name)), frame)


def test_formats_and_colours() -> None:
    assert [output_format(name) for name in ("a.mp4", "a.WEBM", "a.gif", "frames")] == ["mp4", "webm", "gif", "png"]
    assert output_format("a.mp4", "gif") == "gif"
    assert [parse_color(text) for text in ("white", "#00FF10", "1, 2, 3")] == [(255, 255, 255), (0, 255, 16), (1, 2, 3)]
    with pytest.raises(InputError, match="mp4, webm, gif, png"):
        output_format("a.avi")
    with pytest.raises(InputError, match="#RRGGBB"):
        parse_color("300,0,0")
    with pytest.raises(InputError, match="no frames"):
        write_frames("x.webm", [], FPS)
