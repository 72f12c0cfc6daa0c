"""Shared test setup: offline, no telemetry, and where the official goldens live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
GOLDEN_DIR = REPO_ROOT.parent / "shared" / "golden"


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    """``../shared/golden`` beside the checkout; tests using it skip when it is absent."""
    if not GOLDEN_DIR.is_dir():
        pytest.skip(f"official goldens not found at {GOLDEN_DIR} (they live in ../shared/golden beside the checkout)")
    return GOLDEN_DIR
