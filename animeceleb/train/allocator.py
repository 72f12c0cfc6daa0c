"""tcmalloc for CPU training. PyTorch's CPU kernels allocate and free large buffers every step; glibc's malloc hands
them back to the system and faults them in again, tcmalloc reuses them (``benchmarks/bench_train.py`` measures it)."""

from __future__ import annotations

import ctypes.util
from pathlib import Path

TCMALLOC_LIBRARIES = ("tcmalloc_minimal", "tcmalloc")
INSTALL_HINT = "apt-get install libtcmalloc-minimal4 (Debian/Ubuntu)"


def find_tcmalloc() -> str | None:
    """The tcmalloc shared library the dynamic linker can find (a name for ``LD_PRELOAD``), or None."""
    for name in TCMALLOC_LIBRARIES:
        found = ctypes.util.find_library(name)
        if found:
            return found
    return None


def tcmalloc_loaded(maps: Path = Path("/proc/self/maps")) -> bool:
    """Whether this process runs on tcmalloc (read from its memory map; False where there is none, e.g. macOS)."""
    try:
        return "tcmalloc" in maps.read_text()
    except OSError:
        return False


def tcmalloc_advice() -> str | None:
    """How to run CPU training on tcmalloc, or None when this process already does."""
    if tcmalloc_loaded():
        return None
    library = find_tcmalloc()
    start = f"prefix the command with LD_PRELOAD={library}" if library else f"{INSTALL_HINT}, then LD_PRELOAD it"
    return f"CPU training is faster and needs less memory on tcmalloc (benchmarks/bench_train.py): {start}"
