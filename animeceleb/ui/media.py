"""Files in and out of the app: guarded image loading, framing for the model, grids and temporary outputs.

Everything a user uploads passes through here first, so the limits (file size, pixel count against decompression
bombs, video length and resolution) and the "corrupt file" messages live in one place. Gradio-free.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from animeceleb.driving.video import VideoInfo, probe_video
from animeceleb.errors import InputError
from animeceleb.framing import Framing, HeadBox, auto_head_box, centred_box, frame_source
from animeceleb.imaging import read_image
from animeceleb.safe_paths import app_temp_dir

FRAMING_MODES = ("auto", "box")  # see SourceFraming
STILL_IMAGE_CODECS = ("png", "mjpeg", "webp", "bmp", "tiff")  # what ffmpeg reports for an image given as a video


@dataclass(frozen=True)
class Limits:
    """What the app accepts; larger inputs are refused with a message instead of exhausting the server.

    Attributes:
        max_file_mb: largest upload, images and videos.
        max_image_pixels: largest decoded image (width x height), checked before decoding (decompression bombs).
        max_video_seconds: longest driving video; longer ones are refused, shorter ``max_seconds`` options cut.
        max_video_frames: most frames rendered for one request.
        max_video_side: largest driving video width or height.
    """

    max_file_mb: float = 50.0
    max_image_pixels: int = 25_000_000
    max_video_seconds: float = 60.0
    max_video_frames: int = 1800
    max_video_side: int = 3840


LIMITS = Limits()


def check_file(path: str | Path | None, what: str, limits: Limits = LIMITS) -> Path:
    """An existing upload within the size limit, or an ``InputError`` saying what to do."""
    if path is None or str(path) == "":
        raise InputError(f"no {what} given: upload one first")
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} not found: {path.name}")
    size_mb = path.stat().st_size / 2**20
    if size_mb > limits.max_file_mb:
        raise InputError(f"the {what} is {size_mb:.1f} MB; the limit is {limits.max_file_mb:g} MB")
    return path


def load_image(path: str | Path | None, limits: Limits = LIMITS) -> np.ndarray:
    """An uploaded PNG/JPG/WebP as uint8 (H, W, 3), or (H, W, 4) when it has transparency (kept for RGBA results)."""
    return read_image(check_file(path, "source image", limits), max_pixels=limits.max_image_pixels)


@dataclass(frozen=True)
class SourceFraming:
    """How the app frames a source for the model: a head box, found or typed, then zoomed and moved by the sliders.

    Attributes:
        mode: ``"auto"`` (a transparent character's silhouette, ``animeceleb.framing.auto_head_box``; an opaque
            picture is taken as framed like a training image, its centred square) or ``"box"`` (``box`` below).
        box: ``"x,y,radius"`` in source pixels (head centre and radius), for mode ``"box"``.
        zoom: above 1 zooms in (a smaller head box).
        offset_x, offset_y: move the head box by these fractions of its radius (positive: right, down).
    """

    mode: str = "auto"
    box: str = ""
    zoom: float = 1.0
    offset_x: float = 0.0
    offset_y: float = 0.0

    def head_box(self, image: np.ndarray) -> HeadBox:
        """The head box in ``image`` (source pixels) after zoom and offsets."""
        if self.mode not in FRAMING_MODES:
            raise InputError(f"unknown framing {self.mode!r}; choose one of {', '.join(FRAMING_MODES)}")
        if not self.zoom > 0:
            raise InputError(f"the zoom must be positive; got {self.zoom}")
        if self.mode == "box":
            base = HeadBox.parse(self.box)
        elif image.shape[2] == 4 and not (image[:, :, 3] > 127).all():
            base = auto_head_box(image)
        else:
            base = centred_box(image.shape[:2])
        x, y = base.x + self.offset_x * base.scale, base.y + self.offset_y * base.scale
        return HeadBox(x, y, base.scale / self.zoom)

    def framing(self, image: np.ndarray, frame_size: tuple[int, int]) -> Framing:
        """The transform from ``image`` to the model's frame (``Framing.crop`` gives what the model sees)."""
        return frame_source(image, self.head_box(image), frame_size)


def check_video(path: str | Path | None, limits: Limits = LIMITS) -> VideoInfo:
    """Probe a driving video and refuse one that is too long or too large (``InputError`` with the limit)."""
    path = check_file(path, "driving video", limits)
    info = probe_video(path)
    if info.duration == 0 and info.codec.strip(", ") in STILL_IMAGE_CODECS:
        raise InputError(f"{path.name} is a still image, not a video: upload a video (mp4, webm, mov) of one face")
    if max(info.width, info.height) > limits.max_video_side:
        raise InputError(
            f"the video is {info.width}x{info.height}; the largest side may be {limits.max_video_side} pixels"
        )
    if info.duration > limits.max_video_seconds:
        raise InputError(
            f"the video lasts {info.duration:.1f} s; the limit is {limits.max_video_seconds:g} s (trim it first)"
        )
    return info


def frames_for(seconds: float, fps: float, limits: Limits = LIMITS) -> int:
    """How many frames ``seconds`` at ``fps`` is, refusing more than the frame limit."""
    count = max(1, round(seconds * fps))
    if count > limits.max_video_frames:
        raise InputError(f"{seconds:g} s at {fps:g} fps is {count} frames; the limit is {limits.max_video_frames}")
    return count


def label_image(image: np.ndarray, text: str) -> np.ndarray:
    """The image with a white caption strip above it (for comparison grids)."""
    height = max(18, image.shape[0] // 12)
    strip = Image.new("RGB", (image.shape[1], height), "white")
    draw = ImageDraw.Draw(strip)
    font = ImageFont.load_default(size=round(height * 0.7))
    draw.text((image.shape[1] / 2, height / 2), text, fill=(40, 40, 40), font=font, anchor="mm")
    return np.concatenate([np.asarray(strip), image], axis=0)


class OutputFolder:
    """A private folder for the files the app returns, in ``safe_paths.app_temp_dir()`` (which Gradio may serve);
    files older than ``max_age_s`` are pruned.

    Gradio copies returned files into its own cache (pruned by ``delete_cache``), so ours only need to outlive the
    request. The folder itself is removed when the process exits.
    """

    def __init__(self, max_age_s: float = 600.0) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="outputs-", dir=app_temp_dir()))
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        atexit.register(shutil.rmtree, self.root, ignore_errors=True)

    def new_path(self, suffix: str) -> Path:
        """A fresh unique file path with ``suffix`` (e.g. ``".mp4"``), pruning old files first."""
        self.prune()
        return self.root / f"{uuid.uuid4().hex}{suffix}"

    def prune(self) -> None:
        """Delete files older than ``max_age_s``."""
        deadline = time.time() - self.max_age_s
        with self._lock:
            for path in self.root.iterdir():
                if path.stat().st_mtime < deadline:
                    path.unlink(missing_ok=True)
