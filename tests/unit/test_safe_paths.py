"""Safe file access: reads stay inside ANIMECELEB_DATA_ROOTS; traversal and symlink escapes are refused clearly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from animeceleb.errors import InputError
from animeceleb.safe_paths import (
    EXAMPLES_DIR,
    ROOTS_VARIABLE,
    PathRefused,
    allowed_paths,
    app_temp_dir,
    data_roots,
    list_folder,
    safe_path,
)


@pytest.fixture()
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """A data root with a sub-folder and an image, links inside and out, and a secret beside the root."""
    root = tmp_path / "data"
    (root / "ids" / "0001").mkdir(parents=True)
    (root / "ids" / "0001" / "a.png").write_bytes(b"png")
    secret = tmp_path / "secret.txt"
    secret.write_text("do not serve")
    (root / "escape").symlink_to(tmp_path)
    (root / "secret_link.txt").symlink_to(secret)
    (root / "inner_link").symlink_to(root / "ids")
    return root.resolve(), secret


def test_roots_come_from_the_environment(tree: tuple[Path, Path], tmp_path: Path) -> None:
    root, _ = tree
    assert data_roots({}) == ()
    assert data_roots({ROOTS_VARIABLE: f"{root}{os.pathsep}{root / 'ids'}"}) == (root, root / "ids")
    with pytest.raises(InputError, match="not an absolute path to an existing folder"):
        data_roots({ROOTS_VARIABLE: str(tmp_path / "missing")})
    with pytest.raises(InputError, match="not an absolute path"):
        data_roots({ROOTS_VARIABLE: "relative/folder"})


def test_paths_inside_a_root_resolve(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    assert safe_path("ids/0001/a.png", [root]) == root / "ids" / "0001" / "a.png"
    assert safe_path(root / "ids", [root]) == root / "ids"
    assert safe_path("inner_link/0001", [root]) == root / "ids" / "0001"  # a link that stays inside is fine


@pytest.mark.parametrize(
    "attempt, reason",
    [
        ("../secret.txt", "'..' is not allowed"),
        ("ids/../../secret.txt", "'..' is not allowed"),
        ("ids/0001/../../..", "'..' is not allowed"),
        ("/etc/passwd", "outside the allowed data folders"),
        ("escape/secret.txt", "outside the allowed data folders"),
        ("secret_link.txt", "outside the allowed data folders"),
        ("ids/\x00.png", "NUL"),
    ],
)
def test_traversal_is_refused(tree: tuple[Path, Path], attempt: str, reason: str) -> None:
    root, _ = tree
    with pytest.raises(PathRefused, match=reason):
        safe_path(attempt, [root])


def test_no_roots_means_no_browsing(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    with pytest.raises(PathRefused, match=f"{ROOTS_VARIABLE} is empty"):
        safe_path(root / "ids", [])


def test_listing_leaves_out_escaping_links(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    folders, files = list_folder(".", [root])
    assert [path.name for path in folders] == ["ids", "inner_link"] and files == []
    with pytest.raises(PathRefused):
        list_folder("escape", [root])


def test_gradio_may_serve_only_examples_and_temp() -> None:
    assert allowed_paths() == [str(EXAMPLES_DIR), str(app_temp_dir())]
    assert app_temp_dir().is_dir()
