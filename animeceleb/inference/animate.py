"""Animate a source image with a driving face video or a pose CSV into a video file (the ``animate`` command).

Face video -> poses (``animeceleb.driving``) -> ``Animator`` -> frames -> mp4, WebM, GIF or PNG frames, optionally
side by side with the driving video and keeping its audio. FOMM is driven by the video frames themselves. A portrait
that is not framed like the training data is first cropped to the canonical framing (``animeceleb.framing``), and
the animated head can be pasted back into the full picture. Transparent sources give transparent results.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np

from animeceleb import imaging
from animeceleb.driving import DriveOptions, FaceTracker, VideoReader, drive_video, read_pose_csv
from animeceleb.errors import InputError
from animeceleb.framing import HeadBox, PasteBack, frame_source
from animeceleb.imaging import WHITE, Color
from animeceleb.inference.animator import Animator
from animeceleb.inference.outputs import write_frames

DEFAULT_CSV_FPS = 25.0
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class AnimationResult:
    """What ``animate_file`` wrote: the file (or PNG folder), frame count and frame rate, and frames without a face."""

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
    backend: str = "dlib",
    device: str = "cpu",
    progress: Progress | None = None,
    format: str | None = None,
    background: Color = WHITE,
    frame: HeadBox | Literal["auto"] | None = None,
    paste_back: bool = False,
) -> AnimationResult:
    """Animate ``source`` (uint8 H x W x 3/4) with ``driving`` (a face video, or a pose CSV) into ``out``.

    ``format`` (mp4, webm, gif, png; default from the suffix of ``out``) and ``background`` (the colour under
    transparent areas in an mp4) choose the output. ``frame`` first crops the source to the canonical framing, by a
    head box or ``"auto"`` (from the alpha channel); ``paste_back`` then puts each animated crop back into the
    full picture, so the result has the picture's size. A face video driving a pose model is tracked with
    ``FaceTracker(backend, device=device)``; nothing else needs a tracker (nor dlib).
    """
    driving = Path(driving)
    is_csv = _is_pose_csv(driving)
    if side_by_side and is_csv:
        raise InputError("--side-by-side needs a driving video, not a pose CSV")
    if paste_back and frame is None:
        raise InputError("paste-back needs a framing: give a head box (x,y,scale) or 'auto'")
    picture = source
    if frame is not None:
        framing = frame_source(source, None if frame == "auto" else frame, animator.image_size)
        source = framing.crop(source)
    animator.prepare(source)
    frames, rate, total, missing = _driven_frames(animator, driving, fps, options, backend, device, progress)
    if paste_back:
        frames = map(PasteBack(picture, framing), frames)
    beside = driving if side_by_side else None
    audio = None if is_csv else driving
    result = write_animation(
        frames,
        out,
        total=total,
        fps=rate,
        format=format,
        background=background,
        audio_from=audio,
        beside=beside,
        progress=progress,
    )
    return replace(result, missing=missing)


def _is_pose_csv(driving: Path) -> bool:
    """True when ``driving`` names a pose CSV rather than a face video (by its suffix)."""
    return driving.suffix.lower() == ".csv"


def _driven_frames(
    animator: Animator,
    driving: Path,
    fps: float | None,
    options: DriveOptions | None,
    backend: str,
    device: str,
    progress: Progress | None,
) -> tuple[Iterator[np.ndarray], float, int, tuple[int, ...]]:
    """The animated frames for a driving video or pose CSV: (frames, fps, frame count, frames without a face)."""
    if animator.drives_with_frames:
        if _is_pose_csv(driving):
            raise InputError("FOMM is driven by video frames; give a driving video, not a pose CSV")
        with VideoReader(driving) as video:
            rate, total = video.info.fps or DEFAULT_CSV_FPS, video.info.frame_count
        return animator.frames(_video_frames(driving)), rate, total, ()
    if _is_pose_csv(driving):
        poses = read_pose_csv(driving)
        return animator.frames(poses), fps or DEFAULT_CSV_FPS, len(poses), ()
    tracker = FaceTracker(backend, device=device)
    result = drive_video(driving, options=options, tracker=tracker, progress=progress)
    return animator.frames(result.poses), result.fps, len(result.poses), result.missing


def write_animation(
    frames: Iterable[np.ndarray],
    out: str | Path,
    *,
    total: int,
    fps: float,
    format: str | None = None,
    background: Color = WHITE,
    audio_from: str | Path | None = None,
    beside: str | Path | None = None,
    progress: Progress | None = None,
) -> AnimationResult:
    """Write ``total`` animated frames to ``out`` (``write_frames``'s formats), reporting progress per frame.

    ``beside`` (a video) puts each frame to the right of that video's matching frame, scaled to the same height.
    """
    if beside is not None:
        driving = _video_frames(Path(beside))
        frames = (
            imaging.side_by_side([left, right], right.shape[0]) for left, right in zip(driving, frames, strict=False)
        )
    count = _Counter(frames, total, progress)
    path = write_frames(out, count, fps, format=format, background=background, audio_from=audio_from)
    return AnimationResult(path, count.done, fps)


def _video_frames(path: Path) -> Iterator[np.ndarray]:
    with VideoReader(path) as video:
        yield from video


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
