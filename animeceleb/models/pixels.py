"""Pixel-range conversion between images in [0, 1] and the range a model's weights expect (SPEC 0.2)."""

from __future__ import annotations

import torch


def to_model_range(images: torch.Tensor, input_range: tuple[float, float]) -> torch.Tensor:
    """Map images in [0, 1] to ``input_range`` (official weights: [0, 1], a no-op)."""
    low, high = input_range
    return images if (low, high) == (0.0, 1.0) else images * (high - low) + low


def from_model_range(images: torch.Tensor, input_range: tuple[float, float]) -> torch.Tensor:
    """Map a model output in ``input_range`` back to [0, 1], clamped (the tanh output can leave the range)."""
    low, high = input_range
    return ((images - low) / (high - low)).clamp(0.0, 1.0)
