"""Image conversions at the boundary between user images (uint8 HxWxC) and model tensors (float, [0, 1])."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from animeceleb.errors import InputError
from animeceleb.imaging import composite_on_white

MIN_SIZE = 16  # pixels: smaller sources carry no usable face


def image_to_tensor(image: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """A user image (uint8 H x W x 1/3/4) as a (1, 3, H', W') float tensor in [0, 1] resized to ``size``."""
    if min(np.shape(image)[:2]) < MIN_SIZE:
        raise InputError(
            f"the image is too small ({np.shape(image)[1]}x{np.shape(image)[0]}); use at least {MIN_SIZE}x{MIN_SIZE}"
        )
    return _resized(torch.from_numpy(composite_on_white(image)), size)


def alpha_to_tensor(image: np.ndarray, size: tuple[int, int]) -> torch.Tensor | None:
    """The alpha channel of an RGBA image as (1, 1, H', W') in [0, 1], resized exactly like ``image_to_tensor``
    resizes the colours; ``None`` for images without alpha."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 4:
        return None
    return _resized(torch.from_numpy(np.ascontiguousarray(image[:, :, 3:])), size)


def _resized(pixels: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """uint8 (H, W, C) -> (1, C, H', W') float in [0, 1], antialiased bilinear to ``size`` when it differs."""
    tensor = pixels.permute(2, 0, 1)[None].float() / 255
    if tuple(tensor.shape[2:]) != tuple(size):
        tensor = F.interpolate(tensor, size=size, mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
    return tensor


def tensor_to_images(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) float tensor in [0, 1] -> (N, H, W, C) uint8 array (C = 3, or 4 with alpha)."""
    return (images.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
