"""``HubModel``: the base of every top-level model, adding strict ``from_pretrained`` / ``save_pretrained``.

Built on ``huggingface_hub.PyTorchModelHubMixin``: a model folder or Hub repo holds ``config.json`` (the model's
config dataclass) and ``model.safetensors``. Unlike the mixin's defaults, loading here is strict and every failure
(no folder, offline, wrong model kind, missing or mismatched tensors) becomes a ``CheckpointError`` that says why.
"""

from __future__ import annotations

import json
import os
from dataclasses import fields
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import safetensors.torch
from huggingface_hub import PyTorchModelHubMixin, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError
from safetensors import SafetensorError
from torch import nn

from animeceleb.errors import CheckpointError

T = TypeVar("T", bound="HubModel")

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
HUB_DOWNLOAD_ARGS = ("revision", "cache_dir", "force_download", "token", "local_files_only")


class HubModel(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="animeceleb",
    repo_url="https://github.com/animeceleb/animeceleb-studio",
    paper_url="https://arxiv.org/abs/2111.07640",
    license="mit",
    tags=["animeceleb", "head-reenactment", "anime"],
):
    """A model configured by one frozen config dataclass whose ``model_type`` field names the family."""

    model_type: ClassVar[str]
    config_class: ClassVar[type]

    @classmethod
    def from_pretrained(cls: type[T], pretrained_model_name_or_path: str | Path, **kwargs: Any) -> T:
        """Load ``config.json`` + ``model.safetensors`` from a local folder or a Hub repo id (strictly)."""
        source = str(pretrained_model_name_or_path)
        if os.path.isdir(source):
            _check_model_folder(Path(source), cls.model_type)
        try:
            return super().from_pretrained(source, **kwargs)
        except (LocalEntryNotFoundError, RepositoryNotFoundError, HfHubHTTPError) as error:
            raise CheckpointError(
                f"cannot load {source!r}: it is not a local model folder, and the Hub repo could not be reached or "
                f"is not in the local cache ({type(error).__name__}). Pass a folder with {CONFIG_FILE} and "
                f"{WEIGHTS_FILE}, or connect once to cache the repo."
            ) from None

    @classmethod
    def _from_pretrained(
        cls,
        *,
        model_id: str,
        config: dict[str, Any] | Any = None,
        map_location: str = "cpu",
        **hub_kwargs: Any,
    ) -> HubModel:
        """Build the model from its config and load ``model.safetensors`` strictly (local folder or Hub cache)."""
        if config is None:
            raise CheckpointError(f"{model_id}: no {CONFIG_FILE} found; a model folder needs one")
        model = cls(config_from_json(cls.config_class, config) if isinstance(config, dict) else config)
        if os.path.isdir(model_id):
            weights = os.path.join(model_id, WEIGHTS_FILE)
        else:
            download = {key: hub_kwargs[key] for key in HUB_DOWNLOAD_ARGS if key in hub_kwargs}
            weights = hf_hub_download(repo_id=model_id, filename=WEIGHTS_FILE, **download)
        try:
            safetensors.torch.load_model(model, weights, strict=True, device=map_location)
        except (RuntimeError, SafetensorError, FileNotFoundError) as error:
            raise CheckpointError(
                f"{model_id}: the weights do not fit a {cls.__name__}: {_first_line(error)}"
            ) from None
        return model.eval()


def _check_model_folder(folder: Path, model_type: str) -> None:
    config_path = folder / CONFIG_FILE
    if not config_path.is_file() or not (folder / WEIGHTS_FILE).is_file():
        raise CheckpointError(f"{folder} is not a model folder: it needs {CONFIG_FILE} and {WEIGHTS_FILE}")
    found = read_config(config_path).get("model_type")
    if found != model_type:
        raise CheckpointError(f"{folder} holds a {found!r} model, not {model_type!r}")


def read_config(config_path: Path) -> dict[str, Any]:
    """A model's ``config.json`` as a dict; a ``CheckpointError`` naming the file when it is not a JSON object."""
    try:
        values = json.loads(config_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{config_path} is not a valid JSON config: {error}") from None
    if not isinstance(values, dict):
        raise CheckpointError(f"{config_path} is not a valid JSON config: it holds no object")
    return values


def config_from_json(config_class: type, values: dict[str, Any]) -> Any:
    """Rebuild a config dataclass from ``config.json`` values; unknown fields are an error, not silently dropped."""
    unknown = sorted(set(values) - {field.name for field in fields(config_class)})
    if unknown:
        raise CheckpointError(f"unknown {config_class.__name__} fields in {CONFIG_FILE}: {', '.join(unknown)}")
    return config_class(**values)


def normalize_config(config: Any, model_type: str) -> None:
    """Validate a frozen config dataclass in ``__post_init__``: JSON lists become tuples, ``model_type`` must match."""
    if config.model_type != model_type:
        raise CheckpointError(f"this config describes a {config.model_type!r} model, not {model_type!r}")
    for field in fields(config):
        value = getattr(config, field.name)
        if isinstance(value, list):
            object.__setattr__(config, field.name, tuple(value))


def _first_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return " ".join(lines[:3])[:400]
