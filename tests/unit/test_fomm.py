"""FOMM model and converter on tiny random models: sizes, shapes, blocks, config and checkpoint-key round trips."""

import json
import math
from dataclasses import asdict, replace

import pytest
import torch
import torch.nn.functional as F

from animeceleb.convert.fomm import FOMM_FAMILY, extract_fomm, infer_fomm_config
from animeceleb.errors import CheckpointError
from animeceleb.models.fomm import FOMM, AntiAliasInterpolation2d, FOMMConfig, make_coordinate_grid

# Non-square friendly (64x96), K=5, a 0.5-scale dense motion, and every max_features clipping a level.
SMALL = FOMMConfig(
    num_kp=5,
    kp_block_expansion=8,
    kp_max_features=32,
    kp_num_blocks=3,
    generator_block_expansion=8,
    generator_max_features=16,
    num_bottleneck_blocks=1,
    dense_motion_block_expansion=8,
    dense_motion_max_features=32,
    dense_motion_num_blocks=3,
    dense_motion_scale_factor=0.5,
)


def count(module: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())


@pytest.fixture(scope="module")
def small_model() -> FOMM:
    torch.manual_seed(0)
    return FOMM(SMALL).eval()


def official_lightning_state_dict(model: FOMM) -> dict[str, torch.Tensor]:
    """An official-style Lightning state dict: primary keys, the *_full aliases, a discriminator, NaN pyramid, VGG."""
    primary = dict(model.state_dict())
    extras = {
        "discriminator.discs.1.conv.weight_orig": torch.zeros(1, 8, 1, 1),
        "generator_full.pyramid.downs.1.weight": torch.full((3, 1, 1, 1), math.nan),
        "generator_full.vgg.mean": torch.zeros(1, 3, 1, 1),
    }
    aliases = {f"generator_full.kp_extractor.{key[len('kp_detector.') :]}": value for key, value in primary.items()}
    aliases |= {f"discriminator_full.generator.{key[len('generator.') :]}": value for key, value in primary.items()}
    return primary | extras | aliases


def test_full_size_parameter_counts_match_the_official_model():
    with torch.device("meta"):
        model = FOMM(FOMMConfig())
    assert count(model.kp_detector) == 14_215_368
    assert count(model.generator) == 45_575_391
    assert count(model.generator.dense_motion_network) == 37_730_268
    assert (len(model.kp_detector.state_dict()), len(model.generator.state_dict())) == (75, 196)
    # generator max_features 512 is never reached (widest level 256), so the shapes imply the equivalent 256.
    assert infer_fomm_config(model.state_dict()) == replace(FOMMConfig(), generator_max_features=256)


def test_non_square_images_give_outputs_of_the_documented_shapes(small_model):
    torch.manual_seed(1)
    source, driving = torch.rand(2, 3, 64, 96), torch.rand(2, 3, 64, 96)
    assert 64 % SMALL.size_multiple == 0 and 96 % SMALL.size_multiple == 0
    with torch.no_grad():
        out = small_model(source, driving)
    assert out["kp_source"]["value"].shape == (2, 5, 2) and out["kp_driving"]["jacobian"].shape == (2, 5, 2, 2)
    assert out["kp_source"]["value"].abs().max() <= 1
    assert out["mask"].shape == (2, 6, 32, 48)
    torch.testing.assert_close(out["mask"].sum(dim=1), torch.ones(2, 32, 48))
    assert out["sparse_deformed"].shape == (2, 6, 3, 32, 48)
    assert out["occlusion_map"].shape == (2, 1, 32, 48)
    assert out["deformation"].shape == (2, 32, 48, 2)
    assert out["deformed"].shape == out["prediction"].shape == (2, 3, 64, 96)
    assert out["prediction"].min() >= 0 and out["prediction"].max() <= 1


def test_sparse_deformed_background_is_the_source_through_the_identity_grid(small_model):
    source = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        kp = small_model.detect_keypoints(source)
        out = small_model.generate(source, kp, kp)
    small = small_model.generator.dense_motion_network.down(source)
    grid = make_coordinate_grid(32, 48, source)[None]
    expected = F.grid_sample(small, grid, padding_mode="zeros", align_corners=False)
    torch.testing.assert_close(out["sparse_deformed"][:, 0], expected)
    assert (out["sparse_deformed"][:, 0] - small).abs().max() > 0.01  # the corner-aligned grid is not an identity warp


def test_keypoints_and_motion_stay_float32_under_mixed_precision(small_model):
    """Under bf16 autocast only the generator's encoder and decoder run in bf16: keypoints, the motion field and the
    deformed source equal float32's (the heatmap temperature scales bf16 errors up 10x)."""
    torch.manual_seed(2)
    source, driving = torch.rand(1, 3, 64, 96), torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        expected = small_model(source, driving)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            mixed = small_model(source, driving)
    for name in ("kp_source", "kp_driving"):
        for key in ("value", "jacobian"):
            assert mixed[name][key].dtype == torch.float32
            torch.testing.assert_close(mixed[name][key], expected[name][key])
    for key in ("mask", "deformation", "occlusion_map", "deformed"):
        torch.testing.assert_close(mixed[key], expected[key])
    torch.testing.assert_close(mixed["prediction"].float(), expected["prediction"], atol=0.02, rtol=0)


def test_coordinate_grid_is_x_then_y_with_corners_at_minus_one_and_one():
    grid = make_coordinate_grid(3, 5, torch.empty(0))
    assert grid.shape == (3, 5, 2)
    assert grid[0, 0].tolist() == [-1, -1] and grid[2, 4].tolist() == [1, 1] and grid[0, 4].tolist() == [1, -1]
    assert grid[1, 2].tolist() == [0, 0]


@pytest.mark.parametrize(("scale", "kernel_size"), [(0.25, 13), (0.5, 5), (0.125, 29)])
def test_anti_alias_equals_blur_then_top_left_subsampling(scale, kernel_size):
    down = AntiAliasInterpolation2d(3, scale)
    assert down.weight.shape == (3, 1, kernel_size, kernel_size)
    torch.testing.assert_close(down.weight.sum(dim=(1, 2, 3)), torch.ones(3))
    image = torch.rand(2, 3, 63, 97)
    pad, step = kernel_size // 2, round(1 / scale)
    blurred = F.conv2d(F.pad(image, (pad,) * 4), down.weight, groups=3)
    expected = blurred[:, :, ::step, ::step]
    assert expected.shape[2:] == (math.ceil(63 * scale), math.ceil(97 * scale))
    torch.testing.assert_close(down(image), expected)


def test_without_jacobians_and_occlusion_the_model_runs_with_identity_and_ones():
    config = replace(SMALL, estimate_jacobian=False, estimate_occlusion_map=False, kp_scale_factor=1.0)
    model = FOMM(config).eval()
    keys = model.state_dict()
    assert not any(".jacobian." in key or ".occlusion." in key or "kp_detector.down" in key for key in keys)
    with torch.no_grad():
        out = model(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32))
    assert torch.equal(out["kp_source"]["jacobian"], torch.eye(2).expand(1, 5, 2, 2))
    assert torch.equal(out["occlusion_map"], torch.ones(1, 1, 16, 16))
    assert infer_fomm_config(keys) == replace(config, generator_max_features=16)


def test_config_round_trips_through_json():
    loaded = FOMMConfig(**json.loads(json.dumps(asdict(SMALL))))
    assert loaded == SMALL and loaded.input_range == (0.0, 1.0)
    with pytest.raises(CheckpointError, match="not 'fomm'"):
        FOMMConfig(model_type="animo")


def test_converter_keeps_the_inference_keys_and_infers_the_config(small_model):
    official = official_lightning_state_dict(small_model)
    weights = extract_fomm(official, ema=False)
    assert list(weights) == list(small_model.state_dict())
    assert infer_fomm_config(weights) == SMALL
    FOMM(infer_fomm_config(weights)).load_state_dict(weights, strict=True)
    assert FOMM_FAMILY.name == "fomm" and FOMM_FAMILY.model_cls is FOMM
    assert any(key.startswith(FOMM_FAMILY.marker) for key in official)


def test_converter_errors_say_what_is_wrong(small_model):
    weights = dict(small_model.state_dict())
    with pytest.raises(CheckpointError, match="no EMA"):
        extract_fomm(weights, ema=True)
    with pytest.raises(CheckpointError, match=r"no generator\.\*"):
        extract_fomm({k: v for k, v in weights.items() if not k.startswith("generator.")}, ema=False)
    with pytest.raises(CheckpointError, match=r"kp_detector\.kp\.weight"):
        infer_fomm_config({k: v for k, v in weights.items() if not k.startswith("kp_detector.kp.")})
    weights["kp_detector.down.weight"] = torch.zeros(3, 1, 12, 12)
    with pytest.raises(CheckpointError, match="12x12"):
        infer_fomm_config(weights)
