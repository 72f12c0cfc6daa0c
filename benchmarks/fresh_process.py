"""Run one measurement in a fresh process, so that its timings and peak RSS are its own."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Mapping
from typing import Any


def _call(queue: multiprocessing.Queue, function: Callable[..., Any], args: tuple[Any, ...]) -> None:
    queue.put(function(*args))


def run_in_fresh_process(function: Callable[..., Any], *args: Any, env: Mapping[str, str] | None = None) -> Any:
    """``function(*args)`` computed in a newly spawned Python process (with ``env`` added to its environment, e.g.
    ``LD_PRELOAD``, which only a new process can take); its (picklable) result."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_call, args=(queue, function, args))
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        process.start()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    result = queue.get()
    process.join()
    return result
