"""The real app, launched once per session on a free port with tiny random models (fast on CPU)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from animeceleb.models import Animo, AnimoConfig, PIRenderer, PIRendererConfig

TINY_SIZES = {"descriptor_nc": 32, "warp_base_nc": 8, "warp_max_nc": 32, "edit_base_nc": 8, "edit_max_nc": 32}
TINY_IMAGE_SIZE = (64, 64)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Model folders of a tiny random Animo (the app's default in these tests) and a tiny random PIRenderer."""
    root = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    models = {
        "animo": Animo(AnimoConfig(**TINY_SIZES, image_size=TINY_IMAGE_SIZE, domains=("anime",))),
        "pirenderer": PIRenderer(PIRendererConfig(**TINY_SIZES, image_size=TINY_IMAGE_SIZE)),
    }
    for name, model in models.items():
        model.save_pretrained(root / name)
    return {name: root / name for name in models}


@pytest.fixture(scope="session")
def app_url(tiny_models: dict[str, Path]) -> Iterator[str]:
    """URL of the app built by ``build_demo()`` and launched with ``launch_options()`` (port changed)."""
    previous = os.environ.get("ANIMECELEB_MODEL")
    os.environ["ANIMECELEB_MODEL"] = str(tiny_models["animo"])
    from animeceleb.ui import build_demo, launch_options

    demo = build_demo()
    port = free_port()
    demo.launch(prevent_thread_lock=True, quiet=True, **{**launch_options(), "server_port": port})
    yield f"http://127.0.0.1:{port}/"
    demo.close()
    if previous is None:
        os.environ.pop("ANIMECELEB_MODEL")
    else:
        os.environ["ANIMECELEB_MODEL"] = previous
