"""The 20-d AnimeCeleb pose and its conversion to Animo's 70-d 3DMM-like motion vector.

A pose is 17 expression morph weights in [0, 1] followed by 3 head angles in degrees (SPEC 0.3 fixes names, order and
signs; SPEC 2.2-2.4 the conversions). Every part of the project (renderer, annotator, face driving, app) uses the
names defined here, never raw indices.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import torch

from animeceleb.errors import InputError

MORPH_NAMES: tuple[str, ...] = (
    "eye_close_left",
    "eye_close_right",
    "eyes_smile",
    "eyes_wide",
    "eyes_half",
    "brows_up",
    "brows_down",
    "brows_angry",
    "brows_sad",
    "mouth_smile",
    "mouth_frown",
    "mouth_cat",
    "mouth_a",
    "mouth_i",
    "mouth_u",
    "mouth_e",
    "mouth_o",
)
ANGLE_NAMES: tuple[str, ...] = ("head_pitch", "head_roll", "head_yaw")
POSE_NAMES: tuple[str, ...] = MORPH_NAMES + ANGLE_NAMES

NUM_MORPHS = len(MORPH_NAMES)  # 17
POSE_DIM = len(POSE_NAMES)  # 20
MOTION_DIM = 70  # Animo's 3DMM-like vector: expression 64 | angles 3 | translation 3
MORPHS = slice(0, NUM_MORPHS)
ANGLES = slice(NUM_MORPHS, POSE_DIM)

POSE_GROUPS: dict[str, tuple[str, ...]] = {
    "eyes": MORPH_NAMES[0:5],
    "brows": MORPH_NAMES[5:9],
    "mouth": MORPH_NAMES[9:17],
    "head": ANGLE_NAMES,
}

ANGLE_RANGE = 20.0  # degrees: the range poses are sampled in and sliders span; beyond it a warning is issued
ANGLE_LIMIT = 90.0  # degrees: beyond this an angle is rejected (no head model is trained for it)

# Layout of a Deep3DFaceRecon 257-d coefficient vector (SPEC 2.2).
COEFF_DIM = 257
COEFF_EXPRESSION = slice(80, 144)
COEFF_ANGLES = slice(224, 227)
COEFF_TRANSLATION = slice(254, 257)
MIX_SPLIT = 67  # cross-domain mixing keeps expression + angles of the driver, translation of the target


def pose_index(name: str) -> int:
    """Index of a pose value by name; raises ``InputError`` listing valid names."""
    try:
        return POSE_NAMES.index(name)
    except ValueError:
        raise InputError(f"unknown pose value {name!r}; valid names: {', '.join(POSE_NAMES)}") from None


def validate_poses(values: np.ndarray | torch.Tensor | Sequence[float] | Sequence[Sequence[float]]) -> np.ndarray:
    """Check one pose (20,) or a batch (N, 20) and return it as float32 (N, 20).

    Raises ``InputError`` (a ``ValueError``) naming the offending field: wrong length, NaN/inf, a morph outside
    [0, 1], or an angle beyond +-90 degrees. Angles beyond +-20 degrees (the trained range) only warn.
    """
    array = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2 or array.shape[1] != POSE_DIM:
        raise InputError(
            f"a pose has {POSE_DIM} values ({', '.join(POSE_NAMES)}); got an array of shape {tuple(array.shape)}"
        )
    try:
        array = array.astype(np.float32)
    except (TypeError, ValueError) as error:
        raise InputError(f"pose values must be numbers: {error}") from None
    for row, column in zip(*np.nonzero(~np.isfinite(array)), strict=True):
        raise InputError(f"pose value {POSE_NAMES[column]} (row {row}) is not finite: {array[row, column]}")
    _check_range(array, MORPHS, 0.0, 1.0, "morph weights lie in [0, 1]")
    _check_range(
        array, ANGLES, -ANGLE_LIMIT, ANGLE_LIMIT, f"head angles lie in [-{ANGLE_LIMIT:g}, {ANGLE_LIMIT:g}] degrees"
    )
    if np.abs(array[:, ANGLES]).max(initial=0.0) > ANGLE_RANGE:
        warnings.warn(f"head angles beyond +-{ANGLE_RANGE:g} degrees are outside the trained range", stacklevel=2)
    return array


def _check_range(array: np.ndarray, columns: slice, low: float, high: float, rule: str) -> None:
    block = array[:, columns]
    bad = np.argwhere((block < low) | (block > high))
    if len(bad):
        row, offset = bad[0]
        name = POSE_NAMES[columns.start + offset]
        raise InputError(f"pose value {name} (row {row}) is {block[row, offset]:g}; {rule}")


@dataclass(frozen=True)
class Pose:
    """One validated 20-d AnimeCeleb pose: ``Pose.neutral().replace(mouth_a=1.0, head_yaw=10)``."""

    values: tuple[float, ...]

    def __post_init__(self) -> None:
        checked = validate_poses(np.asarray(self.values, dtype=np.float64))[0]
        object.__setattr__(self, "values", tuple(float(v) for v in checked))

    @classmethod
    def neutral(cls) -> Pose:
        """All morphs 0, head facing the camera."""
        return cls((0.0,) * POSE_DIM)

    @classmethod
    def from_dict(cls, named: Mapping[str, float]) -> Pose:
        """Build from ``{name: value}``; names not given are 0, unknown names raise ``InputError``."""
        values = [0.0] * POSE_DIM
        for name, value in named.items():
            values[pose_index(name)] = float(value)
        return cls(tuple(values))

    def replace(self, **named: float) -> Pose:
        """A copy with some values changed by name."""
        return Pose.from_dict({**self.to_dict(), **named})

    def to_dict(self) -> dict[str, float]:
        """``{name: value}`` in pose order."""
        return dict(zip(POSE_NAMES, self.values, strict=True))

    def __getitem__(self, name: str) -> float:
        return self.values[pose_index(name)]

    @property
    def morphs(self) -> tuple[float, ...]:
        """The 17 expression morph weights."""
        return self.values[MORPHS]

    @property
    def angles(self) -> tuple[float, ...]:
        """Head pitch, roll, yaw in degrees."""
        return self.values[ANGLES]

    def to_array(self) -> np.ndarray:
        """The pose as a float32 array of shape (20,)."""
        return np.asarray(self.values, dtype=np.float32)


def stack_poses(poses: Iterable[Pose]) -> np.ndarray:
    """A batch of poses as a float32 array (N, 20)."""
    arrays = [pose.to_array() for pose in poses]
    if not arrays:
        raise InputError("expected at least one pose")
    return np.stack(arrays)


@lru_cache(maxsize=1)
def load_pose_basis() -> np.ndarray:
    """The official 17x257 morph basis shipped with the package (SPEC 2.2), float32, read-only."""
    with resources.files("animeceleb.assets").joinpath("pose_coeffs.npy").open("rb") as handle:
        basis = np.load(handle)
    basis.setflags(write=False)
    return basis


def _expression_basis(device: torch.device) -> torch.Tensor:
    return torch.from_numpy(load_pose_basis()[:, COEFF_EXPRESSION].copy()).to(device)  # (17, 64)


def pose_to_motion(poses: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Convert 20-d poses (B, 20) to Animo's 70-d anime motion vectors (B, 70), exactly as the official code does.

    ``cat(morphs @ E, radians(angles)[:, (0, 2, 1)], zeros(3))`` with E the expression columns of the basis.
    """
    poses = torch.as_tensor(poses, dtype=torch.float32)
    if poses.ndim != 2 or poses.shape[1] != POSE_DIM:
        raise InputError(f"expected poses of shape (B, {POSE_DIM}); got {tuple(poses.shape)}")
    expression = poses[:, MORPHS] @ _expression_basis(poses.device)
    angles = poses[:, ANGLES] * (math.pi / 180)
    angles = angles[:, [0, 2, 1]]
    translation = poses.new_zeros(poses.shape[0], 3)
    return torch.cat([expression, angles, translation], dim=1)


def coeffs_to_motion(coeffs: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Deep3DFaceRecon 257-d coefficients (B, 257) to the 70-d vox motion vector: expression | angles | translation."""
    coeffs = torch.as_tensor(coeffs, dtype=torch.float32)
    if coeffs.ndim != 2 or coeffs.shape[1] != COEFF_DIM:
        raise InputError(f"expected Deep3DFaceRecon coefficients of shape (B, {COEFF_DIM}); got {tuple(coeffs.shape)}")
    parts = [coeffs[:, COEFF_EXPRESSION], coeffs[:, COEFF_ANGLES], coeffs[:, COEFF_TRANSLATION]]
    return torch.cat(parts, dim=1)


def mix_motion(driver: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-domain motion (SPEC 2.4): expression and angles of ``driver``, translation of ``target``."""
    if driver.shape != target.shape or driver.shape[-1] != MOTION_DIM:
        raise InputError(
            f"expected two motion batches of shape (B, {MOTION_DIM}); got {tuple(driver.shape)}, {tuple(target.shape)}"
        )
    return torch.cat([driver[:, :MIX_SPLIT], target[:, MIX_SPLIT:]], dim=1)
