"""Image helpers every part of the package shares: reading image files and compositing alpha on white (SPEC 6.4)
or on any background colour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from animeceleb.errors import InputError

Color = tuple[int, int, int]
WHITE: Color = (255, 255, 255)


def composite_on_white(image: np.ndarray) -> np.ndarray:
    """RGB uint8 (H, W, 3) from gray, RGB or RGBA uint8; alpha composited over white like the dataset (SPEC 6.4)."""
    return composite_on_color(image, WHITE)


def composite_on_color(image: np.ndarray, color: Color) -> np.ndarray:
    """RGB uint8 (H, W, 3) from gray, RGB or RGBA uint8, alpha composited over a background ``color`` (R, G, B)."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise InputError(f"expected an 8-bit image; got dtype {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise InputError(f"expected an RGB or RGBA image; got shape {image.shape}")
    if image.shape[2] == 3:
        return image
    alpha = image[:, :, 3:].astype(np.float32) / 255
    # float32 then truncation (not rounding) to uint8, exactly like the official loader
    background = np.asarray(color, dtype=np.float32)
    return (image[:, :, :3].astype(np.float32) * alpha + (1 - alpha) * background).astype(np.uint8)


def read_image(path: str | Path) -> np.ndarray:
    """An image file (PNG, JPEG, WebP, ...) as uint8 (H, W, 3|4); ``InputError`` when it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such image file")
    try:
        with Image.open(path) as image:
            image = image.convert("RGBA" if image.mode in ("RGBA", "LA", "P", "PA") else "RGB")
            return np.asarray(image)
    except (UnidentifiedImageError, OSError) as error:
        raise InputError(f"{path} is not a readable image ({error})") from None
