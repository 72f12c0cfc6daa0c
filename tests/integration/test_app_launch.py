"""``python app.py`` as a Space runs it: honours PORT and GRADIO_SERVER_NAME, and starts without trained weights."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from gradio_client import Client

from tests.browser.conftest import free_port
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.timeout(180)


def wait_for(url: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"app.py exited with {process.returncode}:\n{process.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"app.py did not answer on {url} within {seconds} s")


def test_app_py_starts_on_port_and_falls_back_without_weights(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "ANIMECELEB_MODEL": str(tmp_path / "no-weights-here"),
        "GRADIO_TEMP_DIR": str(tmp_path / "gradio"),
    }
    process = subprocess.Popen(
        [sys.executable, "app.py"], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for(url, process)
        status = Client(url, verbose=False).predict("default", api_name="/load_model")
        assert "animo_compact (random)" in status and "could not be loaded" in status
    finally:
        process.terminate()
        process.wait(timeout=30)
