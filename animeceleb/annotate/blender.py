"""Run the Blender worker (``blender_worker.py``) in the Blender environment as a subprocess.

Blender's Python module pins numpy<2, so it lives in its own virtual environment (``.venv-blender``, made by
``make blender-env`` from ``requirements-blender.txt``) and the main environment never imports it: it writes a JSON
job file, starts the worker with that environment's Python and reads progress lines back. A run that prints no
progress for ``timeout`` seconds is stopped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from animeceleb.errors import AnimeCelebError, InputError

logger = logging.getLogger(__name__)

BLENDER_PYTHON_ENV = "ANIMECELEB_BLENDER_PYTHON"  # overrides where the Blender environment's Python is
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BLENDER_PYTHON = REPO_ROOT / ".venv-blender" / "bin" / "python"
WORKER = Path(__file__).with_name("blender_worker.py")
MARKER = "@animeceleb"  # the worker's progress lines start with this; Blender's own logs are ignored


def blender_python() -> Path:
    """The Blender environment's Python: ``$ANIMECELEB_BLENDER_PYTHON`` or ``.venv-blender/bin/python``."""
    path = Path(os.environ.get(BLENDER_PYTHON_ENV) or DEFAULT_BLENDER_PYTHON)
    if not path.exists():
        raise AnimeCelebError(
            f"the Blender environment is missing ({path} not found): run `make blender-env` in {REPO_ROOT} "
            f"(installs bpy and bpy-vrm-format from requirements-blender.txt into .venv-blender), "
            f"or point {BLENDER_PYTHON_ENV} at a Python that can import bpy"
        )
    return path


def run_worker(job: dict, *, timeout: float, on_progress: Callable[[int], None] | None = None) -> None:
    """Run one job; ``on_progress(i)`` is called as frame i is written. Model problems raise ``InputError``."""
    python = blender_python()
    with tempfile.TemporaryDirectory(prefix="animeceleb-blender-") as scratch:
        job_path = Path(scratch) / "job.json"
        job_path.write_text(json.dumps(job), encoding="utf-8")
        with (Path(scratch) / "stderr.txt").open("w+", encoding="utf-8", errors="replace") as stderr:
            process = subprocess.Popen(
                [str(python), str(WORKER), str(job_path)],
                stdout=subprocess.PIPE,
                stderr=stderr,
                stdin=subprocess.DEVNULL,
                text=True,
                errors="replace",
                start_new_session=True,  # so a stuck Blender can be stopped with everything it started
            )
            error, finished = _follow(process, timeout, on_progress)
            stderr.seek(0)
            errors = stderr.read()
    if error:
        raise InputError(f"Blender could not use the model: {error}")
    if not finished:
        tail = "\n".join(errors.strip().splitlines()[-15:])
        raise AnimeCelebError(f"the Blender worker failed (exit code {process.returncode}):\n{tail}")


def _follow(
    process: subprocess.Popen, timeout: float, on_progress: Callable[[int], None] | None
) -> tuple[str | None, bool]:
    """Read the worker's stdout until it exits; returns (its error message or None, whether it finished)."""
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
    error, finished = None, False
    while True:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            _stop(process)
            raise AnimeCelebError(
                f"Blender made no progress for {timeout:g} s and was stopped; raise the timeout for slow engines"
            ) from None
        if line is None:
            break
        if not line.startswith(MARKER):
            logger.debug("blender: %s", line.rstrip())
            continue
        kind, _, value = line[len(MARKER) :].strip().partition(" ")
        if kind == "done" and on_progress:
            on_progress(int(value))
        elif kind == "error":
            error = value
        elif kind == "finished":
            finished = True
    process.wait()
    return error, finished and process.returncode == 0


def _pump(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _stop(process: subprocess.Popen) -> None:
    """Kill the worker's process group (it was started in its own session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
