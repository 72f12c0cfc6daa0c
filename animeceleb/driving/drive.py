"""A driving video (or frames) -> one AnimeCeleb pose per frame: track, measure, calibrate, map, smooth."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from animeceleb.driving.landmarks import NUM_LANDMARKS, FaceFeatures, measure_face
from animeceleb.driving.pose_estimation import DriveOptions, PoseEstimator
from animeceleb.driving.tracker import FaceTracker
from animeceleb.driving.video import VideoReader
from animeceleb.errors import InputError

DEFAULT_FPS = 25.0  # used when a video does not state its frame rate

Progress = Callable[[int, int], None]  # (frames done, frames expected or 0 when unknown)


@dataclass(frozen=True)
class DriveResult:
    """Poses driven by a face video.

    Attributes:
        poses: float32 (N, 20), one pose per frame, in ``POSE_NAMES`` order.
        fps: frame rate of the poses (that of the video).
        missing: indices of frames without a face; each holds the pose of the frame before.
        landmarks: float32 (N, 68, 2) pixel landmarks per frame, NaN where no face was found.
        neutral: the neutral face the poses are measured against.
    """

    poses: np.ndarray
    fps: float
    missing: tuple[int, ...]
    landmarks: np.ndarray
    neutral: FaceFeatures


def drive_frames(
    frames: Iterable[np.ndarray],
    fps: float,
    *,
    options: DriveOptions | None = None,
    tracker: FaceTracker | None = None,
    progress: Progress | None = None,
    expected_frames: int = 0,
) -> DriveResult:
    """Poses from consecutive RGB uint8 frames (H, W, 3) of one face; raises ``InputError`` if no frame has one."""
    options = options or DriveOptions()
    tracker = tracker or FaceTracker()
    tracker.reset()
    faces: list[FaceFeatures | None] = []
    landmarks: list[np.ndarray] = []
    for index, frame in enumerate(frames):
        points = tracker.track(frame)
        faces.append(None if points is None else measure_face(points, frame.shape[:2], mirror=options.mirror))
        landmarks.append(np.full((NUM_LANDMARKS, 2), np.nan, np.float32) if points is None else points)
        if progress is not None:
            progress(index + 1, expected_frames)
    found = [face for face in faces if face is not None]
    if not found:
        raise InputError(
            f"no face found in any of the {len(faces)} frames; the driving video needs one clearly visible face, "
            "roughly facing the camera"
        )
    estimator = PoseEstimator(options, fps=fps)
    if options.relative:
        estimator.calibrate(found[: options.calibration_frames])
    poses = np.stack([estimator.update(face) for face in faces])
    missing = tuple(index for index, face in enumerate(faces) if face is None)
    return DriveResult(poses, fps, missing, np.stack(landmarks), estimator.neutral)


def drive_video(
    path: str | Path,
    *,
    options: DriveOptions | None = None,
    tracker: FaceTracker | None = None,
    progress: Progress | None = None,
) -> DriveResult:
    """Poses from a face video file, at the video's frame rate (see ``drive_frames``)."""
    with VideoReader(path) as video:
        fps = video.info.fps or DEFAULT_FPS
        return drive_frames(
            video, fps, options=options, tracker=tracker, progress=progress, expected_frames=video.info.frame_count
        )
