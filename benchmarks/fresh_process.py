"""Run one measurement in a fresh process, so that its timings and peak RSS are its own."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any


def _call(queue: multiprocessing.Queue, function: Callable[..., Any], args: tuple[Any, ...]) -> None:
    queue.put(function(*args))


def run_in_fresh_process(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` computed in a newly spawned Python process; its (picklable) result."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_call, args=(queue, function, args))
    process.start()
    result = queue.get()
    process.join()
    return result
