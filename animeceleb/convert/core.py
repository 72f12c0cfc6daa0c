"""Convert an official PyTorch-Lightning checkpoint into a model folder (``config.json`` + ``model.safetensors``).

Reading never unpickles arbitrary objects (``torch.load(weights_only=True)``); training-only tensors are dropped;
the architecture is inferred from tensor shapes because official checkpoints store no config (SPEC 5, 11).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import torch

from animeceleb.convert.animo import ANIMO_FAMILY, PIRENDER_FAMILY
from animeceleb.convert.family import Family, StateDict
from animeceleb.convert.fomm import FOMM_FAMILY
from animeceleb.errors import CheckpointError

logger = logging.getLogger(__name__)

FAMILIES: dict[str, Family] = {family.name: family for family in (ANIMO_FAMILY, PIRENDER_FAMILY, FOMM_FAMILY)}


def read_state_dict(path: str | Path) -> tuple[StateDict, dict[str, object]]:
    """The tensors of a Lightning checkpoint (or of a bare state dict) and its scalar metadata (epoch, step...)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for foreign files; all mean "not a checkpoint"
        reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"{path} is not a PyTorch checkpoint that loads safely ({reason})") from None
    if not isinstance(loaded, Mapping):
        raise CheckpointError(f"{path} holds a {type(loaded).__name__}, not a checkpoint dictionary")
    state = loaded.get("state_dict", loaded)
    tensors = (
        {key: value for key, value in state.items() if isinstance(value, torch.Tensor)}
        if isinstance(state, Mapping)
        else {}
    )
    if not tensors:
        raise CheckpointError(f"{path} has no 'state_dict' of tensors: not a model checkpoint")
    metadata = {key: loaded[key] for key in ("epoch", "global_step", "pytorch-lightning_version") if key in loaded}
    return tensors, metadata


def detect_kind(state_dict: StateDict) -> str | None:
    """The family whose marker prefix the checkpoint's keys carry, if exactly one."""
    found = [name for name, family in FAMILIES.items() if any(key.startswith(family.marker) for key in state_dict)]
    return found[0] if len(found) == 1 else None


def check_weights(expected: Mapping[str, torch.Tensor], weights: Mapping[str, torch.Tensor]) -> None:
    """Raise a ``CheckpointError`` listing a few missing/unexpected keys or mismatched shapes, if any."""
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    mismatched = [
        f"{key} {tuple(weights[key].shape)} vs {tuple(expected[key].shape)}"
        for key in sorted(set(expected) & set(weights))
        if weights[key].shape != expected[key].shape
    ]
    problems = [
        f"{label} ({len(items)}): {', '.join(items[:4])}{', ...' if len(items) > 4 else ''}"
        for label, items in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatch", mismatched))
        if items
    ]
    if problems:
        raise CheckpointError("the weights do not fit the inferred architecture: " + "; ".join(problems))


def convert_checkpoint(
    checkpoint: str | Path,
    out_dir: str | Path,
    *,
    kind: str | None = None,
    ema: bool = False,
    image_size: tuple[int, int] | None = None,
) -> Path:
    """Convert an official checkpoint of ``kind`` (detected when None) into a model folder; returns the folder."""
    state_dict, metadata = read_state_dict(checkpoint)
    detected = detect_kind(state_dict)
    if kind is None and detected is None:
        raise CheckpointError(f"cannot tell the model kind of {checkpoint}; pass --kind ({'|'.join(FAMILIES)})")
    kind = kind or detected
    if kind not in FAMILIES:
        raise CheckpointError(f"unknown kind {kind!r}; choose one of {', '.join(FAMILIES)}")
    if detected != kind:
        found = f"a {detected} checkpoint" if detected else "no known model"
        raise CheckpointError(f"{checkpoint} holds {found}, not {kind} (no '{FAMILIES[kind].marker}*' keys)")
    family = FAMILIES[kind]
    weights = family.extract(state_dict, ema)
    config = family.infer_config(weights)
    if image_size is not None:
        config = replace(config, image_size=tuple(image_size))
    model = family.model_cls(config)
    check_weights(model.state_dict(), weights)
    model.load_state_dict(weights, strict=True)
    out_dir = Path(out_dir)
    model.save_pretrained(out_dir)
    write_model_card(out_dir, model, Path(checkpoint).name, metadata, kind)
    logger.info("converted %s (%s, %d tensors) to %s", checkpoint, kind, len(weights), out_dir)
    return out_dir


def write_model_card(
    out_dir: Path, model: torch.nn.Module, source: str, metadata: Mapping[str, object], kind: str
) -> None:
    """A short README.md with Hub metadata saying where the weights came from."""
    parameters = sum(parameter.numel() for parameter in model.parameters())
    trained = ", ".join(f"{key} {value}" for key, value in metadata.items()) or "unknown"
    card = f"""---
library_name: animeceleb
tags: [animeceleb, head-reenactment, {kind}]
pipeline_tag: image-to-image
---
# {type(model).__name__} converted from `{source}`

Converted from an official AnimeCeleb PyTorch-Lightning checkpoint ({trained}) with
`python -m animeceleb convert --kind {kind} {source} OUT_DIR`. Training-only tensors (perceptual VGG, optimizer
state, duplicates) were dropped; the architecture in `config.json` was inferred from tensor shapes.
Parameters: {parameters:,}. Inputs are images in the range {list(model.config.input_range)}.

```python
from animeceleb.models import load_model
model = load_model("path/to/this/folder")
```
"""
    (out_dir / "README.md").write_text(card, encoding="utf-8")
