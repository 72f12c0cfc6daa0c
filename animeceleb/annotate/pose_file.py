"""Poses the user wants rendered, read from a CSV or JSON file (sampled poses come from `animeceleb.data.sampling`)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from animeceleb.errors import InputError
from animeceleb.pose import Pose, validate_poses


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
