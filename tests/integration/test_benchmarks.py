"""Every benchmark script runs end to end on a tiny workload and prints its table (they must not rot between the
times someone measures with them). Their numbers are not checked here: speed is judged by running them for real."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

SMOKE_RUNS = {
    "bench_inference.py": (["--models", "compact default", "--frames", "2", "--repeats", "1"], "speed-up"),
    "bench_live.py": (["--frames", "2", "--warmup", "1"], "target <= 40 ms/frame"),
    "bench_app_latency.py": (["--changes", "2", "--warmup", "1"], "acceptance: browser-style median"),
    "bench_drive.py": (["--frames", "10", "--repeats", "1"], "acceptance: tracked"),
    "bench_synthetic.py": (["--images", "20"], "acceptance: 1000 images written"),
    "bench_train.py": (["--models", "animo", "--warmup", "1", "--steps", "1", "--repeats", "1"], "speed-up"),
    "bench_annotate.py": (["--frames", "2", "--size", "64"], "ratio: annotate per-frame time"),
    "bench_losses.py": (["--batch", "2", "--size", "32", "--repeats", "1"], "speed-up of our SSIM"),
}


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(SMOKE_RUNS))
def test_benchmark_script_runs(script: str) -> None:
    args, expected = SMOKE_RUNS[script]
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / script), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"{script} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    assert expected in result.stdout, result.stdout[-2000:]
