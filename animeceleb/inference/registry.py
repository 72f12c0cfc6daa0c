"""Models for a server (the app): every model is loaded once, on first use, and shared by all sessions.

A model is named by a key: ``"default"`` (``ANIMECELEB_MODEL``, else the embedded ``checkpoints/animeceleb-compact``),
a local model folder, a Hub repo id, or ``"random:<preset>"`` (a deterministic randomly initialised preset, useful
before any weights exist). When the default weights cannot be loaded the app still starts: the default falls back to
``random:animo_compact`` and says so in ``LoadedModel.notice``. ``SourceCache`` keeps prepared ``Animator`` objects
per (model, source image). Gradio-free.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from animeceleb.errors import AnimeCelebError, CheckpointError
from animeceleb.inference.animator import Animator
from animeceleb.models import PRESETS, create_model, load_model
from animeceleb.models.hub import CONFIG_FILE, HubModel

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKPOINT_DIR = REPO_ROOT / "checkpoints"
EMBEDDED_DEFAULT = CHECKPOINT_DIR / "animeceleb-compact"
DEFAULT_KEY = "default"
RANDOM_PREFIX = "random:"
FALLBACK_KEY = RANDOM_PREFIX + "animo_compact"
RANDOM_SEED = 0  # random presets are seeded, so every process shows the same "untrained" model


@dataclass(frozen=True)
class LoadedModel:
    """A loaded model and what the app tells the user about it.

    Attributes:
        key: the name it was requested by (``"default"``, a folder, a Hub id or ``"random:<preset>"``).
        model: the model in eval mode; shared, so never modified.
        label: a short human-readable name for captions.
        notice: a warning to show next to the model choice (empty when all is well).
    """

    key: str
    model: HubModel
    label: str
    notice: str = ""

    @property
    def image_size(self) -> tuple[int, int]:
        """(height, width) of the images the model takes and renders."""
        return tuple(self.model.config.image_size)


def default_source() -> str:
    """Where the default model comes from: ``ANIMECELEB_MODEL`` if set, else the embedded checkpoint folder."""
    return os.environ.get("ANIMECELEB_MODEL") or str(EMBEDDED_DEFAULT)


def _label(source: str) -> str:
    path = Path(source)
    return path.name if path.is_dir() else source


def _load(key: str) -> LoadedModel:
    """Load the model a key names; the default falls back to a random preset with a notice instead of failing."""
    if key.startswith(RANDOM_PREFIX):
        preset = key.removeprefix(RANDOM_PREFIX)
        with torch.random.fork_rng():
            torch.manual_seed(RANDOM_SEED)
            model = create_model(preset)
        notice = f"{preset} has random weights: it shows the machinery, not a trained result."
        return LoadedModel(key, model, f"{preset} (random)", notice)
    if key != DEFAULT_KEY:
        return LoadedModel(key, load_model(key), _label(key))
    source = default_source()
    try:
        return LoadedModel(key, load_model(source), _label(source))
    except AnimeCelebError as error:
        logger.warning("default model unavailable (%s); falling back to %s", error, FALLBACK_KEY)
        fallback = _load(FALLBACK_KEY)
        if source == str(EMBEDDED_DEFAULT) and not EMBEDDED_DEFAULT.is_dir():
            reason = f"No trained weights yet in {EMBEDDED_DEFAULT.relative_to(REPO_ROOT)}/"
        else:
            reason = f"The default model {source} could not be loaded ({error})"
        notice = (
            f"{reason}: showing a randomly initialised animo_compact, whose results are not meaningful. "
            "Train the default model, set ANIMECELEB_MODEL, or choose another model."
        )
        return LoadedModel(key, fallback.model, fallback.label, notice)


class ModelRegistry:
    """Models by key, each loaded at most once (per-key locks, so loading one never blocks using another)."""

    def __init__(self) -> None:
        self._models: dict[str, LoadedModel] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: str | None) -> LoadedModel:
        """The model named ``key`` (blank means the default), loading it on first use; raises ``CheckpointError``."""
        key = (key or "").strip() or DEFAULT_KEY
        if key.startswith(RANDOM_PREFIX) and key.removeprefix(RANDOM_PREFIX) not in PRESETS:
            raise CheckpointError(f"unknown preset in {key!r}; choose one of {', '.join(sorted(PRESETS))}")
        if key in self._models:
            return self._models[key]
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._models:
                self._models[key] = _load(key)
                logger.info("loaded model %s", key)
        return self._models[key]

    def choices(self) -> list[str]:
        """Keys to offer in a model picker: the default, local checkpoint folders, loaded models, random presets."""
        folders = sorted(str(path.parent) for path in CHECKPOINT_DIR.glob(f"*/{CONFIG_FILE}"))
        folders = [str(Path(folder).relative_to(REPO_ROOT)) for folder in folders]
        randoms = [RANDOM_PREFIX + name for name in sorted(PRESETS) if name.endswith("_compact")]
        return list(dict.fromkeys([DEFAULT_KEY, *folders, *self._models, *randoms]))


class SourceCache:
    """Prepared ``Animator`` objects by (model, source image), so a slider change skips the source encoding.

    A prepared Animator is only read by rendering, so concurrent requests may share one. Least recently used entries
    are dropped beyond ``capacity``.
    """

    def __init__(self, capacity: int = 16) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, str], Animator] = OrderedDict()
        self._lock = threading.Lock()

    def animator(self, loaded: LoadedModel, source: np.ndarray) -> Animator:
        """An Animator of ``loaded`` prepared with ``source`` (uint8 H x W x 3 or 4, already framed)."""
        key = (loaded.key, image_digest(source))
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        animator = Animator(loaded.model)
        animator.prepare(np.array(source))  # a private writable copy: torch refuses read-only arrays
        with self._lock:
            self._entries[key] = animator
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        return animator


def image_digest(image: np.ndarray) -> str:
    """A short content hash of an image array (shape included)."""
    digest = hashlib.blake2b(np.ascontiguousarray(image).data, digest_size=16)
    digest.update(str(image.shape).encode())
    return digest.hexdigest()
