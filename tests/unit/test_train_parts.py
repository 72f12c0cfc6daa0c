"""Training parts without a loop: the config parser, the VGG19 perceptual loss, the fallback loss, the TPS warp."""

from __future__ import annotations

from dataclasses import replace

import kornia
import pytest
import torch
from safetensors.torch import save_file

from animeceleb.errors import CheckpointError, InputError
from animeceleb.models import load_model
from animeceleb.train import build_model
from animeceleb.train.allocator import tcmalloc_loaded
from animeceleb.train.config import load_train_config, official_config
from animeceleb.train.losses import (
    PerceptualLoss,
    ReconstructionLoss,
    VGG19Features,
    build_image_loss,
    gradient_l1,
    image_pyramid,
    missed_region_l1,
)
from animeceleb.train.objectives import PoseObjective, RandomTPS, swap_directions
from animeceleb.train.ssim import ssim_map
from tests.conftest import REPO_ROOT


def test_official_recipes_are_the_defaults():
    animo, pirender, fomm = (official_config(kind) for kind in ("animo", "pirender", "fomm"))
    assert (animo.lr, animo.betas, animo.batch_size, animo.lr_gamma) == (1e-4, (0.5, 0.999), 4, 0.2)
    assert (animo.warp_weight, animo.final_weight, animo.style_weight) == (2.5, 4.0, 250.0)
    assert animo.warp_steps == 100 * animo.steps_per_epoch and animo.total_steps == 200 * animo.steps_per_epoch
    assert animo.steps_per_epoch == -(-3319 * 75 // 4)  # 75 passes over the 3,319 training identities
    assert pirender.batch_size == 8
    assert (fomm.lr, fomm.lr_milestones, fomm.lr_gamma, fomm.warp_steps, fomm.epochs) == (2e-4, (60, 90), 0.1, 0, 100)


def test_yaml_overrides_and_rejects_unknown_keys(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("lr: 0.001\nlr_milestones: [5]\nepoch_steps: 10\n")
    config = load_train_config("pirender", path)
    assert (config.lr, config.lr_milestones, config.batch_size, config.total_steps) == (1e-3, (5,), 8, 2000)
    path.write_text("lr: 0.001\nwarmup: 3\n")
    with pytest.raises(InputError, match="warmup"):
        load_train_config("animo", path)
    path.write_text("batch_size: 0\n")
    with pytest.raises(InputError, match="batch_size"):
        load_train_config("animo", path)
    with pytest.raises(InputError, match="animo, pirender, fomm"):
        official_config("stylegan")


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory):
    """Random VGG19 weights under timm/torchvision key names, as a safetensors file."""
    torch.manual_seed(0)
    state = {f"features.{key}": value for key, value in VGG19Features().features.state_dict().items()}
    state["head.fc.weight"] = torch.zeros(2, 2)  # extra tensors of a full checkpoint are ignored
    path = tmp_path_factory.mktemp("vgg") / "model.safetensors"
    save_file(state, path)
    return path


def test_vgg19_loads_safetensors_and_taps_five_relus(vgg_file):
    vgg = VGG19Features.from_weights(vgg_file)
    taps = vgg(torch.rand(1, 3, 32, 32))
    assert [tuple(tap.shape[1:]) for tap in taps] == [
        (64, 32, 32),
        (128, 16, 16),
        (256, 8, 8),
        (512, 4, 4),
        (512, 2, 2),
    ]
    assert all(not parameter.requires_grad for parameter in vgg.parameters())
    bad = vgg_file.parent / "bad.safetensors"
    save_file({"features.0.weight": torch.zeros(1)}, bad)
    with pytest.raises(CheckpointError, match="VGG19"):
        VGG19Features.from_weights(bad)
    with pytest.raises(CheckpointError, match="fallback"):
        VGG19Features.from_weights(vgg_file.parent / "missing.safetensors")


def test_perceptual_loss_content_and_style(vgg_file):
    loss = build_image_loss(str(vgg_file), scales=2, from_tanh=True)
    assert isinstance(loss, PerceptualLoss)
    image, other = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    assert float(loss(image, image, style_weight=250.0)) == 0.0
    content = float(loss(other, image))
    assert content > 0 and float(loss(other, image, style_weight=250.0)) > content


def test_fallback_loss_is_zero_only_for_equal_images_and_has_gradients():
    loss = build_image_loss("", scales=3, from_tanh=True)
    assert isinstance(loss, ReconstructionLoss)
    target = torch.rand(2, 3, 32, 32)
    assert float(loss(target, target)) == pytest.approx(0.0, abs=1e-5)
    prediction = torch.rand(2, 3, 32, 32, requires_grad=True)
    value = loss(prediction, target)
    value.backward()
    assert float(value.detach()) > 0.5 and prediction.grad.abs().sum() > 0


@pytest.mark.parametrize(("shape", "window"), [((2, 3, 37, 50), 11), ((1, 3, 23, 22), 11), ((2, 1, 9, 5), 3)])
def test_ssim_matches_kornia_values_and_gradients(shape, window):
    generator = torch.Generator().manual_seed(0)
    target = torch.rand(shape, generator=generator)
    ours = torch.rand(shape, generator=generator, requires_grad=True)
    reference = ours.detach().clone().requires_grad_(True)
    expected = kornia.metrics.ssim(reference, target, window)
    torch.testing.assert_close(ssim_map(ours, target, window), expected, atol=2e-5, rtol=0)
    ssim_map(ours, target, window).square().sum().backward()
    expected.square().sum().backward()
    torch.testing.assert_close(ours.grad, reference.grad, atol=2e-5, rtol=1e-4)


def test_fallback_loss_keeps_its_kornia_definition():
    """The pyramid loss is per level L1 + (1 - SSIM) + gradient L1, as before SSIM had its own implementation."""
    prediction, target = torch.rand(2, 3, 64, 48), torch.rand(2, 3, 64, 48)
    expected = sum(
        (pred - tgt).abs().mean()
        + 2 * kornia.losses.ssim_loss(pred, tgt, 11 if min(pred.shape[-2:]) >= 22 else 3)
        + gradient_l1(pred, tgt)
        for pred, tgt in image_pyramid(prediction, target, 3)
    )
    torch.testing.assert_close(ReconstructionLoss(3)(prediction, target), expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("loss_name", ["fallback", "perceptual"])
def test_image_losses_keep_float32_under_mixed_precision(loss_name, vgg_file):
    """bf16 autocast must not change the loss: SSIM's variances and the Gram matrices need float32."""
    loss = build_image_loss(str(vgg_file) if loss_name == "perceptual" else "", scales=2, from_tanh=True)
    generator = torch.Generator().manual_seed(1)
    target = torch.rand(2, 3, 64, 64, generator=generator) * 2 - 1
    prediction = (target + 0.1 * torch.randn(target.shape, generator=generator)).bfloat16().float()
    expected = loss(prediction, target, style_weight=250.0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = loss(prediction.bfloat16(), target, style_weight=250.0)  # a bf16 network output
    assert mixed.dtype == torch.float32
    # the fallback runs wholly in float32; the perceptual loss keeps only VGG's convolutions in bf16
    tolerance = 1e-6 if loss_name == "fallback" else 0.05
    torch.testing.assert_close(mixed, expected, rtol=tolerance, atol=0)


@pytest.mark.parametrize(("length", "window"), [(5, 11), (32, 4)])
def test_ssim_rejects_windows_it_cannot_reflect(length, window):
    with pytest.raises(ValueError, match="window must be odd"):
        ssim_map(torch.rand(1, 3, length, length), torch.rand(1, 3, length, length), window)


def test_missed_region_l1_scores_only_where_the_reference_misses_the_target():
    target = torch.zeros(2, 3, 16, 16)
    reference = target.clone()
    reference[0, :, 4:8, 4:8] = 1.0  # pair 0: the warp missed a 4x4 patch (an eye it could not close)
    prediction = torch.full_like(target, 0.5)  # wrong everywhere by 0.5
    # pair 0: the 4x4 patch grown by 1 pixel is 6x6, where the error is 0.5; pair 1 has no missed pixel: 0
    assert float(missed_region_l1(prediction, target, reference, grow=1)) == pytest.approx(0.25)
    prediction[0, :, 3:9, 3:9] = 0.0  # right inside the region, still wrong outside it
    assert float(missed_region_l1(prediction, target, reference, grow=1)) == 0.0


def test_edit_region_term_joins_the_final_loss_when_weighted():
    config = replace(official_config("animo"), edit_region_weight=3.0)
    small = replace(config, preset="animo_compact", image_size=64, architecture={"image_size": 64})
    model = build_model("animo", small)
    objective = PoseObjective(model, ReconstructionLoss(2), config)
    batch = {"source": torch.rand(1, 3, 64, 64), "driving": torch.rand(1, 3, 64, 64)}
    batch |= {"source_pose": torch.zeros(1, 20), "driving_pose": torch.zeros(1, 20)}
    with torch.no_grad():
        losses = objective(batch, with_image=True)
        assert "edit_region" not in objective(batch, with_image=False)
    assert float(losses["edit_region"]) > 0
    assert float(losses["loss"]) == pytest.approx(float(losses["warp"] + losses["final"] + losses["edit_region"]))


def test_pose_redraw_fractions_must_sum_to_at_most_one():
    with pytest.raises(InputError, match="strong_expressions"):
        replace(official_config("animo"), strong_expressions=1.5)
    with pytest.raises(InputError, match="expression_changes"):
        replace(official_config("animo"), strong_expressions=0.5, expression_changes=0.6)
    assert replace(official_config("animo"), strong_expressions=0.5, expression_changes=0.5).expression_changes == 0.5


def test_both_directions_of_each_pair():
    batch = {
        "source": torch.zeros(2, 3, 4, 4),
        "driving": torch.ones(2, 3, 4, 4),
        "source_pose": torch.zeros(2, 20),
        "driving_pose": torch.ones(2, 20),
    }
    pairs = swap_directions(batch)
    assert pairs["source"][:2].sum() == 0 and pairs["source"][2:].min() == 1
    assert (
        pairs["driving"][:2].min() == 1
        and pairs["driving_pose"][:2].min() == 1
        and pairs["driving_pose"][2:].sum() == 0
    )


def test_random_tps_jacobian_matches_finite_differences():
    torch.manual_seed(0)
    transform = RandomTPS(2, torch.zeros(1, dtype=torch.float64))
    points = torch.rand(2, 3, 2, dtype=torch.float64) * 2 - 1
    step = 1e-6
    numeric = torch.stack(
        [
            (transform.warp_coordinates(points + step * axis) - transform.warp_coordinates(points - step * axis))
            / (2 * step)
            for axis in torch.eye(2, dtype=torch.float64)
        ],
        dim=-1,
    )  # (B, N, 2 outputs, 2 inputs)
    torch.testing.assert_close(transform.jacobian(points), numeric, atol=1e-6, rtol=1e-6)
    frames = torch.rand(2, 3, 16, 16, dtype=torch.float64)
    assert transform.transform_frame(frames).shape == frames.shape


def test_identity_flow_init_starts_from_copying_the_source():
    architecture = {"image_size": [32, 32], "descriptor_nc": 8, "warp_base_nc": 4, "warp_max_nc": 8}
    config = replace(official_config("pirender"), preset="pirenderer_compact", architecture=architecture)
    source = torch.rand(1, 3, 32, 32)
    for use_init, flow_is_zero in ((True, True), (False, False)):
        model = build_model("pirender", replace(config, use_identity_flow_init=use_init))
        flow = model(source, torch.randn(1, 20) * 10)["flow_field"]
        assert bool((flow == 0).all()) == flow_is_zero


LAST_STAGES = (  # the stages that train the shipped architectures as they are (the last stage of each included)
    "animeceleb-compact-strong.yaml",
    "animeceleb-compact-mouth.yaml",
    "animeceleb-compact-mouth-again.yaml",
    "pirenderer-compact-strong.yaml",
    "pirenderer-compact-stage4.yaml",
    "pirenderer-compact-stage5.yaml",
    "pirenderer-compact-stage6.yaml",
    "pirenderer-compact-stage7.yaml",
    "pirenderer-compact-stage8.yaml",
)


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "configs").glob("*.yaml")), ids=lambda path: path.stem)
def test_shipped_training_configs_build_the_shipped_architectures(path):
    """Each file under configs/ trains the checkpoint it documents (the cards cite them): the architecture of its
    last stage, or an earlier stage's whose every tensor the next stage starts from (``init_weights``)."""
    family = path.stem.split("-")[0]
    kind = {"animeceleb": "animo", "pirenderer": "pirender"}[family]
    shipped = load_model(REPO_ROOT / "checkpoints" / f"{family}-compact")
    model = build_model(kind, load_train_config(kind, path))
    wanted = {key: value.shape for key, value in shipped.state_dict().items()}
    assert {key: value.shape for key, value in model.state_dict().items()}.items() <= wanted.items()
    if path.name in LAST_STAGES:
        assert model.config == shipped.config


def test_tcmalloc_is_read_from_the_memory_map(tmp_path):
    maps = tmp_path / "maps"
    maps.write_text("7f10-7f20 r-xp 00000000 08:01 42 /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4.5.10\n")
    assert tcmalloc_loaded(maps)
    maps.write_text("7f10-7f20 r-xp 00000000 08:01 43 /usr/lib/x86_64-linux-gnu/libc.so.6\n")
    assert not tcmalloc_loaded(maps)
    assert not tcmalloc_loaded(tmp_path / "no-such-file")
