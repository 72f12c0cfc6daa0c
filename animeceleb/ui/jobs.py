"""The work behind the app's tabs, Gradio-free: driving videos to poses, poses to clips, comparison grids.

Handlers convert widget values and call these; tests and scripts can call them directly. Clips are written by the
pipeline's ``animeceleb.inference.animate.write_animation`` (the ``animate`` command's writer); rendering streams
frames to the encoder, so memory stays bounded by the GIF preview (at most ``MAX_GIF_FRAMES`` frames).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from animeceleb.data import SyntheticCharacter, load_animeceleb, render, sample_poses
from animeceleb.driving import DriveOptions, VideoReader, drive_frames
from animeceleb.driving.drive import DEFAULT_FPS
from animeceleb.errors import InputError
from animeceleb.framing import Framing, centred_box
from animeceleb.imaging import WHITE, Color, side_by_side
from animeceleb.inference import Animator
from animeceleb.inference.animate import write_animation
from animeceleb.inference.outputs import write_gif
from animeceleb.pose import MORPH_NAMES
from animeceleb.safe_paths import data_roots, safe_path
from animeceleb.ui.media import LIMITS, Limits, OutputFolder, check_video, label_image

SYNTHETIC = "synthetic"  # the Dataset tab's choice of freshly drawn synthetic samples
MAX_GIF_FRAMES = 250  # a GIF holds every frame in memory: longer clips get a GIF of their start only

Progress = Callable[[int, int, str], None]  # (done, total, what is being done)


@dataclass(frozen=True)
class Clip:
    """A rendered animation.

    Attributes:
        video: mp4 (h264, on a background colour) or WebM (VP9 with alpha) path, with the driving video's audio.
        gif: looping GIF (transparent where the frames are) of the first ``MAX_GIF_FRAMES`` frames, or ``None``.
        frames: number of frames in the video.
        fps: frame rate.
    """

    video: Path
    gif: Path | None
    frames: int
    fps: float


@dataclass(frozen=True)
class VideoDriving:
    """How a driving video becomes poses (see ``animeceleb.driving.DriveOptions``).

    Attributes:
        relative: motion relative to the driver's first frames (else absolute, against a typical face).
        smoothing: One Euro smoothing strength in [0, 1].
        expression_gain: multiplier of every expression morph (head angles keep 1).
        max_seconds: only this many seconds from the start of the video are used.
    """

    relative: bool = True
    smoothing: float = 0.5
    expression_gain: float = 1.0
    max_seconds: float = 10.0

    def options(self) -> DriveOptions:
        """The driving module's options for these settings."""
        gains = {name: self.expression_gain for name in MORPH_NAMES}
        return DriveOptions(relative=self.relative, smooth=self.smoothing, gains=gains)


def drive_poses(
    video: str | Path, driving: VideoDriving, *, limits: Limits = LIMITS, progress: Progress | None = None
) -> tuple[np.ndarray, float]:
    """Poses (N, 20) from the face in a driving video, and their frame rate; ``InputError`` if there is no face."""
    count, fps = _frame_budget(video, driving.max_seconds, limits)
    track = None if progress is None else lambda done, _: progress(done, count, "tracking the face")
    with VideoReader(video) as reader:
        frames = itertools.islice(reader, count)
        result = drive_frames(frames, fps, options=driving.options(), progress=track, expected_frames=count)
    return result.poses, fps


def driving_frames(
    video: str | Path, size: tuple[int, int], *, max_seconds: float, limits: Limits = LIMITS
) -> tuple[list[np.ndarray], float]:
    """The first frames of a driving video, their centred square resized to ``size`` (for models driven by frames,
    like FOMM)."""
    count, fps = _frame_budget(video, max_seconds, limits)
    with VideoReader(video) as reader:
        frames = list(itertools.islice(reader, count))
    framing = Framing.from_box(centred_box(frames[0].shape[:2]), frames[0].shape[:2], size)
    return [framing.crop(frame) for frame in frames], fps


def drive(
    animator: Animator,
    video: str | Path,
    driving: VideoDriving,
    *,
    limits: Limits = LIMITS,
    progress: Progress | None = None,
) -> tuple[np.ndarray | list[np.ndarray], float]:
    """What drives ``animator`` from a video: poses from the face, or the frames themselves (FOMM); and the fps."""
    if animator.drives_with_frames:
        return driving_frames(video, animator.image_size, max_seconds=driving.max_seconds, limits=limits)
    return drive_poses(video, driving, limits=limits, progress=progress)


def _frame_budget(video: str | Path, max_seconds: float, limits: Limits) -> tuple[int, float]:
    """(frames to read, fps) for the first ``max_seconds`` of a checked video."""
    info = check_video(video, limits)
    fps = info.fps or DEFAULT_FPS
    seconds = min(max_seconds, info.duration or max_seconds)
    return max(1, min(round(seconds * fps), limits.max_video_frames)), fps


def encode_clip(
    frames: Iterator[np.ndarray],
    count: int,
    fps: float,
    outputs: OutputFolder,
    *,
    video_format: str = "mp4",
    background: Color = WHITE,
    audio_from: str | Path | None = None,
    beside: str | Path | None = None,
    use_gif: bool = True,
    progress: Progress | None = None,
) -> Clip:
    """Encode ``count`` frames as an mp4 (transparency on ``background``) or a WebM with alpha, with the audio of
    ``audio_from`` and beside the frames of the video ``beside``, if given; optionally a GIF preview of the start."""
    gif_frames: list[np.ndarray] = []
    if use_gif:
        frames = _keeping(frames, gif_frames, MAX_GIF_FRAMES)
    report = None if progress is None else lambda done, total: progress(done, total, "rendering")
    path = outputs.new_path(f".{video_format}")
    written = write_animation(
        frames,
        path,
        total=count,
        fps=fps,
        format=video_format,
        background=background,
        audio_from=audio_from,
        beside=beside,
        progress=report,
    )
    gif = write_gif(outputs.new_path(".gif"), gif_frames, fps) if use_gif else None
    return Clip(written.path, gif, written.frames, fps)


def _keeping(frames: Iterator[np.ndarray], kept: list[np.ndarray], limit: int) -> Iterator[np.ndarray]:
    for frame in frames:
        if len(kept) < limit:
            kept.append(frame)
        yield frame


def comparison_drivings(
    animators: Sequence[tuple[str, Animator]],
    *,
    poses: np.ndarray | None = None,
    fps: float = DEFAULT_FPS,
    video: str | Path | None = None,
    driving: VideoDriving | None = None,
    progress: Progress | None = None,
) -> tuple[list[tuple[str, Animator, np.ndarray | list[np.ndarray]]], float]:
    """(label, animator, driving) for each model, and the fps: ``poses`` at ``fps`` drive pose models, else the
    face in ``video`` does (tracked once); models driven by frames (FOMM) get the video's frames."""
    driving = driving or VideoDriving()
    entries = []
    for label, animator in animators:
        if animator.drives_with_frames:
            if video is None:
                raise InputError(f"{label} is driven by a face video, not poses: compare it on the driving video")
            frames, fps = driving_frames(video, animator.image_size, max_seconds=driving.max_seconds)
            entries.append((label, animator, frames))
            continue
        if poses is None:
            poses, fps = drive_poses(video, driving, progress=progress)
        entries.append((label, animator, poses))
    return entries, fps


def comparison_frames(
    entries: Sequence[tuple[str, Animator, np.ndarray | list[np.ndarray]]],
) -> Iterator[np.ndarray]:
    """Frames with each (label, animator, driving) result side by side under its label."""
    streams = [animator.frames(driving) for _, animator, driving in entries]
    labels = [label for label, _, _ in entries]
    for results in zip(*streams, strict=True):
        yield side_by_side([label_image(image, label) for label, image in zip(labels, results, strict=True)])


def dataset_choices() -> list[str]:
    """What the Dataset tab can browse: synthetic samples, and the folders listed in ``ANIMECELEB_DATA_ROOTS``."""
    return [SYNTHETIC, *(str(root) for root in data_roots())]


@functools.lru_cache(maxsize=4)
def _dataset(root: str):  # noqa: ANN202 (a datasets.Dataset)
    return load_animeceleb(root, split="all", verify_files=False)


def dataset_samples(source: str, count: int, seed: int | None) -> list[dict]:
    """``count`` random samples of a dataset choice, each ``{"pose": [...20], ...}`` plus what redraws its image.

    A dataset folder must lie inside ``ANIMECELEB_DATA_ROOTS`` (``safe_paths.safe_path``): anything else, ``..``
    or a symbolic link out of a root included, is refused with ``PathRefused``.
    """
    rng = np.random.default_rng(seed)
    if source == SYNTHETIC:
        poses = sample_poses(rng, count)
        return [{"character": SyntheticCharacter.random(rng).to_dict(), "pose": pose.tolist()} for pose in poses]
    root = str(safe_path(source, data_roots()))
    table = _dataset(root)
    rows = rng.choice(len(table), size=min(count, len(table)), replace=False)
    return [{"root": root, "row": int(row), "pose": list(table[int(row)]["pose"])} for row in rows]


def sample_image(sample: dict, size: int = 256) -> np.ndarray:
    """The RGB image (uint8) of a sample from ``dataset_samples``; synthetic ones are drawn at ``size``."""
    if "character" in sample:
        return render(SyntheticCharacter.from_dict(sample["character"]), sample["pose"], size)
    return np.asarray(_dataset(sample["root"])[sample["row"]]["image"].convert("RGB"))
