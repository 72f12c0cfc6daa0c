"""The official AnimeCeleb on-disk layout (SPEC 6.1): paths, CSV format and a resumable writer.

```
<root>/combined_pose.csv                         org_id, num_cluster, png_name, 20 pose values (one row per image)
<root>/rotation/<num_cluster>/<folder>/<png_name>
<root>/basis/<folder>/basis.png                  optional neutral image of the identity
<root>/splits/{train,test}_list.txt              optional: this project's per-root identity split (else the official)
```

An identity's folder is the text of its first png name before the first ``_`` (as the official AnimeCelebDataset
derives it). Both the procedural renderer and the Blender annotation tool write datasets through
`OfficialLayoutWriter`, and `animeceleb.data.load_animeceleb` reads them.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np
from PIL import Image

from animeceleb.errors import InputError
from animeceleb.pose import POSE_NAMES, Pose, validate_poses

logger = logging.getLogger(__name__)

CSV_NAME = "combined_pose.csv"
CACHE_NAME = "cached.json"  # the official loader's identity tree; stale as soon as rows are added
CSV_HEADER: tuple[str, ...] = ("org_id", "num_cluster", "png_name", *POSE_NAMES)
SPLITS_DIR = "splits"
BASIS_NAME = "basis.png"


def folder_name(png_name: str) -> str:
    """The identity folder encoded in a png name: the text before the first ``_`` (or ``/``)."""
    for separator in ("/", "_"):
        if separator in png_name:
            return png_name.split(separator, 1)[0]
    return Path(png_name).stem


def image_path(root: str | Path, cluster: str | int, folder: str, png_name: str) -> Path:
    """Where one frame lives: ``root/rotation/<cluster>/<folder>/<png_name>`` (a ``folder/`` prefix is not doubled)."""
    relative = png_name if png_name.startswith(f"{folder}/") else f"{folder}/{png_name}"
    return Path(root) / "rotation" / str(cluster) / relative


def basis_path(root: str | Path, folder: str) -> Path:
    """Where an identity's neutral image lives: ``root/basis/<folder>/basis.png``."""
    return Path(root) / "basis" / folder / BASIS_NAME


def frame_name(identity: int, index: int) -> str:
    """The png name this project gives frame ``index`` of ``identity``: ``000042_0007.png`` (folder ``000042``)."""
    return f"{identity:06d}_{index:04d}.png"


def encode_png(image: np.ndarray | Image.Image, compression: int = 3) -> bytes:
    """PNG bytes of an RGB or RGBA uint8 image (fast zlib level by default: datasets are written once, read often)."""
    if isinstance(image, Image.Image):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=compression)
        return buffer.getvalue()
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] not in (3, 4):
        raise InputError(f"expected an RGB or RGBA uint8 image (H, W, 3|4); got {array.dtype} {array.shape}")
    order = [2, 1, 0] if array.shape[2] == 3 else [2, 1, 0, 3]  # OpenCV writes BGR(A)
    ok, data = cv2.imencode(".png", array[..., order], [cv2.IMWRITE_PNG_COMPRESSION, compression])
    if not ok:
        raise InputError("could not encode the image as PNG")
    return data.tobytes()


def format_pose_values(pose: Pose | np.ndarray | Sequence[float]) -> list[str]:
    """The 20 values as the shortest decimal strings that read back as the same float32."""
    values = pose.to_array() if isinstance(pose, Pose) else validate_poses(pose)[0]
    return [np.format_float_positional(value, unique=True, trim="-") for value in values]


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
        self._folders: dict[int, str] = {}
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
        data = self.csv_path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        if len(complete) != len(data):
            logger.info("dropping a half-written last row of %s", self.csv_path)
            with self.csv_path.open("r+b") as handle:
                handle.truncate(len(complete))
        lines = complete.decode("utf-8").splitlines()
        if not lines or next(csv.reader(lines[:1]))[:1] != ["org_id"]:
            raise InputError(f"{self.csv_path} does not start with the header {','.join(CSV_HEADER[:3])},...")
        for number, row in enumerate(csv.reader(lines[1:]), start=2):
            try:
                identity = int(row[0])
                self._done.add((identity, row[2]))
            except (IndexError, ValueError):
                raise InputError(f"{self.csv_path}, line {number}: malformed row {row!r}") from None
            self._folders.setdefault(identity, folder_name(row[2]))

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
        expected = self._folders.setdefault(identity, folder)
        if not png_name.endswith(".png") or not folder or folder != expected:
            raise InputError(
                f"png name {png_name!r} of identity {identity} must end in .png and start with its folder name "
                f"{expected!r} followed by '_' (the loader finds the folder from the name)"
            )
        values = format_pose_values(pose)
        path = image_path(self.root, cluster, folder, png_name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(image if isinstance(image, bytes) else encode_png(image))
        self._csv.writerow([identity, cluster, png_name, *values])
        self._handle.flush()
        self._done.add((identity, png_name))
        return path

    def write_basis(self, folder: str, image: np.ndarray | Image.Image | bytes) -> Path:
        """Write an identity's neutral image to ``basis/<folder>/basis.png``."""
        path = basis_path(self.root, folder)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(image if isinstance(image, bytes) else encode_png(image))
        return path

    def write_splits(self, train: Iterable[int], test: Iterable[int]) -> None:
        """Write this root's identity split (``splits/train_list.txt``, ``splits/test_list.txt``)."""
        train, test = sorted(set(train)), sorted(set(test))
        if set(train) & set(test):
            raise InputError(f"identities in both splits: {sorted(set(train) & set(test))[:10]}")
        folder = self.root / SPLITS_DIR
        folder.mkdir(exist_ok=True)
        for name, ids in (("train_list.txt", train), ("test_list.txt", test)):
            (folder / name).write_text("".join(f"{identity}\n" for identity in ids))
