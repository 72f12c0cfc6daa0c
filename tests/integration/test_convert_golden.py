"""Official goldens: convert each Lightning checkpoint with the CLI, load it, and reproduce the official outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from animeceleb.models import Animo, PIRenderer, load_model
from animeceleb.pose import mix_motion, pose_to_motion
from tests.helpers import run_cli

pytestmark = pytest.mark.golden

IMAGE_ATOL = 2e-4  # images and flow (SPEC 0.1)
DESCRIPTOR_ATOL = 1e-5

# path -> (motion key in the io file, domain whose nets render it); SPEC 0.1 and 2.4
ANIMO_PATHS = {
    "anime": ("anime_3dmm", "anime"),
    "vox": ("vox_3dmm", "vox"),
    "vox2anime": ("vox2anime_3dmm", "anime"),
    "anime2vox": ("anime2vox_3dmm", "vox"),
}


def load_io(path: Path) -> dict[str, torch.Tensor]:
    """Golden tensors, cloned so that BLAS sees aligned memory (SPEC 0.1)."""
    return {key: value.clone() for key, value in load_file(path).items()}


def convert(golden_dir: Path, tmp_path: Path, name: str, kind: str) -> Path:
    out = tmp_path / name
    result = run_cli("convert", "--kind", kind, str(golden_dir / f"{name}.ckpt"), str(out))
    assert result.returncode == 0, result.stderr
    assert (out / "config.json").is_file() and (out / "model.safetensors").is_file() and (out / "README.md").is_file()
    return out


def assert_outputs_match(outputs: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], prefix: str = "") -> None:
    for key in ("descriptor", "flow_field", "warp_image", "fake_image"):
        atol = DESCRIPTOR_ATOL if key == "descriptor" else IMAGE_ATOL
        torch.testing.assert_close(outputs[key], expected[prefix + key], atol=atol, rtol=0, msg=f"{prefix}{key}")


@pytest.fixture(scope="module")
def animo_dir(golden_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return convert(golden_dir, tmp_path_factory.mktemp("animo"), "animo_small", "animo")


def test_pose_conversion_matches_official(golden_dir: Path) -> None:
    io = load_io(golden_dir / "animo_small_io.safetensors")
    torch.testing.assert_close(pose_to_motion(io["anime_pose"]), io["anime_3dmm"], atol=1e-6, rtol=0)
    torch.testing.assert_close(mix_motion(io["vox_3dmm"], io["anime_3dmm"]), io["vox2anime_3dmm"], atol=0, rtol=0)
    torch.testing.assert_close(mix_motion(io["anime_3dmm"], io["vox_3dmm"]), io["anime2vox_3dmm"], atol=0, rtol=0)


@pytest.mark.parametrize("path", sorted(ANIMO_PATHS))
def test_animo_reproduces_official_outputs(golden_dir: Path, animo_dir: Path, path: str) -> None:
    io = load_io(golden_dir / "animo_small_io.safetensors")
    model = load_model(animo_dir)
    assert isinstance(model, Animo) and model.config.domains == ("anime", "vox")
    motion_key, domain = ANIMO_PATHS[path]
    with torch.no_grad():
        outputs = model(io["source"], io[motion_key], domain=domain)
    assert_outputs_match(outputs, io, prefix=f"{path}_")


def test_animo_from_pose_end_to_end(golden_dir: Path, animo_dir: Path) -> None:
    """The raw 20-d pose, converted by our pose module, drives the anime nets to the official images."""
    io = load_io(golden_dir / "animo_small_io.safetensors")
    with torch.no_grad():
        outputs = load_model(animo_dir)(io["source"], pose_to_motion(io["anime_pose"]), domain="anime")
    assert_outputs_match(outputs, io, prefix="anime_")


def test_pirenderer_reproduces_official_outputs(golden_dir: Path, tmp_path: Path) -> None:
    io = load_io(golden_dir / "pirender_small_io.safetensors")
    model = load_model(convert(golden_dir, tmp_path, "pirender_small", "pirender"))
    assert isinstance(model, PIRenderer)
    with torch.no_grad():
        outputs = model(io["source"], io["anime_pose"])
    assert_outputs_match(outputs, io)


def test_cached_source_path_equals_forward(golden_dir: Path, animo_dir: Path) -> None:
    """One encoded source animated by a batch of motions equals the plain per-pair forward."""
    io = load_io(golden_dir / "animo_small_io.safetensors")
    model = load_model(animo_dir)
    source = io["source"][:1]
    with torch.no_grad():
        cached = model.animate(model.encode_source(source), io["anime_3dmm"])
        plain = model(source.expand(2, -1, -1, -1).contiguous(), io["anime_3dmm"])
    for key in plain:
        torch.testing.assert_close(cached[key], plain[key], atol=2e-5, rtol=0)
