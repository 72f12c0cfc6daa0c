"""Official Animo and PIRenderer state dicts -> our modules: key renames, sizes read from shapes (SPEC 5)."""

from __future__ import annotations

import re

from animeceleb.convert.family import Family, StateDict, indices, shape, strip_prefix
from animeceleb.errors import CheckpointError
from animeceleb.models.animo import Animo, AnimoConfig
from animeceleb.models.pirenderer import PIRenderer, PIRendererConfig

ANIMO_DOMAINS = {"A": "anime", "V": "vox"}  # official attribute suffix -> our domain name


def extract_animo(state_dict: StateDict, ema: bool) -> StateDict:
    """Keep the mapping net and the per-domain nets (renamed from the official ``warpping_netA`` spelling)."""
    if ema:
        raise CheckpointError("official Animo checkpoints have no EMA weights; drop --ema")
    weights = strip_prefix(state_dict, "mapping_net.", "mapping_net.")
    for suffix, domain in ANIMO_DOMAINS.items():
        weights |= strip_prefix(state_dict, f"warpping_net{suffix}.", f"renderers.{domain}.warping_net.")
        weights |= strip_prefix(state_dict, f"editing_net{suffix}.", f"renderers.{domain}.editing_net.")
    return weights


def extract_pirender(state_dict: StateDict, ema: bool) -> StateDict:
    """Keep ``generator.*`` (or the EMA copy ``generator_ema.*`` with ``--ema``), dropping the perceptual VGG."""
    prefix = "generator_ema." if ema else "generator."
    if not any(key.startswith(prefix) for key in state_dict):
        raise CheckpointError(
            f"no {prefix}* weights in this checkpoint" + (" (it was not trained with EMA)" if ema else "")
        )
    weights = strip_prefix(state_dict, prefix + "mapping_net.", "mapping_net.")
    weights |= strip_prefix(state_dict, prefix + "warpping_net.", "renderer.warping_net.")
    weights |= strip_prefix(state_dict, prefix + "editing_net.", "renderer.editing_net.")
    return weights


def infer_mapping(weights: StateDict) -> dict[str, int]:
    """MappingNet sizes and the ADAIN hidden width."""
    first = shape(weights, "mapping_net.first.0.weight")
    if len(first) != 2:
        raise CheckpointError(
            "this checkpoint uses the multi-frame (Conv1d) MappingNet, which no official config enables"
        )
    hidden = next((value.shape[0] for key, value in weights.items() if key.endswith("mlp_shared.0.weight")), 128)
    layers = len(indices(weights, r"mapping_net\.encoder(\d+)\."))
    return {"coeff_nc": first[1], "descriptor_nc": first[0], "mapping_layers": layers, "adain_hidden": hidden}


def infer_renderer(weights: StateDict, prefix: str, warp_features: bool) -> dict[str, int]:
    """WarpingNet and EditingNet sizes under ``prefix`` (e.g. ``renderers.anime.``)."""
    warp, edit = prefix + "warping_net.hourglass.", prefix + "editing_net."
    base_nc, image_nc = shape(weights, warp + "encoder.input_layer.weight")[:2]
    encoder_levels = indices(weights, re.escape(f"{warp}encoder.encoder") + r"(\d+)\.")
    edit_levels = indices(weights, re.escape(f"{edit}encoder.down") + r"(\d+)\.")
    first_edit = shape(weights, edit + "encoder.first.model.0.weight")
    expected_in = image_nc if warp_features else 2 * image_nc
    if first_edit[1] != expected_in:
        variant = "Animo (feature warping)" if warp_features else "PIRenderer (source + warped source)"
        raise CheckpointError(
            f"the editing net takes {first_edit[1]} input channels, not the {expected_in} of the {variant} variant"
        )
    last = len(edit_levels) - 1
    return {
        "image_nc": image_nc,
        "warp_base_nc": base_nc,
        "warp_max_nc": max(shape(weights, f"{warp}encoder.encoder{i}.conv_0.weight")[0] for i in encoder_levels),
        "warp_encoder_layers": len(encoder_levels),
        "warp_decoder_layers": len(indices(weights, re.escape(f"{warp}decoder.decoder") + r"(\d+)\.")),
        "edit_base_nc": first_edit[0],
        "edit_max_nc": max(shape(weights, f"{edit}encoder.down{i}.model.0.weight")[0] for i in edit_levels),
        "edit_layers": len(edit_levels),
        "edit_res_blocks": len(indices(weights, re.escape(f"{edit}decoder.res{last}.res") + r"(\d+)\.")),
    }


def infer_animo_config(weights: StateDict) -> AnimoConfig:
    """AnimoConfig from our keys; both domains must agree on their sizes."""
    domains = [
        domain for domain in ANIMO_DOMAINS.values() if any(k.startswith(f"renderers.{domain}.") for k in weights)
    ]
    if not domains:
        raise CheckpointError("no warpping_netA/warpping_netV weights: not an Animo checkpoint")
    sizes = [infer_renderer(weights, f"renderers.{domain}.", warp_features=True) for domain in domains]
    if any(size != sizes[0] for size in sizes[1:]):
        raise CheckpointError(f"the anime and vox nets have different sizes: {sizes}")
    return AnimoConfig(**infer_mapping(weights), **sizes[0], domains=tuple(domains))


def infer_pirender_config(weights: StateDict) -> PIRendererConfig:
    """PIRendererConfig from our keys."""
    return PIRendererConfig(**infer_mapping(weights), **infer_renderer(weights, "renderer.", warp_features=False))


ANIMO_FAMILY = Family("animo", Animo, "warpping_net", extract_animo, infer_animo_config)
PIRENDER_FAMILY = Family("pirender", PIRenderer, "generator.warpping_net.", extract_pirender, infer_pirender_config)
