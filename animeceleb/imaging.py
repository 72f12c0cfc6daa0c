"""Image helpers every part of the package shares: reading image files and compositing alpha on white (SPEC 6.4)
or on any background colour."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from animeceleb.errors import InputError

Color = tuple[int, int, int]
WHITE: Color = (255, 255, 255)


def composite_on_white(image: np.ndarray) -> np.ndarray:
    """RGB uint8 (H, W, 3) from gray, RGB or RGBA uint8; alpha composited over white like the dataset (SPEC 6.4)."""
    return composite_on_color(image, WHITE)


def composite_on_color(image: np.ndarray, color: Color) -> np.ndarray:
    """RGB uint8 (H, W, 3) from gray, RGB or RGBA uint8, alpha composited over a background ``color`` (R, G, B)."""
    image = as_rgb_or_rgba(image)
    if image.shape[2] == 3:
        return image
    alpha = image[:, :, 3:].astype(np.float32) / 255
    # float32 then truncation (not rounding) to uint8, exactly like the official loader
    background = np.asarray(color, dtype=np.float32)
    return (image[:, :, :3].astype(np.float32) * alpha + (1 - alpha) * background).astype(np.uint8)


def as_rgb_or_rgba(image: np.ndarray) -> np.ndarray:
    """A uint8 image as (H, W, 3) or (H, W, 4), gray repeated to RGB; ``InputError`` for other dtypes or shapes."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise InputError(f"expected an 8-bit image; got dtype {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise InputError(f"expected an RGB or RGBA image; got shape {image.shape}")
    return image


def read_image(path: str | Path, *, max_pixels: int | None = None) -> np.ndarray:
    """An image file (PNG, JPEG, WebP, ...) as uint8 (H, W, 3), or (H, W, 4) when it has transparency.

    EXIF rotation is applied. ``max_pixels`` (width x height) is checked from the header before anything is decoded,
    against decompression bombs. ``InputError`` says why a file cannot be read.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such image file")
    try:
        with Image.open(path) as image:
            if max_pixels is not None and image.width * image.height > max_pixels:
                raise InputError(
                    f"the image is {image.width}x{image.height} pixels; the limit is {max_pixels / 1e6:g} megapixels"
                )
            image = ImageOps.exif_transpose(image)
            has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            return np.array(image.convert("RGBA" if has_alpha else "RGB"))
    except InputError:
        raise
    except Image.DecompressionBombError:
        limit = f"; the limit is {max_pixels / 1e6:g} megapixels" if max_pixels else ""
        raise InputError(f"{path.name} has too many pixels to be read safely{limit}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InputError(
            f"cannot read {path.name} as an image ({type(error).__name__}); use a PNG, JPG or WebP file"
        ) from None


def side_by_side(images: Sequence[np.ndarray], height: int | None = None) -> np.ndarray:
    """Images (uint8 RGB or RGBA) left to right, each resized to ``height`` (default: the first's height).

    When any image is RGBA the result is RGBA, the RGB ones opaque.
    """
    height = height or images[0].shape[0]
    channels = max(image.shape[2] for image in images)
    resized = []
    for image in images:
        if image.shape[0] != height:
            width = max(1, round(image.shape[1] * height / image.shape[0]))
            image = np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.BILINEAR))
        if image.shape[2] < channels:
            image = np.concatenate([image, np.full((*image.shape[:2], 1), 255, np.uint8)], axis=2)
        resized.append(image)
    return np.concatenate(resized, axis=1)
