"""Animo, PIRenderer and FOMM, their configs, and the factory that creates or loads them."""

from animeceleb.models.animo import Animo, AnimoConfig
from animeceleb.models.factory import PRESETS, create_model, load_model
from animeceleb.models.fomm import FOMM, FOMMConfig
from animeceleb.models.pirenderer import PIRenderer, PIRendererConfig
from animeceleb.models.pixels import from_model_range, to_model_range

__all__ = [
    "PRESETS",
    "Animo",
    "AnimoConfig",
    "FOMM",
    "FOMMConfig",
    "PIRenderer",
    "PIRendererConfig",
    "create_model",
    "from_model_range",
    "load_model",
    "to_model_range",
]
