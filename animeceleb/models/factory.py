"""Create models by preset name, or load any model folder / Hub repo by the ``model_type`` in its config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from huggingface_hub import hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

from animeceleb.errors import CheckpointError, InputError
from animeceleb.models.animo import Animo, AnimoConfig
from animeceleb.models.fomm import FOMM, FOMMConfig
from animeceleb.models.hub import CONFIG_FILE, HubModel, read_config
from animeceleb.models.pirenderer import PIRenderer, PIRendererConfig

MODEL_CLASSES: dict[str, type[HubModel]] = {"animo": Animo, "pirenderer": PIRenderer, "fomm": FOMM}

# The shipped compact Animo (configs/animeceleb-compact.yaml): real time on a 2-core CPU, because the levels that run
# at full resolution per frame (the warping net's stem, the editing net's top level) are 4 channels wide.
COMPACT_NETS = {
    "descriptor_nc": 128,
    "adain_hidden": 64,
    "warp_base_nc": 4,
    "warp_max_nc": 64,
    "warp_decoder_layers": 2,
    "edit_base_nc": 4,
    "edit_max_nc": 64,
    "edit_res_blocks": 1,
}

PRESETS: dict[str, Callable[[], HubModel]] = {
    "animo_official": lambda: Animo(AnimoConfig()),
    "animo_compact": lambda: Animo(AnimoConfig(**COMPACT_NETS, domains=("anime",))),
    "pirenderer_official": lambda: PIRenderer(PIRendererConfig()),
    "pirenderer_compact": lambda: PIRenderer(
        PIRendererConfig(descriptor_nc=128, warp_base_nc=16, warp_max_nc=128, edit_base_nc=32, edit_max_nc=128)
    ),
    "fomm_official": lambda: FOMM(FOMMConfig()),
    "fomm_compact": lambda: FOMM(
        FOMMConfig(
            kp_block_expansion=16,
            kp_max_features=256,
            generator_block_expansion=32,
            generator_max_features=256,
            num_bottleneck_blocks=3,
            dense_motion_block_expansion=16,
            dense_motion_max_features=256,
        )
    ),
}


def create_model(name: str) -> HubModel:
    """A randomly initialised model from a preset name (see ``PRESETS``)."""
    if name not in PRESETS:
        raise InputError(f"unknown model preset {name!r}; choose one of {', '.join(sorted(PRESETS))}")
    return PRESETS[name]().eval()


def read_model_type(name_or_path: str | Path) -> str:
    """The ``model_type`` recorded in a model folder's or Hub repo's config.json."""
    path = Path(name_or_path)
    if path.is_dir():
        config_path = path / CONFIG_FILE
        if not config_path.is_file():
            raise CheckpointError(f"{path} is not a model folder: no {CONFIG_FILE}")
    else:
        try:
            config_path = Path(hf_hub_download(str(name_or_path), CONFIG_FILE))
        except (LocalEntryNotFoundError, HfHubHTTPError, ValueError) as error:
            raise CheckpointError(
                f"cannot load {str(name_or_path)!r}: not a local model folder, and the Hub repo is unreachable or not "
                f"cached ({type(error).__name__})"
            ) from None
    model_type = read_config(config_path).get("model_type")
    if model_type not in MODEL_CLASSES:
        raise CheckpointError(
            f"{config_path}: model_type {model_type!r} is none of ours; expected one of {', '.join(MODEL_CLASSES)}"
        )
    return model_type


def load_model(name_or_path: str | Path, *, device: str = "cpu") -> HubModel:
    """Load any of our models from a folder or Hub repo id, in eval mode on ``device``."""
    model_cls = MODEL_CLASSES[read_model_type(name_or_path)]
    return model_cls.from_pretrained(name_or_path).to(device).eval()
