"""The official AnimeCeleb on-disk layout (SPEC 6.1): paths, CSV format and a resumable writer.

```
<root>/combined_pose.csv                         org_id, num_cluster, png_name, 20 pose values (one row per image)
<root>/rotation/<num_cluster>/<folder>/<png_name>
<root>/basis/<folder>/basis.png                  optional neutral image of the identity
<root>/splits/{train,test}_list.txt              optional: this project's per-root identity split (else the official)
```

An identity's folder is the text of its first png name before the first ``_`` (as the official AnimeCelebDataset
derives it), so png names are ``<folder>_<index>.png`` and folder names never contain ``_``. The procedural renderer
adds frames with `OfficialLayoutWriter`; the Blender annotation tool, whose worker writes the images, replaces an
identity's rows with `write_identity_rows`; `animeceleb.data.load_animeceleb` reads both.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np
from PIL import Image

from animeceleb.errors import InputError
from animeceleb.pose import POSE_DIM, POSE_NAMES, Pose, validate_poses

logger = logging.getLogger(__name__)

CSV_NAME = "combined_pose.csv"
CACHE_NAME = "cached.json"  # the official loader's identity tree; stale as soon as rows are added
CSV_HEADER: tuple[str, ...] = ("org_id", "num_cluster", "png_name", *POSE_NAMES)
SPLITS_DIR = "splits"
IMAGES_DIR = "rotation"
BASIS_NAME = "basis.png"


def folder_name(png_name: str) -> str:
    """The identity folder encoded in a png name: the text before the first ``_`` (or ``/``)."""
    for separator in ("/", "_"):
        if separator in png_name:
            return png_name.split(separator, 1)[0]
    return Path(png_name).stem


def folder_name_for(name: str) -> str:
    """A folder name made from any name that the loader reads back unchanged: ASCII letters, digits and ``-`` only."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    folder = re.sub(r"[^A-Za-z0-9-]+", "-", ascii_name).strip("-")
    return folder or "character"


def frame_name(folder: str, index: int, *, digits: int = 4) -> str:
    """The png name of frame ``index`` of the identity in ``folder``: ``<folder>_<index>.png``, ``digits`` wide."""
    return f"{folder}_{index:0{digits}d}.png"


def relative_image_path(cluster: str | int, folder: str, png_name: str) -> str:
    """``rotation/<cluster>/<folder>/<png_name>`` (a png name that already starts with ``folder/`` is not doubled)."""
    relative = png_name if png_name.startswith(f"{folder}/") else f"{folder}/{png_name}"
    return f"{IMAGES_DIR}/{cluster}/{relative}"


def identity_dir(root: str | Path, cluster: str | int, folder: str) -> Path:
    """Where an identity's frames live: ``root/rotation/<cluster>/<folder>``."""
    return Path(root) / IMAGES_DIR / str(cluster) / folder


def image_path(root: str | Path, cluster: str | int, folder: str, png_name: str) -> Path:
    """Where one frame lives: ``root/rotation/<cluster>/<folder>/<png_name>``."""
    return Path(root) / relative_image_path(cluster, folder, png_name)


def basis_path(root: str | Path, folder: str) -> Path:
    """Where an identity's neutral image lives: ``root/basis/<folder>/basis.png``."""
    return Path(root) / "basis" / folder / BASIS_NAME


def encode_png(image: np.ndarray | Image.Image) -> bytes:
    """PNG bytes of an RGB or RGBA uint8 image.

    zlib level 1 without row filters: about 1 ms for 256x256, and for flat-shaded anime images the files are even
    smaller than with the default filters (datasets of millions of frames are written once and read often).
    """
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] not in (3, 4):
        raise InputError(f"expected an RGB or RGBA uint8 image (H, W, 3|4); got {array.dtype} {array.shape}")
    order = [2, 1, 0] if array.shape[2] == 3 else [2, 1, 0, 3]  # OpenCV writes BGR(A)
    ok, data = cv2.imencode(".png", array[..., order], _PNG_OPTIONS)
    if not ok:
        raise InputError("could not encode the image as PNG")
    return data.tobytes()


_PNG_OPTIONS = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_NONE]


def format_pose_values(pose: Pose | np.ndarray | Sequence[float]) -> list[str]:
    """The 20 values as the shortest decimal strings that read back as the same numbers (float32, or float64 for a
    float64 array)."""
    values = pose.to_array() if isinstance(pose, Pose) else validate_poses(pose)[0]
    if isinstance(pose, np.ndarray) and pose.dtype == np.float64:
        values = pose.reshape(-1)  # validated above; keeps the precision the caller gave
    return [np.format_float_positional(value, unique=True, trim="-") for value in values]


def write_identity_rows(
    root: str | Path, identity: int, cluster: str | int, png_names: Sequence[str], poses: np.ndarray
) -> Path:
    """Replace the CSV rows of ``identity`` with one row per png name; the other identities' rows are kept.

    For tools that write the images themselves and may render fewer frames on a rerun. Rows are sorted by identity
    (each keeps its frame order), the file is replaced atomically and the stale ``cached.json`` is removed.
    """
    poses = np.asarray(poses)
    if poses.shape != (len(png_names), POSE_DIM):
        raise InputError(f"expected {len(png_names)} poses of {POSE_DIM} values; got an array of shape {poses.shape}")
    for png_name in png_names:
        _check_png_name(identity, png_name, folder_name(png_names[0]))
    root = Path(root)
    path = root / CSV_NAME
    rows = [row for row in _read_rows(path) if int(row[0]) != identity] if path.exists() else []
    rows += [
        [str(identity), str(cluster), name, *format_pose_values(pose)]
        for name, pose in zip(png_names, poses, strict=True)
    ]
    rows.sort(key=lambda row: int(row[0]))  # stable: each identity keeps its frame order
    partial = path.with_name(f".{CSV_NAME}.partial")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        writer.writerows(rows)
    os.replace(partial, path)
    (root / CACHE_NAME).unlink(missing_ok=True)
    return path


def _read_rows(csv_path: Path) -> list[list[str]]:
    """The rows below the header of a pose CSV; a half-written last row (an interrupted run) is cut from the file."""
    data = csv_path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) != len(data):
        logger.info("dropping a half-written last row of %s", csv_path)
        with csv_path.open("r+b") as handle:
            handle.truncate(len(complete))
    lines = complete.decode("utf-8").splitlines()
    if not lines or next(csv.reader(lines[:1]))[:1] != ["org_id"]:
        raise InputError(f"{csv_path} does not start with the header {','.join(CSV_HEADER[:3])},...")
    rows = list(csv.reader(lines[1:]))
    for number, row in enumerate(rows, start=2):
        if len(row) < len(CSV_HEADER) or not row[0].lstrip("-").isdigit():
            raise InputError(f"{csv_path}, line {number}: malformed row {row!r} (expected {len(CSV_HEADER)} columns)")
    return rows


def _check_png_name(identity: int, png_name: str, folder: str) -> None:
    """A png name must end in .png and start with the identity's folder and ``_``: the loader relies on both."""
    if not png_name.endswith(".png") or not folder or folder_name(png_name) != folder:
        raise InputError(
            f"png name {png_name!r} of identity {identity} must end in .png and start with its folder name "
            f"{folder!r} followed by '_' (the loader finds the folder from the name)"
        )


class OfficialLayoutWriter:
    """Adds frames to a dataset in the official layout; reopening a root resumes it.

    Use as a context manager. Each frame's image is written before its CSV row, and rows are flushed one by one, so
    after an interruption every listed frame is complete: ``has`` tells what is done and a rerun fills in the rest
    (a half-written last row is dropped on reopening). The official loader's ``cached.json`` is removed on opening
    because adding rows makes it stale.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.csv_path = self.root / CSV_NAME
        self._done: set[tuple[int, str]] = set()
        self._folders: dict[int, tuple[str, str]] = {}  # identity -> (cluster, folder) of its first row
        self._made: set[Path] = set()  # directories already created
        self._handle: io.TextIOWrapper | None = None
        self._csv = None  # a csv.writer while open

    def __enter__(self) -> OfficialLayoutWriter:
        self.open()
        return self

    def __exit__(self, kind: type | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.close()

    def open(self) -> None:
        """Create the root, or read what an earlier run wrote there."""
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / CACHE_NAME).unlink(missing_ok=True)
        if self.csv_path.exists() and self.csv_path.stat().st_size > 0:
            self._resume()
            self._handle = self.csv_path.open("a", newline="", encoding="utf-8")
            self._csv = csv.writer(self._handle, lineterminator="\n")
        else:
            self._handle = self.csv_path.open("w", newline="", encoding="utf-8")
            self._csv = csv.writer(self._handle, lineterminator="\n")
            self._csv.writerow(CSV_HEADER)
            self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _resume(self) -> None:
        for row in _read_rows(self.csv_path):
            identity = int(row[0])
            self._done.add((identity, row[2]))
            self._folders.setdefault(identity, (row[1], folder_name(row[2])))

    def has(self, identity: int, png_name: str) -> bool:
        """Whether this frame is already in the dataset."""
        return (identity, png_name) in self._done

    def write_frame(
        self,
        identity: int,
        cluster: str | int,
        png_name: str,
        image: np.ndarray | Image.Image | bytes,
        pose: Pose | np.ndarray | Sequence[float],
    ) -> Path:
        """Write one frame (image array, PIL image or PNG bytes) and append its CSV row; returns the image path."""
        if self._csv is None or self._handle is None:
            raise InputError("OfficialLayoutWriter is not open; use it as a context manager")
        folder = folder_name(png_name)
        first_cluster, first_folder = self._folders.setdefault(identity, (str(cluster), folder))
        _check_png_name(identity, png_name, first_folder)
        if str(cluster) != first_cluster:
            raise InputError(f"identity {identity} is in cluster {first_cluster}; got {cluster} (one per identity)")
        values = format_pose_values(pose)
        path = image_path(self.root, cluster, folder, png_name)
        self._write(path, image)
        self._csv.writerow([identity, cluster, png_name, *values])
        self._handle.flush()
        self._done.add((identity, png_name))
        return path

    def write_basis(self, folder: str, image: np.ndarray | Image.Image | bytes) -> Path:
        """Write an identity's neutral image to ``basis/<folder>/basis.png``."""
        path = basis_path(self.root, folder)
        self._write(path, image)
        return path

    def _write(self, path: Path, image: np.ndarray | Image.Image | bytes) -> None:
        if path.parent not in self._made:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(path.parent)
        path.write_bytes(image if isinstance(image, bytes) else encode_png(image))

    def write_splits(self, train: Iterable[int], test: Iterable[int]) -> None:
        """Write this root's identity split (``splits/train_list.txt``, ``splits/test_list.txt``)."""
        train, test = sorted(set(train)), sorted(set(test))
        if set(train) & set(test):
            raise InputError(f"identities in both splits: {sorted(set(train) & set(test))[:10]}")
        folder = self.root / SPLITS_DIR
        folder.mkdir(exist_ok=True)
        for name, ids in (("train_list.txt", train), ("test_list.txt", test)):
            (folder / name).write_text("".join(f"{identity}\n" for identity in ids))
