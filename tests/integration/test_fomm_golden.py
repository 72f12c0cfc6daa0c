"""FOMM against the official goldens: convert the official checkpoint, run it, compare every output (SPEC 11)."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from animeceleb.convert.fomm import extract_fomm
from animeceleb.models import load_model
from animeceleb.models.fomm import FOMM, AntiAliasInterpolation2d
from animeceleb.models.layers import channels
from tests.helpers import run_cli

GOLDEN = Path(__file__).resolve().parents[2].parent / "shared" / "golden"
CHECKPOINT, IO, CONFIG = (
    GOLDEN / "fomm_small.ckpt",
    GOLDEN / "fomm_small_io.safetensors",
    GOLDEN / "fomm_small_config.json",
)

pytestmark = [
    pytest.mark.golden,
    pytest.mark.timeout(120),
    pytest.mark.skipif(
        not all(path.is_file() for path in (CHECKPOINT, IO, CONFIG)),
        reason=f"FOMM goldens not found in {GOLDEN} (they live in ../shared/golden beside the repository)",
    ),
]

# SPEC 11 tolerances (max abs diff, float32), each with rtol 1e-5; the first matching prefix wins.
ATOL = {
    "kp_": 1e-5,
    "dbg_": 1e-5,
    "gen_mask": 3e-5,
    "gen_occlusion_map": 3e-5,
    "dm_deformation": 3e-5,
    "gen_prediction": 5e-5,
    "gen_sparse_deformed": 1e-4,
    "gen_deformed": 3e-4,
}
REQUIRED = ["kp_source_value", "kp_source_jacobian", "kp_driving_value", "kp_driving_jacobian", "dm_deformation"]
REQUIRED += [f"gen_{key}" for key in ("mask", "sparse_deformed", "occlusion_map", "deformed", "prediction")]
YAML = "model_params."


@pytest.fixture(scope="module")
def official_weights() -> dict[str, torch.Tensor]:
    return torch.load(CHECKPOINT, map_location="cpu", weights_only=True)["state_dict"]


@pytest.fixture(scope="module")
def weights(official_weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return extract_fomm(official_weights, ema=False)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> FOMM:
    """The official checkpoint converted by the CLI, loaded as a user would."""
    out = tmp_path_factory.mktemp("fomm")
    result = run_cli("convert", "--kind", "fomm", str(CHECKPOINT), str(out))
    assert result.returncode == 0, result.stderr
    model = load_model(out)
    assert isinstance(model, FOMM) and not model.training
    return model


@pytest.fixture(scope="module")
def golden() -> dict[str, torch.Tensor]:
    # .clone(): tensors straight from safetensors may be unaligned and pick other BLAS kernels (SPEC 0.1).
    return {key: value.clone() for key, value in load_file(IO).items()}


def run_with_debug_outputs(model: FOMM, source: torch.Tensor, driving: torch.Tensor) -> dict[str, torch.Tensor]:
    """Our outputs under the golden key names, with the ``dbg_*`` intermediates captured by forward hooks."""
    captured: dict[str, list[torch.Tensor]] = {}
    hooked = {
        "kp_down": model.kp_detector.down,
        "dm_down": model.generator.dense_motion_network.down,
        "logits": model.kp_detector.kp,
        "jacobian_map": model.kp_detector.jacobian,
    }
    handles = [
        module.register_forward_hook(lambda _m, _i, output, name=name: captured.setdefault(name, []).append(output))
        for name, module in hooked.items()
        if module is not None
    ]
    try:
        with torch.no_grad():
            out = model(source, driving)
    finally:
        for handle in handles:
            handle.remove()
    results = {f"gen_{key}": out[key] for key in ("mask", "sparse_deformed", "occlusion_map", "deformed", "prediction")}
    results["dm_deformation"] = out["deformation"]
    for role in ("source", "driving"):
        results |= {f"kp_{role}_{key}": value for key, value in out[f"kp_{role}"].items()}
    debug_names = {
        "dbg_kp_source_down": ("kp_down", 0),  # calls: source, then driving
        "dbg_kp_source_logits": ("logits", 0),
        "dbg_kp_driving_logits": ("logits", 1),
        "dbg_kp_source_jacobian_map": ("jacobian_map", 0),
        "dbg_dm_source_down": ("dm_down", 0),
    }
    results |= {key: captured[name][call] for key, (name, call) in debug_names.items() if name in captured}
    return results


def test_extract_keeps_only_the_inference_nets(official_weights, weights):
    assert weights and all(key.startswith(("kp_detector.", "generator.")) for key in weights)
    primary = [key for key in official_weights if key.startswith(("kp_detector.", "generator."))]
    assert sorted(weights) == sorted(primary)
    assert all(torch.isfinite(value).all() for value in weights.values() if value.is_floating_point())


def test_inferred_config_matches_the_official_yaml(model):
    yaml = json.loads(CONFIG.read_text(encoding="utf-8"))
    config = model.config
    common, kp, gen = YAML + "common_params.", YAML + "kp_detector_params.", YAML + "generator_params."
    dense = gen + "dense_motion_params."
    expected = {
        "num_channels": yaml[common + "num_channels"],
        "num_kp": yaml[common + "num_kp"],
        "estimate_jacobian": yaml[common + "estimate_jacobian"],
        "temperature": yaml[kp + "temperature"],
        "kp_block_expansion": yaml[kp + "block_expansion"],
        "kp_num_blocks": yaml[kp + "num_blocks"],
        "kp_scale_factor": yaml[kp + "scale_factor"],
        "generator_block_expansion": yaml[gen + "block_expansion"],
        "num_down_blocks": yaml[gen + "num_down_blocks"],
        "num_bottleneck_blocks": yaml[gen + "num_bottleneck_blocks"],
        "estimate_occlusion_map": yaml[gen + "estimate_occlusion_map"],
        "dense_motion_block_expansion": yaml[dense + "block_expansion"],
        "dense_motion_num_blocks": yaml[dense + "num_blocks"],
        "dense_motion_scale_factor": yaml[dense + "scale_factor"],
    }
    assert {name: getattr(config, name) for name in expected} == expected
    # max_features shows only through clipping: compare the widths it produces at every level.
    for prefix, levels in (
        (kp, config.kp_num_blocks),
        (gen, config.num_down_blocks),
        (dense, config.dense_motion_num_blocks),
    ):
        be, mf = yaml[prefix + "block_expansion"], yaml[prefix + "max_features"]
        name = {kp: "kp", gen: "generator", dense: "dense_motion"}[prefix]
        ours = getattr(config, f"{name}_max_features")
        assert [channels(be, ours, i) for i in range(levels + 1)] == [channels(be, mf, i) for i in range(levels + 1)]


def test_anti_alias_kernels_are_recomputed_bit_exactly(model, weights):
    config = model.config
    for key, scale in (
        ("kp_detector.down.weight", config.kp_scale_factor),
        ("generator.dense_motion_network.down.weight", config.dense_motion_scale_factor),
    ):
        if key in weights:
            assert torch.equal(AntiAliasInterpolation2d(config.num_channels, scale).weight, weights[key])


def test_outputs_match_the_official_code(model, golden):
    ours = run_with_debug_outputs(model, golden["source"], golden["driving"])
    assert set(REQUIRED) <= set(ours) & set(golden)
    compared = sorted(set(ours) & set(golden))  # disc_* are training-only: the discriminator is not converted
    for key in compared:
        atol = next(value for prefix, value in ATOL.items() if key.startswith(prefix))
        torch.testing.assert_close(ours[key], golden[key], atol=atol, rtol=1e-5, msg=lambda m, key=key: f"{key}: {m}")


def test_detect_and_generate_equal_forward(model, golden):
    source, driving = golden["source"], golden["driving"]
    with torch.no_grad():
        whole = model(source, driving)
        kp_source, kp_driving = model.detect_keypoints(source), model.detect_keypoints(driving)
        parts = {"kp_source": kp_source, "kp_driving": kp_driving, **model.generate(source, kp_source, kp_driving)}
    assert list(parts) == list(whole)
    for key, value in whole.items():
        expected = parts[key]
        if isinstance(value, dict):
            assert all(torch.equal(value[name], expected[name]) for name in ("value", "jacobian")), key
        else:
            assert torch.equal(value, expected), key


def test_save_and_load_pretrained_round_trip(model, golden, tmp_path):
    model.save_pretrained(tmp_path)
    loaded = FOMM.from_pretrained(tmp_path)
    assert loaded.config == model.config and not loaded.training
    with torch.no_grad():
        before, after = model(golden["source"], golden["driving"]), loaded(golden["source"], golden["driving"])
    assert torch.equal(before["prediction"], after["prediction"])
    assert torch.equal(before["kp_driving"]["jacobian"], after["kp_driving"]["jacobian"])
    assert torch.equal(before["deformed"], after["deformed"])
