"""Pixel handling of the official data pipeline (SPEC 6.4, 6.5): compositing on white, colour jitter, tensors.

The jitter reproduces torchvision's ``ColorJitter`` on PIL images (brightness, contrast, saturation and hue, each of
strength 0.1, applied in a random order) without depending on torchvision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageEnhance


def composite_on_white(image: Image.Image) -> Image.Image:
    """An RGB image: RGBA composited over white exactly as the official loader does (SPEC 6.4).

    ``rgb = c * a + (1 - a) * 255`` with ``a = alpha / 255`` in float32, then truncated (not rounded) to uint8.
    RGB images are returned unchanged; other modes are converted to RGB(A) first.
    """
    if image.mode == "RGB":
        return image
    if image.mode not in ("RGBA", "LA", "P", "PA") and "transparency" not in image.info:
        return image.convert("RGB")
    rgba = np.asarray(image.convert("RGBA"))
    alpha = rgba[..., 3:4].astype(np.float32) / np.float32(255)
    rgb = rgba[..., :3].astype(np.float32) * alpha + (np.float32(1) - alpha) * np.float32(255)
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def to_tensor(image: Image.Image | np.ndarray) -> torch.Tensor:
    """An RGB uint8 image as a float32 CHW tensor in [0, 1] (``img_as_float32`` then transpose, SPEC 6.4)."""
    array = np.asarray(image, dtype=np.uint8)
    return torch.from_numpy(array.astype(np.float32) / np.float32(255)).permute(2, 0, 1).contiguous()


@dataclass(frozen=True)
class ColorJitter:
    """One draw of the official colour jitter; apply the same instance to both images of a pair (SPEC 6.5)."""

    brightness: float
    contrast: float
    saturation: float
    hue: float
    order: tuple[int, ...]  # a permutation of (0 brightness, 1 contrast, 2 saturation, 3 hue)

    @classmethod
    def sample(cls, rng: np.random.Generator, strength: float = 0.1) -> ColorJitter:
        """Factors uniform in [1 - strength, 1 + strength], hue shift uniform in [-strength, strength]."""
        low, high = 1.0 - strength, 1.0 + strength
        factors = rng.uniform(low, high, 3)
        return cls(
            *(float(f) for f in factors),
            float(rng.uniform(-strength, strength)),
            tuple(int(i) for i in rng.permutation(4)),
        )

    def __call__(self, image: Image.Image) -> Image.Image:
        """Jitter an RGB image (uint8 round trip after each operation, like torchvision's PIL path)."""
        for step in self.order:
            if step == 0:
                image = ImageEnhance.Brightness(image).enhance(self.brightness)
            elif step == 1:
                image = ImageEnhance.Contrast(image).enhance(self.contrast)
            elif step == 2:
                image = ImageEnhance.Color(image).enhance(self.saturation)
            else:
                image = _shift_hue(image, self.hue)
        return image


def _shift_hue(image: Image.Image, hue: float) -> Image.Image:
    """Rotate the hue by ``hue`` turns in PIL's 8-bit HSV (as torchvision's ``adjust_hue`` does for PIL images)."""
    h, s, v = image.convert("HSV").split()
    shifted = (np.asarray(h, dtype=np.uint8) + np.uint8(int(hue * 255) % 256)).astype(np.uint8)  # wraps around
    return Image.merge("HSV", (Image.fromarray(shifted, "L"), s, v)).convert(image.mode)
