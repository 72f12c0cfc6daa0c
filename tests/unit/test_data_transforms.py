"""Pixel handling of the data pipeline: compositing on white (SPEC 6.4) and the colour jitter (SPEC 6.5)."""

from __future__ import annotations

import colorsys

import numpy as np
import torch
from PIL import Image

from animeceleb.data.transforms import ColorJitter, composite_image_on_white, to_tensor


def test_composite_image_on_white_truncates_like_the_official_loader() -> None:
    rgba = np.array([[[200, 10, 0, 0], [200, 10, 0, 128]], [[200, 10, 0, 255], [0, 0, 0, 1]]], dtype=np.uint8)
    out = np.asarray(composite_image_on_white(Image.fromarray(rgba, "RGBA")))
    alpha = rgba[..., 3:].astype(np.float32) / np.float32(255)
    expected = (rgba[..., :3].astype(np.float32) * alpha + (1 - alpha) * 255).astype(np.uint8)
    assert np.array_equal(out, expected)
    # float32: 200*a + (1-a)*255 = 227.39 -> 227; 0*a + (1-a)*255 = 126.99999 -> 126 (truncated, not rounded)
    assert out[0, 1].tolist() == [227, 132, 126]


def test_rgb_passes_through_unchanged() -> None:
    image = Image.fromarray(np.arange(48, dtype=np.uint8).reshape(4, 4, 3), "RGB")
    assert composite_image_on_white(image) is image


def test_to_tensor_is_chw_in_unit_range() -> None:
    image = np.zeros((2, 3, 3), dtype=np.uint8)
    image[0, 1] = (255, 51, 0)
    tensor = to_tensor(image)
    assert tensor.shape == (3, 2, 3) and tensor.dtype == torch.float32
    assert torch.equal(tensor[:, 0, 1], torch.tensor([255, 51, 0], dtype=torch.float32) / 255)


def test_jitter_draws_are_in_range_and_reproducible() -> None:
    draws = [ColorJitter.sample(np.random.default_rng(seed)) for seed in range(200)]
    assert draws[3] == ColorJitter.sample(np.random.default_rng(3))
    for name in ("brightness", "contrast", "saturation"):
        values = [getattr(draw, name) for draw in draws]
        assert 0.9 <= min(values) < 0.92 and 1.08 < max(values) <= 1.1
    assert -0.1 <= min(d.hue for d in draws) < -0.08 and 0.08 < max(d.hue for d in draws) <= 0.1
    assert all(sorted(d.order) == [0, 1, 2, 3] for d in draws) and len({d.order for d in draws}) > 12


def test_each_jitter_operation_does_what_it_names() -> None:
    image = Image.fromarray(np.full((4, 4, 3), (200, 100, 50), dtype=np.uint8))
    brighter = ColorJitter(1.1, 1.0, 1.0, 0.0, (0,))(image)
    assert np.asarray(brighter)[0, 0].tolist() == [220, 110, 55]
    shifted = np.asarray(ColorJitter(1.0, 1.0, 1.0, 0.1, (3,))(image))[0, 0] / 255
    hue_before = colorsys.rgb_to_hsv(200 / 255, 100 / 255, 50 / 255)[0]
    assert abs(colorsys.rgb_to_hsv(*shifted)[0] - hue_before - 0.1) < 0.02
    grey = np.asarray(ColorJitter(1.0, 1.0, 0.0, 0.0, (2,))(image))[0, 0]
    assert grey.max() - grey.min() <= 1
