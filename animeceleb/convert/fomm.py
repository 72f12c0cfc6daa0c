"""Official FOMM Lightning state dicts -> our ``FOMM``: keep the inference nets, read every size from shapes (SPEC 11).

Our keys are the official ``kp_detector.*`` and ``generator.*`` keys unchanged. Everything else is training-only:
the discriminator and the ``generator_full`` / ``discriminator_full`` wrappers (aliases of the same tensors, NaN
pyramid buffers, the perceptual VGG).
"""

from __future__ import annotations

import re

from animeceleb.convert.family import Family, StateDict, indices, shape, strip_prefix
from animeceleb.errors import CheckpointError
from animeceleb.models.fomm import FOMM, FOMMConfig

KP = "kp_detector."
GENERATOR = "generator."
DENSE_MOTION = "generator.dense_motion_network."


def extract_fomm(state_dict: StateDict, ema: bool) -> StateDict:
    """The ``kp_detector.*`` and ``generator.*`` entries, keys unchanged."""
    if ema:
        raise CheckpointError("official FOMM checkpoints have no EMA weights; drop --ema")
    weights = {}
    for prefix in (KP, GENERATOR):
        part = strip_prefix(state_dict, prefix, prefix)
        if not part:
            raise CheckpointError(f"no {prefix}* weights in this checkpoint: not a complete FOMM checkpoint")
        weights |= part
    return weights


def infer_scale(weights: StateDict, key: str) -> float:
    """The anti-alias scale 1/n from its kernel size k = 4n - 3 (SPEC 11); 1 when the module is absent."""
    if key not in weights:
        return 1.0
    size = shape(weights, key)[-1]
    if (size + 3) % 4:
        raise CheckpointError(f"{key} has a {size}x{size} kernel, which no scale 1/n produces")
    return 1 / ((size + 3) // 4)


def infer_hourglass(weights: StateDict, prefix: str) -> dict[str, int]:
    """in_features, block_expansion, max_features and num_blocks of the hourglass under ``prefix``."""
    levels = indices(weights, re.escape(prefix + "encoder.down_blocks.") + r"(\d+)\.")
    if not levels:
        raise CheckpointError(f"missing tensors {prefix}encoder.down_blocks.*: not a complete FOMM checkpoint")
    widths = [shape(weights, f"{prefix}encoder.down_blocks.{i}.conv.weight")[0] for i in levels]
    return {
        "in_features": shape(weights, prefix + "encoder.down_blocks.0.conv.weight")[1],
        "block_expansion": shape(weights, f"{prefix}decoder.up_blocks.{len(levels) - 1}.conv.weight")[0],
        # Only a clipped width shows max_features; the widest level is an equivalent value otherwise.
        "max_features": max(widths),
        "num_blocks": len(levels),
    }


def check(condition: bool, message: str) -> None:
    """Raise a ``CheckpointError`` saying which shapes disagree with the FOMM architecture."""
    if not condition:
        raise CheckpointError(f"inconsistent FOMM checkpoint: {message}")


def infer_fomm_config(weights: StateDict) -> FOMMConfig:
    """FOMMConfig from our keys; temperature and kp_variance are code constants (the defaults)."""
    kp = infer_hourglass(weights, KP + "predictor.")
    num_channels, num_kp = kp["in_features"], shape(weights, KP + "kp.weight")[0]
    check(shape(weights, KP + "kp.weight")[1] == kp["block_expansion"] + num_channels, "kp head input width")
    estimate_jacobian = KP + "jacobian.weight" in weights
    if estimate_jacobian and shape(weights, KP + "jacobian.weight")[0] != 4 * num_kp:
        raise CheckpointError(
            "this FOMM checkpoint uses a single shared jacobian map, which no official config enables"
        )
    dense = infer_hourglass(weights, DENSE_MOTION + "hourglass.")
    check(dense["in_features"] == (num_kp + 1) * (num_channels + 1), "dense-motion input width vs (K+1)(C+1)")
    check(shape(weights, DENSE_MOTION + "mask.weight")[0] == num_kp + 1, "mask channels vs K+1")
    down_levels = indices(weights, r"generator\.down_blocks\.(\d+)\.")
    generator_be = shape(weights, GENERATOR + "first.conv.weight")[0]
    down_widths = [shape(weights, f"generator.down_blocks.{i}.conv.weight")[0] for i in down_levels]
    return FOMMConfig(
        num_channels=num_channels,
        num_kp=num_kp,
        estimate_jacobian=estimate_jacobian,
        kp_block_expansion=kp["block_expansion"],
        kp_max_features=kp["max_features"],
        kp_num_blocks=kp["num_blocks"],
        kp_scale_factor=infer_scale(weights, KP + "down.weight"),
        generator_block_expansion=generator_be,
        generator_max_features=max([generator_be, *down_widths]),
        num_down_blocks=len(down_levels),
        num_bottleneck_blocks=len(indices(weights, r"generator\.bottleneck\.r(\d+)\.")),
        estimate_occlusion_map=DENSE_MOTION + "occlusion.weight" in weights,
        dense_motion_block_expansion=dense["block_expansion"],
        dense_motion_max_features=dense["max_features"],
        dense_motion_num_blocks=dense["num_blocks"],
        dense_motion_scale_factor=infer_scale(weights, DENSE_MOTION + "down.weight"),
    )


FOMM_FAMILY = Family(name="fomm", model_cls=FOMM, marker=KP, extract=extract_fomm, infer_config=infer_fomm_config)
