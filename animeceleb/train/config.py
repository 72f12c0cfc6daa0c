"""``TrainConfig``: every run-time setting of a training run, with the official recipe (SPEC 7) as defaults.

A YAML file is parsed into it (``load_train_config``); unknown keys are errors. Lengths are counted in epochs of
``epoch_steps`` optimiser steps, so the official schedule (warp-only for 100 epochs, 200 in all, step decay at 150)
scales to any budget by changing ``epoch_steps`` alone.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from animeceleb.data.sampling import redraw_fractions_ok
from animeceleb.errors import InputError
from animeceleb.pose import MORPH_NAMES

MODEL_KINDS = ("animo", "pirender", "fomm")
OFFICIAL_TRAIN_IDENTITIES = 3319  # AnimeCeleb train identities (SPEC 6.1); one item per identity per pass
OFFICIAL_REPEATS = 75  # passes over the identities per epoch (SPEC 6.3)


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Defaults are the official Animo recipe; ``official_config`` gives each model's."""

    preset: str = ""  # model preset to start from ("" -> "<family>_official"); see animeceleb.models.PRESETS
    architecture: dict[str, Any] = field(default_factory=dict)  # overrides of the preset's config fields
    use_identity_flow_init: bool = False  # zero the flow output conv, so training starts from copying the source
    init_weights: str = ""  # model folder or Hub id to fine-tune (same architecture); "" = fresh initial weights
    batch_size: int = 4  # pairs per process and step (each pair is used in both directions: 2x images)
    epochs: int = 200  # total length
    warp_epochs: int = 100  # warp-only epochs before the editing nets join (0 = no warp stage)
    epoch_steps: int = 0  # steps per epoch; 0 = the official epoch: 3319 identities x 75 repeats / batch_size
    lr: float = 1e-4  # Adam learning rate
    betas: tuple[float, float] = (0.5, 0.999)
    lr_milestones: tuple[int, ...] = (150,)  # epochs at which the learning rate is multiplied by lr_gamma
    lr_gamma: float = 0.2
    warp_weight: float = 2.5  # loss on the warped source
    final_weight: float = 4.0  # loss on the final image
    style_weight: float = 250.0  # Gram-matrix style term of the final loss (perceptual loss only)
    edit_region_weight: float = 0.0  # L1 of the final image where the warp misses the target (0 = official recipe)
    perceptual_weights: str = ""  # VGG19 safetensors file or Hub id; "" = offline fallback loss (see losses.py)
    loss_scales: int = 4  # image pyramid levels of the perceptual and fallback losses
    equivariance_weight: float = 10.0  # FOMM only: keypoint value and Jacobian equivariance terms
    use_jitter: bool = True  # colour jitter of strength 0.1, identical for both images of a pair (SPEC 6.5)
    num_identities: int = 10_000  # synthetic data only: characters in the training stream
    strong_expressions: float = 0.0  # synthetic data only: fraction of pairs driven to closed eyes / open mouths
    expression_changes: float = 0.0  # synthetic data only: fraction of pairs that change one morph, head still
    expression_morphs: tuple[str, ...] = MORPH_NAMES  # the morphs those pairs change
    image_size: int = 256  # synthetic data only: rendered size (must equal the model's image_size)
    num_workers: int = 0  # DataLoader worker processes
    frozen_modules: tuple[str, ...] = ()  # submodules whose weights stay fixed, e.g. renderers.anime.warping_net
    seed: int = 0
    checkpoint_every: int = 1000  # steps between checkpoints (the last step always writes one)
    log_every: int = 10  # steps between CSV log rows
    sample_rows: int = 4  # held-out pairs in the sample grid written with each checkpoint
    channels_last: bool = False  # NHWC model and images: ~1.4x faster steps for the narrow compact nets on CPU
    mixed_precision: str = "no"  # passed to accelerate: "no", "fp16" or "bf16" (grid and losses stay float32)
    log_with: str = ""  # an accelerate tracker besides log.csv ("tensorboard", "wandb"; the package must be installed)

    def __post_init__(self) -> None:
        object.__setattr__(self, "betas", tuple(self.betas))
        for name in ("lr_milestones", "expression_morphs", "frozen_modules"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        positive = ("batch_size", "epochs", "checkpoint_every", "log_every", "loss_scales", "image_size")
        bad = [f"{name} (at least 1)" for name in positive if getattr(self, name) < 1]
        if min(self.warp_epochs, self.epoch_steps, self.edit_region_weight) < 0 or self.lr <= 0:
            bad.append("warp_epochs/epoch_steps/edit_region_weight (at least 0) or lr (above 0)")
        if not redraw_fractions_ok(self.strong_expressions, self.expression_changes):
            bad.append("strong_expressions/expression_changes (fractions with a sum of at most 1)")
        if bad:
            raise InputError(f"invalid training config, out of range: {'; '.join(bad)}")

    @property
    def steps_per_epoch(self) -> int:
        """``epoch_steps``, or the official epoch length for this batch size."""
        return self.epoch_steps or math.ceil(OFFICIAL_TRAIN_IDENTITIES * OFFICIAL_REPEATS / self.batch_size)

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    @property
    def warp_steps(self) -> int:
        """Steps of the warp-only stage; the editing nets train from this step on."""
        return self.warp_epochs * self.steps_per_epoch

    def to_dict(self) -> dict[str, Any]:
        """JSON/YAML-safe values (tuples become lists)."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}


# Differences of PIRenderer and FOMM from the Animo defaults (SPEC 7.3, 7.4).
_OFFICIAL = {
    "animo": {},
    "pirender": {"batch_size": 8},
    "fomm": {
        "batch_size": 16,
        "epochs": 100,
        "warp_epochs": 0,
        "lr": 2e-4,
        "lr_milestones": (60, 90),
        "lr_gamma": 0.1,
        "final_weight": 10.0,
        "style_weight": 0.0,
        "use_jitter": True,
    },
}


def official_config(kind: str) -> TrainConfig:
    """The official recipe of ``kind`` (animo, pirender or fomm)."""
    if kind not in MODEL_KINDS:
        raise InputError(f"unknown model kind {kind!r}; choose one of {', '.join(MODEL_KINDS)}")
    return TrainConfig(**_OFFICIAL[kind])


def load_train_config(kind: str, path: str | Path | None = None) -> TrainConfig:
    """The official config of ``kind`` with the keys of a YAML file applied on top; unknown keys are an error."""
    config = official_config(kind)
    if path is None:
        return config
    path = Path(path)
    if not path.is_file():
        raise InputError(f"training config {path} does not exist")
    values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(values, dict):
        raise InputError(f"{path} must hold a mapping of TrainConfig keys; got {type(values).__name__}")
    known = {item.name for item in fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputError(f"unknown keys in {path}: {', '.join(unknown)}; valid keys: {', '.join(sorted(known))}")
    try:
        return replace(config, **values)
    except TypeError as error:
        raise InputError(f"{path}: {error}") from None
