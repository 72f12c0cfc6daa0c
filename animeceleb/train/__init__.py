"""Training: ``TrainConfig`` (official recipes as defaults), losses, objectives and the accelerate loop."""

from animeceleb.train.config import TrainConfig, load_train_config, official_config
from animeceleb.train.loop import build_model, train

__all__ = ["TrainConfig", "build_model", "load_train_config", "official_config", "train"]
