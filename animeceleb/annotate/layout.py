"""Write annotated images in the official AnimeCeleb layout (SPEC 6.1), one identity at a time.

```
<root>/combined_pose.csv                              org_id,num_cluster,png_name,<20 pose values>
<root>/rotation/<num_cluster>/<folder_name>/<png_name>
<root>/basis/<folder_name>/basis.png                  the neutral pose
```

The loader derives an identity's folder name from the text before the first ``_`` of its first png name, so png names
are ``<folder>_<index>.png`` and folder names never contain ``_``. Writing one identity keeps the other identities'
rows, so several characters can be annotated into one dataset; the loader's ``cached.json`` is removed when rows change
because it is rebuilt from the CSV on first use.
"""

from __future__ import annotations

import csv
import os
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from animeceleb.errors import InputError
from animeceleb.pose import POSE_DIM, POSE_NAMES

CSV_NAME = "combined_pose.csv"
CSV_HEADER = ("org_id", "num_cluster", "png_name", *POSE_NAMES)
CACHE_NAME = "cached.json"


def folder_name_for(name: str) -> str:
    """A folder name the loader reads back unchanged: ASCII letters, digits and ``-`` only (never ``_``)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    folder = re.sub(r"[^A-Za-z0-9-]+", "-", ascii_name).strip("-")
    return folder or "character"


def png_name(folder: str, index: int) -> str:
    """Name of frame ``index`` of an identity: ``<folder>_<index:05d>.png``."""
    return f"{folder}_{index:05d}.png"


def identity_dir(root: Path, cluster: int, folder: str) -> Path:
    """``rotation/<cluster>/<folder>``: where an identity's images go."""
    return root / "rotation" / str(cluster) / folder


def basis_path(root: Path, folder: str) -> Path:
    """``basis/<folder>/basis.png``."""
    return root / "basis" / folder / "basis.png"


def write_identity_rows(root: Path, org_id: int, cluster: int, names: Sequence[str], poses: np.ndarray) -> Path:
    """Replace the CSV rows of ``org_id`` with one row per image (others are kept, rows sorted by org_id)."""
    poses = np.asarray(poses, dtype=np.float64)
    if poses.shape != (len(names), POSE_DIM):
        raise InputError(f"expected {len(names)} poses of {POSE_DIM} values; got an array of shape {poses.shape}")
    path = root / CSV_NAME
    rows = [row for row in _read_rows(path) if int(row[0]) != org_id]
    rows += [
        [str(org_id), str(cluster), name, *(repr(float(v)) for v in pose)]
        for name, pose in zip(names, poses, strict=True)
    ]
    rows.sort(key=lambda row: int(row[0]))  # stable: each identity keeps its frame order
    partial = path.with_name(f".{CSV_NAME}.partial")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        writer.writerows(rows)
    os.replace(partial, path)
    (root / CACHE_NAME).unlink(missing_ok=True)
    return path


def _read_rows(path: Path) -> list[list[str]]:
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    if rows and not rows[0][0].lstrip("-").isdigit():
        rows = rows[1:]  # the header
    bad = [row for row in rows if len(row) != len(CSV_HEADER)]
    if bad:
        raise InputError(f"{path} has a row of {len(bad[0])} columns; an AnimeCeleb pose CSV has {len(CSV_HEADER)}")
    return rows
