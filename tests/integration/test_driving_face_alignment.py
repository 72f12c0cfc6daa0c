"""The face-alignment (FAN) landmark backend: offline only, with a clear message when its weights are absent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from animeceleb.driving.tracker import FaceTracker, fan_weights_path
from animeceleb.errors import CheckpointError
from tests.integration.driving_clips import astronaut_frame


@pytest.fixture
def empty_torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize(("backend", "file_name"), [("face-alignment", "2DFAN4"), ("face-alignment-3d", "3DFAN4")])
def test_missing_weights_say_where_to_put_them(empty_torch_home: Path, backend: str, file_name: str) -> None:
    with pytest.raises(CheckpointError, match="nothing is downloaded") as error:
        FaceTracker(backend)
    message = str(error.value)
    assert str(empty_torch_home / "hub" / "checkpoints") in message and file_name in message
    assert "--backend dlib" in message
    assert not any(empty_torch_home.rglob("*.tar"))  # no download was attempted


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_fan_backend_runs_offline_on_our_face_boxes(empty_torch_home: Path) -> None:
    """With (random) weights in the cache, the backend fits 68 points in the box our detector found."""
    from face_alignment.models import FAN

    weights = fan_weights_path("2DFAN-4")
    weights.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(FAN(4).state_dict(), weights)
    points = FaceTracker("face-alignment").track(astronaut_frame())
    assert points.shape == (68, 2) and points.dtype == np.float32 and np.isfinite(points).all()
    face_centre = np.array([320, 240])
    assert np.abs(points - face_centre).max() < 240  # inside the crop around the astronaut's face
