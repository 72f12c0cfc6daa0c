"""Model construction, parameter counts, save/load round trips and loading errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from animeceleb.errors import CheckpointError, InputError
from animeceleb.models import Animo, AnimoConfig, PIRenderer, PIRendererConfig, create_model, load_model
from animeceleb.models.layers import WIDE_NC, LayerNorm2d, SamplingGrid, flow_to_grid, upsample_conv3x3, warp
from tests.conftest import REPO_ROOT
from tests.helpers import TINY_NETS

TINY = TINY_NETS


def test_official_parameter_counts() -> None:
    """SPEC section 4: the full-size official configs, counted exactly."""
    animo = create_model("animo_official")
    assert sum(p.numel() for p in animo.parameters()) == 43_791_626
    assert sum(p.numel() for p in animo.mapping_net.parameters()) == 215_552
    anime = animo.renderers["anime"]
    assert sum(p.numel() for p in anime.warping_net.parameters()) == 12_707_138
    assert sum(p.numel() for p in anime.editing_net.parameters()) == 9_080_899
    assert sum(p.numel() for p in create_model("pirenderer_official").parameters()) == 22_000_197


def test_unknown_preset_lists_choices() -> None:
    with pytest.raises(InputError, match="animo_official"):
        create_model("animo_huge")


@pytest.mark.parametrize("size", [(64, 96), (96, 64)])
def test_non_square_images(size: tuple[int, int]) -> None:
    model = Animo(AnimoConfig(**TINY)).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, *size), torch.randn(2, 70))
    assert out["fake_image"].shape == (2, 3, *size)
    assert out["flow_field"].shape == (2, 2, size[0] // 4, size[1] // 4)
    assert out["descriptor"].shape == (2, 16)


def test_dead_residual_branch_has_weights_but_no_effect() -> None:
    model = PIRenderer(PIRendererConfig(**TINY)).eval()
    source, pose = torch.rand(1, 3, 64, 64), torch.rand(1, 20)
    with torch.no_grad():
        before = model(source, pose)["fake_image"]
        model.renderer.editing_net.decoder.res0.res0.conv1.weight.add_(1.0)
        after = model(source, pose)["fake_image"]
    assert "renderer.editing_net.decoder.res0.res0.norm1.mlp_gamma.weight" in model.state_dict()
    torch.testing.assert_close(before, after, atol=0, rtol=0)


def test_blend_mask_chooses_between_warped_source_and_generated_image() -> None:
    plain = Animo(AnimoConfig(**TINY, domains=("anime",))).eval()
    blended = Animo(AnimoConfig(**TINY, domains=("anime",), edit_blend=True)).eval()
    missing, _ = blended.load_state_dict(plain.state_dict(), strict=False)
    assert missing == ["renderers.anime.editing_net.blend.weight", "renderers.anime.editing_net.blend.bias"]
    mask = blended.renderers["anime"].editing_net.blend
    source, motion = torch.rand(2, 3, 64, 64), torch.randn(2, 70)
    with torch.no_grad():
        generated = plain(source, motion)["fake_image"]
        mask.weight.zero_()
        outputs = {}
        for bias in (-40.0, 0.0, 40.0):  # mask 0, 1/2, 1
            mask.bias.fill_(bias)
            outputs[bias] = blended(source, motion)
    warped = outputs[0.0]["warp_image"]
    torch.testing.assert_close(outputs[-40.0]["fake_image"], warped)
    torch.testing.assert_close(outputs[0.0]["fake_image"], (warped + generated) / 2)
    torch.testing.assert_close(outputs[40.0]["fake_image"], generated)


def test_unknown_domain() -> None:
    model = Animo(AnimoConfig(**TINY, domains=("anime",)))
    with pytest.raises(InputError, match="available: anime"):
        model(torch.rand(1, 3, 64, 64), torch.zeros(1, 70), domain="vox")


@pytest.mark.parametrize("model", [Animo(AnimoConfig(**TINY)), PIRenderer(PIRendererConfig(**TINY))])
def test_save_and_load_round_trip(model: torch.nn.Module, tmp_path: Path) -> None:
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == model.model_type and config["input_range"] == [0.0, 1.0]
    loaded = load_model(tmp_path)
    assert type(loaded) is type(model) and loaded.config == model.config
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value, atol=0, rtol=0)


def test_loading_errors(tmp_path: Path) -> None:
    PIRenderer(PIRendererConfig(**TINY)).save_pretrained(tmp_path / "pir")
    with pytest.raises(CheckpointError, match="'pirenderer' model, not 'animo'"):
        Animo.from_pretrained(tmp_path / "pir")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="not a model folder"):
        load_model(tmp_path / "empty")
    Animo(AnimoConfig(**TINY)).save_pretrained(tmp_path / "animo")
    config = json.loads((tmp_path / "animo" / "config.json").read_text())
    (tmp_path / "animo" / "config.json").write_text(json.dumps({**config, "descriptor_nc": 32}))
    with pytest.raises(CheckpointError, match="do not fit"):
        load_model(tmp_path / "animo")
    (tmp_path / "animo" / "config.json").write_text(json.dumps({**config, "model_type": "stylegan"}))
    with pytest.raises(CheckpointError, match="'stylegan' is none of ours; expected one of animo"):
        load_model(tmp_path / "animo")
    for broken in ("{not json", "[1, 2]"):
        (tmp_path / "animo" / "config.json").write_text(broken)
        with pytest.raises(CheckpointError, match="config.json is not a valid JSON config"):
            load_model(tmp_path / "animo")
        with pytest.raises(CheckpointError, match="config.json is not a valid JSON config"):
            Animo.from_pretrained(tmp_path / "animo")
    with pytest.raises(CheckpointError, match="not cached|unreachable"):
        load_model("nobody/not-a-model")


def test_hub_repo_loads_from_offline_cache(tmp_path: Path) -> None:
    """``load_model("org/name")`` resolves through a Hub cache laid out by the test, fully offline."""
    snapshot = tmp_path / "hub" / "models--animeceleb--tiny-animo" / "snapshots" / ("a" * 40)
    Animo(AnimoConfig(**TINY)).save_pretrained(snapshot)
    refs = snapshot.parents[1] / "refs"
    refs.mkdir()
    (refs / "main").write_text("a" * 40)
    code = "from animeceleb.models import load_model; print(type(load_model('animeceleb/tiny-animo')).__name__)"
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("Animo")


@pytest.mark.parametrize("channels_last", [False, True])
def test_fast_layers_equal_their_literal_definitions(channels_last: bool) -> None:
    """The sub-pixel upsample-conv and LayerNorm2d (both memory formats) against the official literal operations."""
    torch.manual_seed(0)
    x = torch.randn(2, 4, 12, 10) * 3 + 1
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    conv = torch.nn.Conv2d(4, 6, 3, padding=1)
    literal = conv(torch.nn.functional.interpolate(x, scale_factor=2.0, mode="nearest"))
    fast = upsample_conv3x3(x, conv.weight, conv.bias)
    torch.testing.assert_close(fast, literal, atol=1e-5, rtol=0)
    assert fast.is_contiguous(memory_format=torch.channels_last) == channels_last

    norm = LayerNorm2d(4)
    torch.nn.init.uniform_(norm.weight)
    torch.nn.init.uniform_(norm.bias)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    std = (x.var(dim=(1, 2, 3), keepdim=True, unbiased=False) + 1e-5).sqrt()
    torch.testing.assert_close(norm(x), (x - mean) / std * norm.weight + norm.bias, atol=1e-5, rtol=0)


@pytest.mark.parametrize("batch, expanded", [(1, False), (3, False), (3, True)])
def test_wide_channels_last_warp_equals_grid_sample(batch: int, expanded: bool) -> None:
    """The row-gathering warp of wide channels-last maps (inference) matches grid_sample: per batch entry, for one
    source expanded over a batch, on a non-square map, with grid points beyond the border."""
    torch.manual_seed(0)
    source = torch.randn(1 if expanded else batch, WIDE_NC, 12, 10).contiguous(memory_format=torch.channels_last)
    features = source.expand(batch, -1, -1, -1) if expanded else source
    grid = torch.rand(batch, 12, 10, 2) * 2.4 - 1.2
    literal = torch.nn.functional.grid_sample(
        features, grid, mode="bilinear", padding_mode="border", align_corners=False
    )
    with torch.no_grad():
        fast = warp(features, SamplingGrid(grid))
    torch.testing.assert_close(fast, literal, atol=1e-5, rtol=0)
    assert fast.is_contiguous(memory_format=torch.channels_last)


def test_warp_keeps_the_grid_in_float32_under_mixed_precision() -> None:
    """A bf16 sampling grid is off by up to half a pixel at 256 px, so under autocast a bf16 flow becomes a float32
    grid and the warp samples in float32."""
    torch.manual_seed(0)
    flow = (torch.randn(2, 2, 64, 64) * 3).bfloat16()
    image = torch.rand(2, 3, 256, 256).bfloat16()
    expected = warp(image.float(), SamplingGrid(flow_to_grid(flow.float())))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        grid = flow_to_grid(flow)
        mixed = warp(image, SamplingGrid(grid))
    assert grid.dtype == torch.float32
    torch.testing.assert_close(mixed, expected, atol=1e-6, rtol=0)
