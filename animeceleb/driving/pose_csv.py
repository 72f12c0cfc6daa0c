"""Pose sequences as CSV files: one row per frame, one named column per pose value (``POSE_NAMES``)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from animeceleb.errors import InputError
from animeceleb.pose import POSE_NAMES, validate_poses


def write_pose_csv(path: str | Path, poses: np.ndarray) -> Path:
    """Write poses (N, 20) with a header row of the pose names; returns the path."""
    poses = validate_poses(poses)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(POSE_NAMES)
        writer.writerows([f"{value:.6g}" for value in row] for row in poses)
    return path


def read_pose_csv(path: str | Path) -> np.ndarray:
    """Read a pose CSV (any column order, every pose name present) as validated float32 (N, 20)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"pose file not found: {path}")
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise InputError(f"{path} is empty; expected a header row with the pose names {', '.join(POSE_NAMES)}")
    header = [name.strip() for name in rows[0]]
    missing = [name for name in POSE_NAMES if name not in header]
    unknown = [name for name in header if name not in POSE_NAMES]
    if missing or unknown:
        raise InputError(
            f"{path}: the header must name the pose values {', '.join(POSE_NAMES)}; "
            f"missing: {', '.join(missing) or 'none'}; unknown: {', '.join(unknown) or 'none'}"
        )
    if len(rows) < 2:
        raise InputError(f"{path} has a header but no poses")
    order = [header.index(name) for name in POSE_NAMES]
    values = np.empty((len(rows) - 1, len(POSE_NAMES)))
    for line, row in enumerate(rows[1:], start=2):
        try:
            values[line - 2] = [float(row[i]) for i in order]
        except (ValueError, IndexError):
            raise InputError(f"{path}, line {line}: expected {len(header)} numbers; got {row}") from None
    return validate_poses(values)
