"""Video files through the real ffmpeg: browser-playable h264 output, audio copy, clear errors for bad input."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from animeceleb.driving.video import VideoReader, probe_video, read_video, write_video
from animeceleb.errors import InputError

pytestmark = pytest.mark.timeout(120)


def gradient_frames(count: int, height: int, width: int) -> list[np.ndarray]:
    """Smooth moving colour gradients (compress well, so decoded values stay close)."""
    y, x = np.mgrid[0:height, 0:width]
    return [
        np.stack([(x * 255 // width + 8 * i) % 256, y * 255 // height, np.full_like(x, 128)], axis=-1).astype(np.uint8)
        for i in range(count)
    ]


def ffmpeg(*args: str) -> None:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", *args], check=True, timeout=60)


@pytest.fixture(scope="module")
def talking_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-second mp4 with a 440 Hz tone (made by ffmpeg itself)."""
    path = tmp_path_factory.mktemp("audio") / "talking.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "color=c=blue:s=64x48:r=25:d=2",
        "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path),
    )  # fmt: skip
    return path


def test_written_video_is_browser_playable_h264_with_even_size(tmp_path: Path) -> None:
    frames = gradient_frames(12, 49, 65)  # odd sizes
    path = write_video(tmp_path / "out" / "clip.mp4", frames, fps=12)
    info = probe_video(path)
    assert (info.codec, info.pix_fmt, info.width, info.height, info.fps) == ("h264", "yuv420p", 66, 50, 12.0)
    assert not info.has_audio
    data = path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # faststart: playback starts before the download ends
    decoded, _ = read_video(path)
    assert decoded.shape == (12, 50, 66, 3)
    assert np.abs(decoded[:, :49, :65].astype(int) - np.stack(frames)).mean() < 4
    padding = decoded[:, 49, :65].astype(int) - decoded[:, 48, :65]
    assert np.abs(padding).mean() < 3  # the padding row repeats the last row (up to compression)


@pytest.mark.parametrize("seconds", [1.0, 3.0])
def test_audio_is_copied_from_the_source_video(tmp_path: Path, talking_clip: Path, seconds: float) -> None:
    """The 2 s of audio are cut to 1 s of frames, or padded to 3 s: the frames decide the length."""
    assert probe_video(talking_clip).has_audio
    frames = gradient_frames(round(25 * seconds), 48, 64)
    path = write_video(tmp_path / "dubbed.mp4", frames, fps=25, audio_from=talking_clip)
    info = probe_video(path)
    assert info.has_audio and info.codec == "h264"
    assert info.duration == pytest.approx(seconds, abs=0.15)
    assert len(read_video(path)[0]) == len(frames)


def test_a_source_without_audio_gives_a_silent_video(tmp_path: Path) -> None:
    silent = write_video(tmp_path / "silent.mp4", gradient_frames(5, 32, 32), fps=10)
    path = write_video(tmp_path / "copy.mp4", gradient_frames(5, 32, 32), fps=10, audio_from=silent)
    assert not probe_video(path).has_audio


def test_reader_yields_frames_and_info(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.mp4", gradient_frames(7, 32, 48), fps=7)
    with VideoReader(path) as video:
        assert (video.info.width, video.info.height, video.info.frame_count) == (48, 32, 7)
        frames = list(video)
        with pytest.raises(InputError, match="already read"):
            list(video)
    assert len(frames) == 7 and frames[0].shape == (32, 48, 3) and frames[0].dtype == np.uint8
    first, _ = read_video(path, max_frames=2)
    assert first.shape[0] == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "cannot read"), (b"\x00\x01garbage" * 500, "cannot read"), (None, "video not found")],
)
def test_unreadable_videos_are_clear_errors(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "bad.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_video(path)


def test_an_audio_only_file_is_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "tone.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=0.5", "-c:a", "aac", str(path))
    with pytest.raises(InputError, match="cannot read"):
        probe_video(path)


def test_a_truncated_video_fails_clearly(tmp_path: Path) -> None:
    whole = write_video(tmp_path / "whole.mp4", gradient_frames(30, 64, 64), fps=30).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError, match="cut.mp4"):
        read_video(cut)


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        ([], "no frames"),
        ([np.zeros((8, 8), np.uint8)], "RGB uint8"),
        ([np.zeros((8, 8, 3), np.float32)], "RGB uint8"),
        ([np.zeros((8, 8, 3), np.uint8), np.zeros((8, 10, 3), np.uint8)], "size of the first"),
    ],
)
def test_bad_frames_are_refused_and_leave_no_file(tmp_path: Path, frames: list, message: str) -> None:
    path = tmp_path / "bad.mp4"
    with pytest.raises(InputError, match=message):
        write_video(path, frames, fps=10)
    assert not path.exists()
