"""Safe file access for the app: which server folders a user may browse, and which files Gradio may serve.

A public Space must never expose the server's files. The dataset browser reads only inside the folders listed in the
``ANIMECELEB_DATA_ROOTS`` environment variable (``os.pathsep``-separated; none by default, so browsing is off), and
every path it is given must resolve inside one of them: ``..`` components are refused outright, and symbolic links
are resolved first, so a link pointing out of a root is refused too. Files from those roots reach the browser as
image data, never as paths: Gradio's ``allowed_paths`` holds only the project's examples and the app's temp folder.
UI-independent (no gradio import). Own work of this project, MIT licence.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath

from animeceleb.errors import InputError

ROOTS_VARIABLE = "ANIMECELEB_DATA_ROOTS"
EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
TEMP_DIR_NAME = "animeceleb-studio"


class PathRefused(InputError):
    """A path outside the folders the app may read, or otherwise unsafe; the message says why."""


def data_roots(environ: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """The folders the dataset browser may read, from ``ANIMECELEB_DATA_ROOTS`` (empty when unset).

    Each root must be an existing folder; it is returned resolved (symbolic links followed).
    """
    value = (os.environ if environ is None else environ).get(ROOTS_VARIABLE, "")
    roots = []
    for entry in filter(None, (part.strip() for part in value.split(os.pathsep))):
        root = Path(entry).expanduser()
        if not root.is_absolute() or not root.is_dir():
            raise InputError(f"{ROOTS_VARIABLE} lists {entry!r}, which is not an absolute path to an existing folder")
        roots.append(root.resolve())
    return tuple(roots)


def safe_path(path: str | PurePath, roots: Sequence[Path]) -> Path:
    """``path`` resolved, after checking it stays inside one of ``roots``; ``PathRefused`` otherwise.

    A relative path is taken relative to the first root. ``..`` components and NUL characters are refused before
    anything touches the file system; the resolved path (symbolic links followed) must lie inside a root.
    """
    if not roots:
        raise PathRefused(f"browsing server folders is off: no data folders are set ({ROOTS_VARIABLE} is empty)")
    text = os.fspath(path)
    if "\x00" in text:
        raise PathRefused("refused a path containing a NUL character")
    if ".." in PurePath(text).parts:
        raise PathRefused(f"refused {text!r}: '..' is not allowed in paths")
    candidate = Path(text).expanduser() if Path(text).is_absolute() else roots[0] / text
    resolved = candidate.resolve()
    if not any(resolved.is_relative_to(root) for root in roots):
        raise PathRefused(f"refused {text!r}: it is outside the allowed data folders ({_listing(roots)})")
    return resolved


def list_folder(path: str | PurePath, roots: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """The sub-folders and files of a folder inside ``roots``, sorted; entries leading outside are left out."""
    folder = safe_path(path, roots)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder")
    folders, files = [], []
    for entry in sorted(folder.iterdir()):
        resolved = entry.resolve()
        if not any(resolved.is_relative_to(root) for root in roots):
            continue  # a symbolic link out of the roots
        (folders if resolved.is_dir() else files).append(entry)
    return folders, files


def app_temp_dir() -> Path:
    """The folder the app writes its results to (created on first use)."""
    folder = Path(tempfile.gettempdir()) / TEMP_DIR_NAME
    folder.mkdir(exist_ok=True)
    return folder


def allowed_paths() -> list[str]:
    """What to pass as Gradio's ``allowed_paths``: the project's examples and the app's temp folder, nothing else."""
    return [str(EXAMPLES_DIR), str(app_temp_dir())]


def _listing(roots: Sequence[Path]) -> str:
    return ", ".join(str(root) for root in roots)
