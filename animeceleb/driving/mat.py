"""Deep3DFaceRecon coefficient files (.mat) -> Animo's 70-d vox motion vectors (SPEC 2.3), the official human path.

The PyTorch port of Deep3DFaceRecon saves one .mat per frame with the keys ``id, exp, tex, angle, gamma, trans``,
each a 1 x k row (80, 64, 80, 3, 27, 3 values: the 257-d layout of SPEC 2.2). A sequence is a folder of such files
(frames in natural order: ``frame_2`` before ``frame_10``) or one .mat whose rows are frames.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import scipy.io

from animeceleb.errors import InputError
from animeceleb.pose import COEFF_DIM, coeffs_to_motion

COEFF_KEYS: tuple[tuple[str, int], ...] = (
    ("id", 80),
    ("exp", 64),
    ("tex", 80),
    ("angle", 3),
    ("gamma", 27),
    ("trans", 3),
)
assert sum(size for _, size in COEFF_KEYS) == COEFF_DIM


def load_coeffs(path: str | Path) -> np.ndarray:
    """The 257-d coefficients (N, 257) float32 of a .mat file or of every .mat file in a folder (natural order)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.mat"), key=_natural_key)
        if not files:
            raise InputError(f"no .mat files in {path}")
        return np.concatenate([_read_mat(file) for file in files])
    if not path.is_file():
        raise InputError(f"coefficient file or folder not found: {path}")
    return _read_mat(path)


def load_vox_motion(path: str | Path) -> np.ndarray:
    """Animo's vox motion vectors (N, 70) float32 (expression 64 | angles 3 | translation 3) of a .mat sequence."""
    return coeffs_to_motion(load_coeffs(path)).numpy()


def _read_mat(path: Path) -> np.ndarray:
    try:
        contents = scipy.io.loadmat(str(path))
    except (ValueError, TypeError, OSError, NotImplementedError) as error:
        raise InputError(f"cannot read {path} as a MATLAB .mat file: {error}") from None
    missing = [key for key, _ in COEFF_KEYS if key not in contents]
    if missing:
        expected = ", ".join(f"{key} (1x{size})" for key, size in COEFF_KEYS)
        raise InputError(f"{path} lacks {', '.join(missing)}; a Deep3DFaceRecon coefficient file has {expected}")
    parts = []
    for key, size in COEFF_KEYS:
        value = np.asarray(contents[key], dtype=np.float32)
        if value.size == size:
            value = value.reshape(1, size)
        if value.ndim != 2 or value.shape[1] != size:
            raise InputError(f"{path}: {key} must be a 1x{size} row (or one row per frame); got shape {value.shape}")
        parts.append(value)
    frames = {part.shape[0] for part in parts}
    if len(frames) != 1:
        raise InputError(f"{path}: the keys hold different numbers of frames ({sorted(frames)})")
    return np.concatenate(parts, axis=1)


def _natural_key(path: Path) -> list[int | str]:
    return [int(text) if text.isdigit() else text.lower() for text in re.split(r"(\d+)", path.name)]
