"""Training checkpoints without pickle: model via ``save_pretrained``, optimiser/scheduler/step/RNG as safetensors+JSON.

A checkpoint folder ``RUN/checkpoint-<step>/`` holds ``config.json`` + ``model.safetensors`` (loadable with
``load_model``), ``training_state.safetensors`` (Adam moments and the torch RNG state) and ``training_state.json``
(step, optimiser hyper-parameters, scheduler state, the training config).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from animeceleb.errors import CheckpointError
from animeceleb.models.hub import WEIGHTS_FILE

STATE_TENSORS = "training_state.safetensors"
STATE_JSON = "training_state.json"
_CHECKPOINT = re.compile(r"checkpoint-(\d+)")


def checkpoint_dir(run_dir: Path, step: int) -> Path:
    return run_dir / f"checkpoint-{step:07d}"


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint folder of ``run_dir`` with the highest step that has a complete training state."""
    found = []
    for path in run_dir.glob("checkpoint-*"):
        match = _CHECKPOINT.fullmatch(path.name)
        if match and (path / STATE_JSON).is_file() and (path / WEIGHTS_FILE).is_file():
            found.append((int(match.group(1)), path))
    return max(found)[1] if found else None


def save_training_state(
    folder: Path,
    step: int,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    extra: dict[str, Any],
) -> None:
    """Write the optimiser, scheduler, step and RNG state beside the model files in ``folder``."""
    optimizer_state = optimizer.state_dict()
    tensors = {"rng.torch": torch.get_rng_state()}
    scalars: dict[str, dict[str, Any]] = {}
    for index, values in optimizer_state["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(index), {})[key] = value
    save_file(tensors, folder / STATE_TENSORS)
    state = {
        "step": step,
        "param_groups": optimizer_state["param_groups"],
        "optimizer_scalars": scalars,
        "scheduler": scheduler.state_dict(),  # JSON-safe for LambdaLR: its functions are not saved
        **extra,
    }
    (folder / STATE_JSON).write_text(json.dumps(state, indent=2, default=list), encoding="utf-8")


def load_training_state(
    folder: Path, optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler
) -> dict[str, Any]:
    """Restore optimiser, scheduler and torch RNG from ``folder``; returns the JSON state (with ``step``)."""
    try:
        state = json.loads((folder / STATE_JSON).read_text(encoding="utf-8"))
        tensors = load_file(folder / STATE_TENSORS)
    except (OSError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{folder}: unreadable training state ({error})") from None
    per_param: dict[int, dict[str, Any]] = {}
    for name, tensor in tensors.items():
        if name.startswith("optimizer."):
            _, index, key = name.split(".", 2)
            per_param.setdefault(int(index), {})[key] = tensor
    for index, values in state["optimizer_scalars"].items():
        per_param.setdefault(int(index), {}).update(values)
    try:
        optimizer.load_state_dict({"state": per_param, "param_groups": state["param_groups"]})
    except (ValueError, KeyError) as error:
        raise CheckpointError(f"{folder}: the optimiser state does not fit this model ({error})") from None
    try:
        scheduler.load_state_dict(state["scheduler"])
    except (KeyError, TypeError) as error:  # e.g. a MultiStepLR state from an earlier version of this code
        raise CheckpointError(
            f"{folder}: its learning-rate schedule state does not fit this version ({type(error).__name__}: {error}); "
            f"start a new run from its weights with 'init_weights: {folder}' in the training config"
        ) from None
    torch.set_rng_state(tensors["rng.torch"])
    return state
