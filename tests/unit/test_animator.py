"""Animator: cached-source outputs equal the plain forward for every model kind, with no stale cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from animeceleb.errors import InputError
from animeceleb.imaging import composite_on_white
from animeceleb.inference import Animator, image_to_tensor
from animeceleb.models import FOMM, Animo, AnimoConfig, FOMMConfig, PIRenderer, PIRendererConfig
from animeceleb.pose import Pose, pose_to_motion
from tests.helpers import TINY_FOMM, TINY_NETS

SIZE = (64, 64)


def built(model_class: type, config: object) -> torch.nn.Module:
    """A model with the same initial weights in every process (rounding differences must not depend on the draw)."""
    torch.manual_seed(0)
    return model_class(config)


EVERY_MODEL_KIND = pytest.mark.parametrize(
    "model",
    [
        built(Animo, AnimoConfig(**TINY_NETS, domains=("anime",), image_size=SIZE)),
        built(PIRenderer, PIRendererConfig(**TINY_NETS, image_size=SIZE)),
        built(FOMM, FOMMConfig(**TINY_FOMM, image_size=SIZE)),
    ],
    ids=["animo", "pirenderer", "fomm"],
)
TOLERANCE = 2e-4
# editing features as wide as the official ones (64 channels): the Animator warps them by gathering pixel rows
WIDE_ANIMO = built(
    Animo, AnimoConfig(**{**TINY_NETS, "edit_base_nc": 64, "edit_max_nc": 64}, domains=("anime",), image_size=SIZE)
)


def seeded(model: torch.nn.Module) -> torch.nn.Module:
    """Non-trivial random weights, so equality cannot hold by accident."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.05)
    return model.eval()


def images(count: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(count, *SIZE, 3), dtype=np.uint8)


def poses(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = np.zeros((count, 20), np.float32)
    values[:, :17] = rng.random((count, 17)) * (rng.random((count, 17)) < 0.3)
    values[:, 17:] = rng.uniform(-20, 20, (count, 3))
    return values


def plain_forward(model: torch.nn.Module, source: np.ndarray, driving: np.ndarray) -> torch.Tensor:
    """The model's own forward, one frame at a time, as a reference."""
    x = image_to_tensor(source, SIZE)
    frames = []
    with torch.no_grad():
        for item in driving:
            if isinstance(model, FOMM):
                frames.append(model(x, image_to_tensor(item, SIZE))["prediction"])
            elif isinstance(model, Animo):
                frames.append(model(x, pose_to_motion(item[None]))["fake_image"])
            else:
                frames.append(model(x, torch.from_numpy(item[None]))["fake_image"])
    return torch.cat(frames).clamp(0, 1)


@EVERY_MODEL_KIND
def test_animator_equals_plain_forward_across_sources(model: torch.nn.Module) -> None:
    check_animator_equals_plain_forward(model)


def test_animator_with_wide_features_equals_plain_forward() -> None:
    check_animator_equals_plain_forward(WIDE_ANIMO)


def check_animator_equals_plain_forward(model: torch.nn.Module) -> None:
    model = seeded(model)
    animator = Animator(model, batch_size=3)
    for seed in (1, 2):  # a second source must not reuse anything of the first
        source = images(1, seed)[0]
        driving = images(5, seed + 10) if animator.drives_with_frames else poses(5, seed + 10)
        animator.prepare(source)
        with torch.inference_mode():
            batches = [animator.render(batch) for batch in animator._driving_batches(driving, 3)]
        key = "prediction" if animator.drives_with_frames else "fake_image"
        ours = torch.cat([batch[key] for batch in batches]).clamp(0, 1)
        torch.testing.assert_close(ours, plain_forward(model, source, driving), atol=TOLERANCE, rtol=0)
        frames = animator(driving)
        assert frames.shape == (5, *SIZE, 3) and frames.dtype == np.uint8
        np.testing.assert_allclose(frames, np.round(ours.permute(0, 2, 3, 1).numpy() * 255), atol=1)


def test_pose_objects_and_errors() -> None:
    animator = Animator(seeded(PIRenderer(PIRendererConfig(**TINY_NETS, image_size=SIZE))))
    with pytest.raises(InputError, match="prepare"):
        animator([Pose.neutral()])
    rgba = np.dstack([images(1, 0)[0], np.full(SIZE, 128, np.uint8)])
    animator.prepare(rgba)
    assert animator([Pose.neutral(), Pose.neutral().replace(mouth_a=1)]).shape == (2, *SIZE, 4)  # RGBA in, RGBA out
    bad = np.zeros((1, 20), np.float32)
    bad[0, 12] = 2.0
    with pytest.raises(InputError, match="mouth_a"):
        animator(bad)
    with pytest.raises(InputError, match="RGB or RGBA"):
        animator.prepare(np.zeros((64, 64, 2), np.uint8))


def disc_alpha(seed: int) -> np.ndarray:
    """An RGBA source: random colours, an opaque disc with a soft edge on a transparent background."""
    ys, xs = np.mgrid[: SIZE[0], : SIZE[1]]
    distance = np.hypot(xs - SIZE[1] / 2, ys - SIZE[0] / 2)
    alpha = (np.clip(24 - distance, 0, 1) * 255).astype(np.uint8)
    return np.dstack([images(1, seed)[0], alpha])


@EVERY_MODEL_KIND
def test_alpha_moves_with_the_models_own_warp(model: torch.nn.Module) -> None:
    animator = Animator(seeded(model), batch_size=4)
    source = disc_alpha(3)
    driving = images(4, 20) if animator.drives_with_frames else poses(4, 20)
    animator.prepare(source)
    assert animator.has_alpha
    batch = next(animator._driving_batches(driving, 4))
    with torch.inference_mode():
        outputs = animator.render(batch)
        # the warp used for alpha, applied to the source image, is the model's own warp of the source image
        warped_source = animator.warp_source(animator._to_model(source), outputs)
        warped_alpha = animator.warp_source(image_to_tensor(source[:, :, [3, 3, 3]], SIZE), outputs)
    model_warp = outputs["deformed"] if animator.drives_with_frames else outputs["warp_image"]
    torch.testing.assert_close(warped_source, model_warp, atol=1e-6, rtol=0)
    frames = animator(driving)
    assert frames.shape == (4, *SIZE, 4)
    expected_alpha = np.round(warped_alpha[:, 0].clamp(0, 1).numpy() * 255)
    np.testing.assert_allclose(frames[..., 3], expected_alpha, atol=1)
    assert frames[..., 3].min() == 0 and frames[..., 3].max() == 255  # still a character on a transparent background
    # opaque pixels keep the model's colours: the same as animating the source composited on white
    # (to rounding: alpha 254.5/255 rounds to 255 but still un-mixes a little white)
    animator.prepare(composite_on_white(source))
    assert not animator.has_alpha
    opaque_frames = animator(driving)
    opaque = frames[..., 3] == 255
    np.testing.assert_allclose(frames[..., :3][opaque], opaque_frames[opaque], atol=1)
