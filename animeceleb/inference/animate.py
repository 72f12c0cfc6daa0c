"""Animate a source image with a driving face video or a pose CSV into an h264 mp4 (the ``animate`` command).

Face video -> poses (``animeceleb.driving``) -> ``Animator`` -> frames -> mp4, optionally side by side with the
driving video and keeping its audio. FOMM is driven by the video frames themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from animeceleb.driving import DriveOptions, FaceTracker, VideoReader, drive_video, read_pose_csv, write_video
from animeceleb.errors import InputError
from animeceleb.inference.animator import Animator

DEFAULT_CSV_FPS = 25.0
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class AnimationResult:
    """What ``animate_file`` wrote: the video path, frame count and frame rate, and frames without a face."""

    path: Path
    frames: int
    fps: float
    missing: tuple[int, ...] = ()


def animate_file(
    animator: Animator,
    source: np.ndarray,
    driving: str | Path,
    out: str | Path,
    *,
    side_by_side: bool = False,
    fps: float | None = None,
    options: DriveOptions | None = None,
    tracker: FaceTracker | None = None,
    progress: Progress | None = None,
) -> AnimationResult:
    """Animate ``source`` (uint8 H x W x 3/4) with ``driving`` (a face video, or a pose CSV) into the mp4 ``out``."""
    driving = Path(driving)
    is_csv = driving.suffix.lower() == ".csv"
    if side_by_side and is_csv:
        raise InputError("--side-by-side needs a driving video, not a pose CSV")
    animator.prepare(source)
    missing: tuple[int, ...] = ()
    if animator.drives_with_frames:
        if is_csv:
            raise InputError("FOMM is driven by video frames; give a driving video, not a pose CSV")
        with VideoReader(driving) as video:
            rate, total = video.info.fps or DEFAULT_CSV_FPS, video.info.frame_count
        frames = animator.frames(_video_frames(driving))
    else:
        if is_csv:
            poses, rate = read_pose_csv(driving), fps or DEFAULT_CSV_FPS
        else:
            result = drive_video(driving, options=options, tracker=tracker, progress=progress)
            poses, rate, missing = result.poses, result.fps, result.missing
        total = len(poses)
        frames = animator.frames(poses)
    if side_by_side:
        frames = (
            np.concatenate([_fit_height(left, right.shape[0]), right], axis=1)
            for left, right in zip(_video_frames(driving), frames, strict=False)
        )
    count = _Counter(frames, total, progress)
    path = write_video(out, count, rate, audio_from=None if is_csv else driving)
    return AnimationResult(path, count.done, rate, missing)


def _video_frames(path: Path) -> Iterator[np.ndarray]:
    with VideoReader(path) as video:
        yield from video


def _fit_height(frame: np.ndarray, height: int) -> np.ndarray:
    width = max(2, round(frame.shape[1] * height / frame.shape[0]))
    return np.asarray(Image.fromarray(frame).resize((width, height), Image.Resampling.BILINEAR))


class _Counter:
    """Pass frames through, counting them and reporting progress."""

    def __init__(self, frames: Iterable[np.ndarray], total: int, progress: Progress | None) -> None:
        self.frames, self.total, self.progress, self.done = frames, total, progress, 0

    def __iter__(self) -> Iterator[np.ndarray]:
        for frame in self.frames:
            self.done += 1
            if self.progress is not None:
                self.progress(self.done, self.total)
            yield frame
