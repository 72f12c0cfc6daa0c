"""Small helpers shared by tests: running the CLI as a user would."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO_ROOT


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m animeceleb ARGS`` from the repository root; returns the completed process (never raises)."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "animeceleb", *args],
        cwd=REPO_ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# Tiny architectures for fast tests (shapes only; weights random).
TINY_NETS = {"descriptor_nc": 16, "warp_base_nc": 4, "warp_max_nc": 16, "edit_base_nc": 4, "edit_max_nc": 16}
TINY_FOMM = {
    "num_kp": 5,
    "kp_block_expansion": 4,
    "kp_max_features": 16,
    "kp_num_blocks": 3,
    "generator_block_expansion": 4,
    "generator_max_features": 16,
    "num_bottleneck_blocks": 1,
    "dense_motion_block_expansion": 4,
    "dense_motion_max_features": 16,
    "dense_motion_num_blocks": 3,
}
