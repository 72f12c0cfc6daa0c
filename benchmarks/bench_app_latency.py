"""Slider latency of the app, measured the way the browser makes it, against ``gradio_client.predict``.

The browser uploads the source once; then every slider change is one queued call (``/gradio_api/queue/join`` plus
the ``/gradio_api/queue/data`` event stream, with the upload's file reference) followed by fetching the output
image. ``gradio_client.predict`` (the baseline) re-uploads the image and polls, adding its own overhead. Both run in
the same process against the same server and model; the model alone (prepared source, one pose) is shown too.
Acceptance (issue 8): browser-style slider update <= 150 ms with the default (compact) model.

    python benchmarks/bench_app_latency.py --changes 20
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import torch

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from gradio_client import Client, handle_file  # noqa: E402

from animeceleb.pose import POSE_NAMES, pose_index  # noqa: E402
from animeceleb.ui import build_demo, launch_options  # noqa: E402
from animeceleb.ui.handlers import REGISTRY, SOURCES, _source_for, source_framing  # noqa: E402

SOURCE = REPO_ROOT / "examples" / "character_13.png"
TARGET_MS = 150.0


def slider_values(change: int) -> list[float]:
    """The 20 slider values after the ``change``-th move: mouth_a and head_yaw sweep, so every output differs."""
    values = [0.0] * len(POSE_NAMES)
    values[pose_index("mouth_a")] = round((change % 10) / 10, 2)
    values[pose_index("head_yaw")] = float(change % 7 * 5 - 15)
    return values


class BrowserStyleSession:
    """One browser tab: the source uploaded once, then a queued call per slider change plus the image fetch."""

    def __init__(self, url: str, fn_index: int, source: Path) -> None:
        self.url, self.fn_index = url, fn_index
        self.http = httpx.Client(base_url=url, timeout=60)
        self.session_hash = uuid.uuid4().hex[:11]
        with source.open("rb") as handle:
            response = self.http.post("gradio_api/upload", files={"files": (source.name, handle, "image/png")})
        path = response.raise_for_status().json()[0]
        self.source = {"path": path, "orig_name": source.name, "meta": {"_type": "gradio.FileData"}}

    def change(self, values: list[float]) -> bytes:
        """Send one slider change and return the PNG bytes the page would display."""
        body = {
            "data": [self.source, "default", "auto", "", 1.0, 0.0, 0.0, *values],  # source, model, framing controls
            "fn_index": self.fn_index,
            "session_hash": self.session_hash,
            "event_data": None,
            "trigger_id": None,
        }
        self.http.post("gradio_api/queue/join", json=body).raise_for_status()
        with self.http.stream("GET", "gradio_api/queue/data", params={"session_hash": self.session_hash}) as events:
            for line in events.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    if not message.get("success"):
                        raise RuntimeError(f"the app failed: {message}")
                    image_url = message["output"]["data"][0]["url"]
                    break
        return self.http.get(image_url).raise_for_status().content


def fn_index_of(demo: object, api_name: str) -> int:
    for index, block_fn in demo.fns.items():
        if block_fn.api_name == api_name:
            return index
    raise KeyError(api_name)


def timed(call: Callable[[int], object], changes: int, warmup: int) -> list[float]:
    for change in range(warmup):
        call(change)
    times = []
    for change in range(warmup, warmup + changes):
        start = time.perf_counter()
        call(change)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20, help="timed slider changes per method")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    demo = build_demo()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    demo.launch(prevent_thread_lock=True, quiet=True, **{**launch_options(), "server_port": port})
    url = f"http://127.0.0.1:{port}/"
    loaded = REGISTRY.get("default")
    try:
        animator = SOURCES.animator(loaded, _source_for(str(SOURCE), source_framing(), loaded)[1])
        model_only = timed(lambda change: animator(np.array([slider_values(change)], np.float32)), args.changes, 2)
        browser = BrowserStyleSession(url, fn_index_of(demo, "animate_pose"), SOURCE)
        browser_times = timed(lambda change: browser.change(slider_values(change)), args.changes, args.warmup)
        client = Client(url, verbose=False)
        source = handle_file(SOURCE)

        def predict(change: int) -> object:
            named = dict(zip(POSE_NAMES, slider_values(change), strict=True))
            return client.predict(source, **named, api_name="/animate_pose")

        client_times = timed(predict, args.changes, args.warmup)
    finally:
        demo.close()

    print(f"model: {loaded.label} ({type(loaded.model).__name__}, {loaded.image_size[1]}x{loaded.image_size[0]})")
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} CPU cores, torch threads {torch.get_num_threads()}, load average {load:.1f}")
    print(f"{'method':<44} {'median ms':>10} {'p90 ms':>8}")
    rows = [
        ("model alone (prepared source, 1 pose)", model_only),
        ("browser-style: queue/join + SSE + image GET", browser_times),
        ("baseline: gradio_client.predict", client_times),
    ]
    for name, times in rows:
        p90 = float(np.percentile(times, 90))
        print(f"{name:<44} {statistics.median(times):>10.1f} {p90:>8.1f}")
    browser_ms, client_ms = statistics.median(browser_times), statistics.median(client_times)
    print(f"browser-style / gradio_client: {browser_ms / client_ms:.2f}x; app overhead over the model: ", end="")
    print(f"{browser_ms - statistics.median(model_only):.1f} ms")
    verdict = "PASS" if browser_ms <= TARGET_MS else "FAIL"
    print(f"acceptance: browser-style median {browser_ms:.1f} ms <= {TARGET_MS:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
