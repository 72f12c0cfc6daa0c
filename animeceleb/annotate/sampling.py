"""Poses to annotate: sampled like the dataset, or read from a file of poses the user wants rendered.

Sampling follows the dataset's recipe as this project reads it (SPEC 0.3): per semantic group (eyes, brows, mouth) at
most one morph is active, with a uniform weight, and the three head angles are uniform in +-ANGLE_RANGE degrees.
Frame i depends only on the seed and i, so asking for more frames later extends a run without changing the first ones.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from animeceleb.errors import InputError
from animeceleb.pose import (
    ANGLE_NAMES,
    ANGLE_RANGE,
    MORPH_NAMES,
    POSE_DIM,
    POSE_GROUPS,
    Pose,
    pose_index,
    validate_poses,
)

GROUP_PROBABILITY = 0.5  # chance that a group (eyes, brows, mouth) shows one of its morphs in a sampled frame
DECIMALS = 4  # sampled values are rounded so the CSV text is exactly the pose that was rendered


def sample_poses(
    count: int, *, seed: int = 0, morphs: Iterable[str] = MORPH_NAMES, angle_range: float = ANGLE_RANGE
) -> np.ndarray:
    """``count`` random poses (count, 20) float64, using only the given ``morphs`` (the ones the model can show)."""
    if count < 0:
        raise InputError(f"the number of frames must be >= 0; got {count}")
    allowed = set(morphs)
    groups = [[name for name in POSE_GROUPS[group] if name in allowed] for group in ("eyes", "brows", "mouth")]
    poses = np.zeros((count, POSE_DIM))
    for frame in range(count):
        rng = np.random.default_rng([seed, frame])  # one stream per frame: frame i never depends on count
        for names in groups:
            active = rng.random() < GROUP_PROBABILITY
            choice, weight = rng.integers(max(len(names), 1)), rng.random()
            if active and names:
                poses[frame, pose_index(names[choice])] = weight
        for name, angle in zip(ANGLE_NAMES, rng.uniform(-angle_range, angle_range, len(ANGLE_NAMES)), strict=True):
            poses[frame, pose_index(name)] = angle
    return np.round(poses, DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0


def load_poses(path: str | Path) -> np.ndarray:
    """Read poses to render from CSV (a header of pose names, missing columns are 0) or JSON (a list of
    ``{name: value}`` dicts or of 20-value lists); returns (N, 20) float64, validated."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".json":
            records = json.loads(path.read_text(encoding="utf-8"))
        else:
            with path.open(newline="", encoding="utf-8") as handle:
                records = [{name: float(value) for name, value in row.items()} for row in csv.DictReader(handle)]
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read poses from {path}: {error}") from None
    if not isinstance(records, list) or not records:
        raise InputError(f"{path} holds no poses; expected a list of poses")
    rows = [Pose.from_dict(r).values if isinstance(r, dict) else tuple(r) for r in records]
    validate_poses(np.asarray(rows, dtype=np.float64))
    return np.asarray(rows, dtype=np.float64)
