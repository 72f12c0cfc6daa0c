"""The real app, launched once per session on a free port with tiny random models (fast on CPU)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from animeceleb.data import write_synthetic_dataset
from tests.tiny_models import save_tiny_models


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Model folders of a tiny random Animo (the app's default in these tests) and a tiny random PIRenderer."""
    return save_tiny_models(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def dataset_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny synthetic dataset in the official layout (2 identities x 3 frames, 64x64)."""
    root = tmp_path_factory.mktemp("dataset")
    write_synthetic_dataset(root, identities=2, frames_per_identity=3, size=64)
    return root


@pytest.fixture(scope="session")
def app_url(tiny_models: dict[str, Path], dataset_root: Path) -> Iterator[str]:
    """URL of the app built by ``build_demo()`` and launched with ``launch_options()`` (port changed), with the tiny
    Animo as its default model and the tiny dataset as its only dataset folder."""
    from animeceleb.ui import build_demo, launch_options

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ANIMECELEB_MODEL", str(tiny_models["animo"]))
        patch.setenv("ANIMECELEB_DATA_ROOTS", str(dataset_root))
        demo = build_demo()
        port = free_port()
        demo.launch(prevent_thread_lock=True, quiet=True, **{**launch_options(), "server_port": port})
        yield f"http://127.0.0.1:{port}/"
        demo.close()
