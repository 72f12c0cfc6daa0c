"""The real app, launched once per session on a free port with tiny random models (fast on CPU)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

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
def app_url(tiny_models: dict[str, Path]) -> Iterator[str]:
    """URL of the app built by ``build_demo()`` and launched with ``launch_options()`` (port changed)."""
    from animeceleb.ui import build_demo, launch_options

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ANIMECELEB_MODEL", str(tiny_models["animo"]))
        demo = build_demo()
        port = free_port()
        demo.launch(prevent_thread_lock=True, quiet=True, **{**launch_options(), "server_port": port})
        yield f"http://127.0.0.1:{port}/"
        demo.close()
