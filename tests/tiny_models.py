"""Tiny random model folders (64x64, a few thousand parameters per net) for fast app tests on CPU."""

from __future__ import annotations

from pathlib import Path

import torch

from animeceleb.models import Animo, AnimoConfig, PIRenderer, PIRendererConfig

TINY_SIZES = {"descriptor_nc": 32, "warp_base_nc": 8, "warp_max_nc": 32, "edit_base_nc": 8, "edit_max_nc": 32}
TINY_IMAGE_SIZE = (64, 64)


def save_tiny_models(root: Path) -> dict[str, Path]:
    """Write a seeded tiny Animo (anime nets only) and PIRenderer under ``root``; returns their folders by family."""
    torch.manual_seed(0)
    models = {
        "animo": Animo(AnimoConfig(**TINY_SIZES, image_size=TINY_IMAGE_SIZE, domains=("anime",))),
        "pirenderer": PIRenderer(PIRendererConfig(**TINY_SIZES, image_size=TINY_IMAGE_SIZE)),
    }
    for name, model in models.items():
        model.save_pretrained(root / name)
    return {name: root / name for name in models}
