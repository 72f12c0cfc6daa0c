"""The data commands as a user runs them: render-synthetic (resumable), dataset export, render-synthetic-grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from animeceleb.cli import main
from animeceleb.data import load_animeceleb
from animeceleb.data.synthetic import character_for, poses_for, render
from tests.helpers import run_cli

RENDER = ["--identities", "3", "--frames-per-identity", "2", "--size", "64", "--seed", "5", "--test-every", "3"]


def _files(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    assert main(["render-synthetic", str(root), *RENDER, "--workers", "1"]) == 0
    return root


def test_render_synthetic_writes_the_official_layout(rendered: Path) -> None:
    splits = load_animeceleb(rendered, None, with_basis=True)
    assert {name: sorted(set(part["identity"])) for name, part in splits.items()} == {"train": [0, 1], "test": [2]}
    rows = load_animeceleb(rendered, "all", composite=False)
    assert len(rows) == 6 and rows["png_name"][:2] == ["000000_0000.png", "000000_0001.png"]
    for item in rows:
        identity, frame = item["identity"], int(item["png_name"][7:11])
        pose = poses_for(5, identity, 2)[frame]
        assert np.array_equal(np.asarray(item["pose"], dtype=np.float32), pose)  # exact labels
        assert np.array_equal(np.asarray(item["image"]), render(character_for(5, identity), pose, 64, rgba=True))
    assert (rendered / "basis" / "000002" / "basis.png").is_file()


def test_an_interrupted_render_resumes_to_the_same_files(rendered: Path, tmp_path: Path) -> None:
    root = tmp_path / "resumed"
    assert main(["render-synthetic", str(root), *RENDER[:1], "2", *RENDER[2:]]) == 0  # only 2 identities
    csv_path = root / "combined_pose.csv"
    text = csv_path.read_text()
    csv_path.write_text(text[: text.rindex("\n", 0, -1) + 12])  # cut in the middle of the last row
    (root / "rotation" / "0" / "000000" / "000000_0001.png").unlink(missing_ok=True)
    assert main(["render-synthetic", str(root), *RENDER, "--workers", "2"]) == 0
    assert _files(root) == _files(rendered)


def test_dataset_export_writes_loadable_parquet(rendered: Path, tmp_path: Path, capsys) -> None:
    assert main(["dataset", "export", str(rendered), str(tmp_path / "pq"), "--format", "parquet"]) == 0
    printed = capsys.readouterr().out.split()
    assert [Path(line).name for line in printed] == ["train-00000-of-00001.parquet", "test-00000-of-00001.parquet"]
    exported = load_animeceleb(tmp_path / "pq", "all", cache_dir=tmp_path / "cache")
    assert len(exported) == 6 and exported[0]["image"].size == (64, 64)


def test_grid_command(tmp_path: Path) -> None:
    out = tmp_path / "grid.png"
    assert main(["render-synthetic-grid", str(out), "--identities", "2", "--size", "48"]) == 0
    width, height = Image.open(out).size
    assert width == 6 * 48 and 2 * 48 < height < 3 * 48


def test_errors_are_one_line(tmp_path: Path) -> None:
    result = run_cli("dataset", "export", str(tmp_path / "missing"), str(tmp_path / "out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert (
        result.stderr.strip()
        == f"error: {tmp_path / 'missing'} is not a dataset folder (and not a Hub dataset id 'owner/name')"
    )
