"""The real app, launched once per session on a free port with tiny random models (fast on CPU), and headless
Chromium (Debian's, installed by ``make system-deps``) to open it."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from animeceleb.data import write_synthetic_dataset
from tests.conftest import REPO_ROOT
from tests.tiny_models import save_tiny_models

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SOURCE = REPO_ROOT / "examples" / "character_18_transparent.png"  # uploaded by the browser tests; RGBA, so the
# results must keep its transparency


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


@contextmanager
def chromium(*extra_args: str) -> Iterator[object]:
    """A headless Chromium (a Playwright ``Browser``) launched with ``CHROMIUM_ARGS`` and ``extra_args``."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}; run `make system-deps` (apt package chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield browser
        finally:
            browser.close()


def open_app(browser: object, app_url: str) -> object:
    """A new page (1440x1100) of the app with ``SOURCE`` uploaded and framed: ready to animate."""
    page = browser.new_page(viewport={"width": 1440, "height": 1100})
    page.goto(app_url)
    page.get_by_text("AnimeCeleb Studio").first.wait_for()
    page.locator("#source-image input[type=file]").set_input_files(SOURCE)
    page.locator("#model-view img").wait_for()
    return page
