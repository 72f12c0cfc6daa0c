"""Read and write video files with the ffmpeg binary shipped by imageio-ffmpeg (no system ffmpeg needed).

Generic on purpose: face driving, the ``animate`` command and the app all decode with ``VideoReader`` and encode with
``write_video`` (h264, yuv420p, even sizes, ``+faststart``: plays in every browser; audio copied from a source).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from animeceleb.errors import InputError

logger = logging.getLogger(__name__)

H264_OPTIONS = ["-movflags", "+faststart", "-preset", "veryfast"]  # moov atom first: browsers start playing at once
AUDIO_TO_VIDEO_LENGTH = ["-af", "apad", "-shortest"]  # pad short audio with silence, cut long audio: video decides


@dataclass(frozen=True)
class VideoInfo:
    """What ffmpeg reports about a video file.

    Attributes:
        width, height: frame size in pixels, as decoded (rotation metadata applied).
        fps: frames per second (0 when the container does not say).
        duration: seconds (0 when unknown).
        codec: video codec name, e.g. ``h264``.
        pix_fmt: stored pixel format, e.g. ``yuv420p``.
        has_audio: whether the file has an audio stream.
    """

    width: int
    height: int
    fps: float
    duration: float
    codec: str
    pix_fmt: str
    has_audio: bool

    @property
    def frame_count(self) -> int:
        """Frames expected from fps x duration (an estimate for progress bars; 0 when unknown)."""
        return round(self.fps * self.duration)


class VideoReader:
    """The frames of a video file, decoded lazily: ``with VideoReader(path) as video: for frame in video: ...``.

    Frames are read-only RGB uint8 arrays (H, W, 3), in one pass. A file that is missing, not a video or corrupt
    raises ``InputError``, at opening or at the first frame that cannot be decoded.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"video not found: {self.path}")
        self._frames = imageio_ffmpeg.read_frames(str(self.path))
        self._started = False
        try:
            self.info = _video_info(next(self._frames))
        except (OSError, RuntimeError, IndexError, KeyError, ValueError, AttributeError, StopIteration) as error:
            self.close()
            raise InputError(
                f"cannot read {self.path} as a video (corrupt or not a video file): {_first_line(error)}"
            ) from None

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._started:
            raise InputError(f"{self.path} was already read; open a new VideoReader to read it again")
        self._started = True
        shape = (self.info.height, self.info.width, 3)
        index = 0
        try:
            for buffer in self._frames:
                yield np.frombuffer(buffer, dtype=np.uint8).reshape(shape)
                index += 1
        except (OSError, RuntimeError) as error:
            raise InputError(
                f"cannot decode frame {index} of {self.path} (corrupt video): {_first_line(error)}"
            ) from None
        if index == 0:
            raise InputError(f"{self.path} has no decodable video frames")

    def close(self) -> None:
        """Stop the ffmpeg process."""
        self._frames.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _video_info(meta: dict) -> VideoInfo:
    width, height = meta["size"]  # of ffmpeg's output stream, so rotation metadata is already applied
    return VideoInfo(
        width=int(width),
        height=int(height),
        fps=float(meta.get("fps") or 0.0),
        duration=float(meta.get("duration") or 0.0),
        codec=str(meta.get("codec", "")),
        pix_fmt=str(meta.get("pix_fmt", "")).split("(")[0],
        has_audio="audio_codec" in meta,
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def probe_video(path: str | Path) -> VideoInfo:
    """Size, fps, duration, codec and audio presence of a video, without decoding frames."""
    with VideoReader(path) as video:
        return video.info


def read_video(path: str | Path, *, max_frames: int | None = None) -> tuple[np.ndarray, VideoInfo]:
    """All frames (or the first ``max_frames``) of a short video as one uint8 array (N, H, W, 3), plus its info."""
    frames = []
    with VideoReader(path) as video:
        for frame in video:
            frames.append(frame)
            if max_frames is not None and len(frames) >= max_frames:
                break
        return np.stack(frames), video.info


def write_video(
    path: str | Path, frames: Iterable[np.ndarray], fps: float, *, audio_from: str | Path | None = None
) -> Path:
    """Encode RGB uint8 frames (H, W, 3) as a browser-playable h264 mp4 and return its path.

    Odd sizes are padded by one replicated row/column (yuv420p needs even sizes). With ``audio_from``, the audio
    of that video (if it has any) is re-encoded to AAC and cut (or padded with silence) to the length of the frames.
    """
    if fps <= 0:
        raise InputError(f"fps must be positive; got {fps}")
    path = Path(path)
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        raise InputError("no frames to write")
    height, width = _check_frame(first, None).shape[:2]
    audio = Path(audio_from) if audio_from is not None and probe_video(audio_from).has_audio else None
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = imageio_ffmpeg.write_frames(
        str(path),
        (width + width % 2, height + height % 2),
        fps=float(fps),
        codec="libx264",
        pix_fmt_out="yuv420p",
        macro_block_size=1,
        ffmpeg_log_level="error",
        output_params=H264_OPTIONS + (AUDIO_TO_VIDEO_LENGTH if audio else []),
        audio_path=str(audio) if audio else None,
        audio_codec="aac" if audio else None,
    )
    writer.send(None)
    try:
        writer.send(_even(first))
        for frame in frames:
            writer.send(_even(_check_frame(frame, (height, width))))
    except BaseException:
        writer.close()
        path.unlink(missing_ok=True)  # never leave a truncated file behind
        raise
    writer.close()
    logger.info("wrote %s (%dx%d, %.3g fps, audio: %s)", path, width, height, fps, audio is not None)
    return path


def _check_frame(frame: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise InputError(f"video frames must be RGB uint8 arrays (H, W, 3); got {frame.dtype} {frame.shape}")
    if size is not None and frame.shape[:2] != size:
        raise InputError(f"all frames must have the size of the first, {size}; got {frame.shape[:2]}")
    return frame


def _even(frame: np.ndarray) -> np.ndarray:
    height, width = frame.shape[:2]
    if height % 2 or width % 2:
        frame = np.pad(frame, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
    return np.ascontiguousarray(frame)
