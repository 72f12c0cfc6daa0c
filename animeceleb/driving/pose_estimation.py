"""Face measurements -> the 20-d AnimeCeleb pose (SPEC 0.3), with neutral calibration, gains and smoothing.

Relative mode (default, like LivePortrait's relative motion): every measurement is taken relative to the driver's
own neutral face, the median of the first frames, so a person who squints or smiles at rest still drives a neutral
character, and the head angles start at zero. Absolute mode compares against a typical adult face instead
(``ABSOLUTE_NEUTRAL``) and keeps the measured head angles.

Which eye is which: the character copies the driving video as seen, like the head angles of SPEC 0.3 (a face that
turns toward the image's left turns the character toward the image's left). The character faces the viewer, so its
left eye is on the image's right, where the driver's own left eye is in an unmirrored camera frame: the driver's left
eye drives ``eye_close_left``. For a mirrored selfie view, set ``mirror=True``: yaw, roll and the eyes then flip.

The mapping from measurements to morphs is a heuristic of this project (the official system has none): eye closing
and widening from the eye aspect ratio, brows from their height above the eyes, and the mouth shapes a/i/u/e/o plus a
closed smile from the mouth's opening and width, as soft weights over prototype shapes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from animeceleb.driving.landmarks import FaceFeatures
from animeceleb.driving.smoothing import filter_for_strength
from animeceleb.errors import InputError
from animeceleb.pose import ANGLE_LIMIT, ANGLE_NAMES, ANGLE_RANGE, ANGLES, MORPHS, POSE_DIM, pose_index

# A typical adult face at rest, looking at the camera (lengths in mm of the generic face).
ABSOLUTE_NEUTRAL = FaceFeatures(
    head_pitch=0.0,
    head_roll=0.0,
    head_yaw=0.0,
    eye_open_left=0.28,
    eye_open_right=0.28,
    brow_height=17.0,
    mouth_open=1.0,
    mouth_width=52.0,
)

EYE_CLOSE_RAMP = (0.15, 0.65)  # fraction of the neutral eye opening lost: starts closing, fully closed
EYE_WIDE_RAMP = (0.15, 0.5)  # fraction gained over the neutral opening: starts widening, fully wide
BROW_UP_RAMP = (1.0, 5.0)  # mm above the neutral brow height
BROW_DOWN_RAMP = (1.0, 4.0)  # mm below it
MOUTH_OPEN_FULL = 20.0  # mm of extra inner-lip gap that counts as a fully open "a"
MOUTH_SPREAD_FULL = 10.0  # mm of extra (or less) mouth width that counts as fully spread (or rounded)
MOUTH_SHAPE_WIDTH = 0.2  # width of each prototype's soft region, in the units above
MOUTH_DEAD_ZONE = 0.05  # prototype weights below this are jitter around the neutral mouth: 0
# Mouth prototypes as (opening, spread): spread > 0 = wider than neutral, < 0 = rounder. "rest" is the neutral mouth.
MOUTH_PROTOTYPES: dict[str, tuple[float, float]] = {
    "rest": (0.0, 0.0),
    "mouth_a": (1.0, 0.0),
    "mouth_i": (0.3, 0.9),
    "mouth_u": (0.3, -0.9),
    "mouth_e": (0.6, 0.6),
    "mouth_o": (0.7, -0.6),
    "mouth_smile": (0.0, 1.0),
}


@dataclass(frozen=True)
class DriveOptions:
    """How a driving face becomes poses.

    Attributes:
        relative: measure against the driver's own neutral face (first frames) instead of a typical face.
        calibration_frames: how many of the first frames with a face define the neutral face (relative mode).
        smooth: One Euro smoothing strength in [0, 1]; 0 = off, higher = steadier but laggier.
        gains: multiplier per pose value name, e.g. ``{"head_yaw": 1.5, "mouth_a": 0.8}``; values not named keep 1.
        angle_limit: head angles are clipped to +-this many degrees (default: the trained range).
        mirror: treat the video as a mirrored selfie view (swaps left and right).
    """

    relative: bool = True
    calibration_frames: int = 10
    smooth: float = 0.5
    gains: Mapping[str, float] = field(default_factory=dict)
    angle_limit: float = ANGLE_RANGE
    mirror: bool = False

    def __post_init__(self) -> None:
        for name, gain in self.gains.items():
            pose_index(name)  # raises InputError listing the valid names
            if not np.isfinite(gain) or gain < 0:
                raise InputError(f"gain of {name} must be a finite number >= 0; got {gain}")
        if not 0.0 <= self.smooth <= 1.0:
            raise InputError(f"smooth must lie in [0, 1]; got {self.smooth}")
        if not 0.0 < self.angle_limit <= ANGLE_LIMIT:
            raise InputError(f"angle_limit must lie in (0, {ANGLE_LIMIT:g}] degrees; got {self.angle_limit}")
        if self.calibration_frames < 1:
            raise InputError(f"calibration_frames must be >= 1; got {self.calibration_frames}")

    def gain_vector(self) -> np.ndarray:
        """The gains as a float64 (20,) vector in pose order."""
        gains = np.ones(POSE_DIM)
        for name, gain in self.gains.items():
            gains[pose_index(name)] = gain
        return gains


def features_to_pose(features: FaceFeatures, neutral: FaceFeatures, options: DriveOptions) -> np.ndarray:
    """One unsmoothed pose (20,) float64 from a face's features, measured against ``neutral``.

    Expressions are always measured against ``neutral``; head angles too in relative mode, as measured otherwise.
    """
    pose = np.zeros(POSE_DIM)
    for name in ANGLE_NAMES:
        pose[pose_index(name)] = getattr(features, name) - (getattr(neutral, name) if options.relative else 0.0)
    left = 1.0 - features.eye_open_left / max(neutral.eye_open_left, 1e-6)
    right = 1.0 - features.eye_open_right / max(neutral.eye_open_right, 1e-6)
    pose[pose_index("eye_close_left")] = _ramp(left, *EYE_CLOSE_RAMP)
    pose[pose_index("eye_close_right")] = _ramp(right, *EYE_CLOSE_RAMP)
    pose[pose_index("eyes_wide")] = _ramp(-max(left, right), *EYE_WIDE_RAMP)
    brow = features.brow_height - neutral.brow_height
    pose[pose_index("brows_up")] = _ramp(brow, *BROW_UP_RAMP)
    pose[pose_index("brows_down")] = _ramp(-brow, *BROW_DOWN_RAMP)
    opening = (features.mouth_open - neutral.mouth_open) / MOUTH_OPEN_FULL
    spread = (features.mouth_width - neutral.mouth_width) / MOUTH_SPREAD_FULL
    for name, weight in mouth_shape_weights(opening, spread).items():
        if name != "rest":
            pose[pose_index(name)] = _ramp(weight, MOUTH_DEAD_ZONE, 1.0)
    pose *= options.gain_vector()
    pose[MORPHS] = np.clip(pose[MORPHS], 0.0, 1.0)
    pose[ANGLES] = np.clip(pose[ANGLES], -options.angle_limit, options.angle_limit)
    return pose


def mouth_shape_weights(opening: float, spread: float) -> dict[str, float]:
    """Soft weights (summing to 1) of the ``MOUTH_PROTOTYPES`` for a mouth's opening and spread."""
    shape = np.array([max(opening, 0.0), np.clip(spread, -1.0, 1.0)])
    prototypes = np.array(list(MOUTH_PROTOTYPES.values()))
    closeness = np.exp(-((prototypes - shape) ** 2).sum(axis=1) / (2 * MOUTH_SHAPE_WIDTH**2))
    return dict(zip(MOUTH_PROTOTYPES, closeness / closeness.sum(), strict=True))


def _ramp(value: float, start: float, full: float) -> float:
    """0 below ``start``, 1 above ``full``, linear between: a dead zone against landmark jitter, then a gain."""
    return float(np.clip((value - start) / (full - start), 0.0, 1.0))


class PoseEstimator:
    """Turns one face per frame into smoothed 20-d poses; works the same on a video and on a live webcam.

    In relative mode the neutral face is set by ``calibrate`` (a video: the first frames) or, failing that, by the
    first face seen (live). A frame without a face (``None``) holds the previous pose.
    """

    def __init__(self, options: DriveOptions | None = None, *, fps: float = 25.0) -> None:
        if fps <= 0:
            raise InputError(f"fps must be positive; got {fps}")
        self.options = options or DriveOptions()
        self.fps = fps
        self.neutral: FaceFeatures | None = None if self.options.relative else ABSOLUTE_NEUTRAL
        self._filter = filter_for_strength(self.options.smooth)
        # The filter works in units where a full morph and ANGLE_RANGE degrees weigh the same (its beta is shared).
        self._scale = np.ones(POSE_DIM)
        self._scale[ANGLES] = ANGLE_RANGE
        self._last = np.zeros(POSE_DIM)
        self._frame = 0

    def calibrate(self, faces: Sequence[FaceFeatures]) -> None:
        """Use the median of these faces as the neutral face (relative mode)."""
        if not faces:
            raise InputError("calibration needs at least one face")
        median = np.median(np.stack([face.to_array() for face in faces]), axis=0)
        self.neutral = FaceFeatures.from_array(median)

    def update(self, face: FaceFeatures | None, timestamp: float | None = None) -> np.ndarray:
        """The pose (20,) float32 for the next frame; ``None`` = no face in this frame (the last pose is held).

        ``timestamp`` is the frame's time in seconds, increasing (live frames arrive irregularly); by default the
        frame's index divided by ``fps``.
        """
        if face is not None:
            if self.neutral is None:
                self.neutral = face
            self._last = features_to_pose(face, self.neutral, self.options)
        pose = self._last
        if self._filter is not None:
            time = self._frame / self.fps if timestamp is None else timestamp
            pose = self._filter(pose / self._scale, time) * self._scale
        self._frame += 1
        return pose.astype(np.float32)
