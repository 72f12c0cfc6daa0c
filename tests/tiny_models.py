"""Tiny random model folders (64x64) for fast app tests on CPU."""

from __future__ import annotations

from pathlib import Path

import torch

from animeceleb.models import FOMM, Animo, AnimoConfig, FOMMConfig, PIRenderer, PIRendererConfig
from tests.helpers import TINY_FOMM

TINY_IMAGE_SIZE = (64, 64)
# Twice the width of tests.helpers.TINY_NETS: at that size random weights barely react to a few degrees of head
# angle, and the app tests check that outputs follow the pose.
APP_NETS = {"descriptor_nc": 32, "warp_base_nc": 8, "warp_max_nc": 32, "edit_base_nc": 8, "edit_max_nc": 32}


def save_tiny_models(root: Path) -> dict[str, Path]:
    """Write a seeded tiny Animo (anime nets only), PIRenderer and FOMM under ``root``; their folders by family."""
    torch.manual_seed(0)
    models = {
        "animo": Animo(AnimoConfig(**APP_NETS, image_size=TINY_IMAGE_SIZE, domains=("anime",))),
        "pirenderer": PIRenderer(PIRendererConfig(**APP_NETS, image_size=TINY_IMAGE_SIZE)),
        "fomm": FOMM(FOMMConfig(**TINY_FOMM, image_size=TINY_IMAGE_SIZE)),
    }
    for name, model in models.items():
        model.save_pretrained(root / name)
    return {name: root / name for name in models}
