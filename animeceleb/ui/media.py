"""Files in and out of the app: guarded image loading, framing to the model size, GIFs, grids and temporary outputs.

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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from animeceleb.driving.video import VideoInfo, probe_video
from animeceleb.errors import InputError
from animeceleb.imaging import composite_on_white

FRAMING_MODES = ("crop", "pad")  # crop: fill the frame, cutting the longer side; pad: keep everything, white borders
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
    """An uploaded PNG/JPG/WebP as RGB uint8 (H, W, 3): EXIF rotation applied, transparency composited on white."""
    path = check_file(path, "source image", limits)
    try:
        with Image.open(path) as image:
            _check_pixels(*image.size, limits)  # from the header: nothing decoded yet
            image = ImageOps.exif_transpose(image)
            has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            array = np.array(image.convert("RGBA" if has_alpha else "RGB"))
    except InputError:
        raise
    except Image.DecompressionBombError:
        raise InputError(
            f"the image has too many pixels; the limit is {limits.max_image_pixels / 1e6:g} megapixels"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InputError(
            f"cannot read {path.name} as an image ({type(error).__name__}); upload a PNG, JPG or WebP file"
        ) from None
    return composite_on_white(array)


def _check_pixels(width: int, height: int, limits: Limits) -> None:
    if width * height > limits.max_image_pixels:
        raise InputError(
            f"the image is {width}x{height} pixels; the limit is {limits.max_image_pixels / 1e6:g} megapixels"
        )


def frame_image(image: np.ndarray, size: tuple[int, int], mode: str = "crop") -> np.ndarray:
    """Fit an RGB image to ``size`` (height, width): centre-crop (``"crop"``) or pad with white (``"pad"``)."""
    if mode not in FRAMING_MODES:
        raise InputError(f"unknown framing {mode!r}; choose one of {', '.join(FRAMING_MODES)}")
    target_height, target_width = size
    height, width = image.shape[:2]
    if mode == "crop":
        scale = max(target_height / height, target_width / width)
        crop_height, crop_width = round(target_height / scale), round(target_width / scale)
        top, left = (height - crop_height) // 2, (width - crop_width) // 2
        image = image[top : top + crop_height, left : left + crop_width]
    else:
        scale = min(target_height / height, target_width / width)
        pad_height, pad_width = round(target_height / scale), round(target_width / scale)
        top, left = (pad_height - height) // 2, (pad_width - width) // 2
        padding = ((top, pad_height - height - top), (left, pad_width - width - left), (0, 0))
        image = np.pad(image, padding, constant_values=255)
    if image.shape[:2] == (target_height, target_width):
        return np.ascontiguousarray(image)
    return np.array(Image.fromarray(image).resize((target_width, target_height), Image.Resampling.LANCZOS))


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


def side_by_side(images: Sequence[np.ndarray], height: int | None = None) -> np.ndarray:
    """Images placed left to right, each resized to ``height`` (default: the height of the first)."""
    height = height or images[0].shape[0]
    resized = [
        image
        if image.shape[0] == height
        else np.asarray(Image.fromarray(image).resize((round(image.shape[1] * height / image.shape[0]), height)))
        for image in images
    ]
    return np.concatenate(resized, axis=1)


def label_image(image: np.ndarray, text: str) -> np.ndarray:
    """The image with a white caption strip above it (for comparison grids)."""
    height = max(18, image.shape[0] // 12)
    strip = Image.new("RGB", (image.shape[1], height), "white")
    draw = ImageDraw.Draw(strip)
    font = ImageFont.load_default(size=round(height * 0.7))
    draw.text((image.shape[1] / 2, height / 2), text, fill=(40, 40, 40), font=font, anchor="mm")
    return np.concatenate([np.asarray(strip), image], axis=0)


def write_gif(path: str | Path, frames: np.ndarray, fps: float) -> Path:
    """Frames (N, H, W, 3) uint8 as a looping GIF."""
    iio.imwrite(path, frames, extension=".gif", duration=round(1000 / fps), loop=0)
    return Path(path)


class OutputFolder:
    """A private temporary folder for the files the app returns; files older than ``max_age_s`` are pruned.

    Gradio copies returned files into its own cache (pruned by ``delete_cache``), so ours only need to outlive the
    request. The folder itself is removed when the process exits.
    """

    def __init__(self, max_age_s: float = 600.0) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="animeceleb-app-"))
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
