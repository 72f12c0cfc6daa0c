"""What the converter needs to know about one model family, and small helpers to read architecture from shapes."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from animeceleb.errors import CheckpointError

StateDict = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Family:
    """One convertible model family.

    Attributes:
        name: the ``--kind`` value (``animo``, ``pirender``, ``fomm``).
        model_cls: the ``HubModel`` subclass the weights load into.
        marker: a key prefix only this family's official checkpoints have (used to detect and check the kind).
        extract: official Lightning ``state_dict`` (and the ``--ema`` flag) -> our keys, training-only keys dropped.
        infer_config: our keys -> the config dataclass, every size read from tensor shapes.
    """

    name: str
    model_cls: type
    marker: str
    extract: Callable[[StateDict, bool], StateDict]
    infer_config: Callable[[StateDict], Any]


def strip_prefix(state_dict: Mapping[str, torch.Tensor], prefix: str, new_prefix: str = "") -> StateDict:
    """The entries under ``prefix``, renamed to start with ``new_prefix``."""
    return {new_prefix + key[len(prefix) :]: value for key, value in state_dict.items() if key.startswith(prefix)}


def indices(state_dict: Mapping[str, torch.Tensor], pattern: str) -> list[int]:
    """Sorted distinct integers captured by ``pattern`` (a regex with one group) at the start of any key."""
    regex = re.compile(pattern)
    return sorted({int(match.group(1)) for key in state_dict if (match := regex.match(key))})


def shape(state_dict: Mapping[str, torch.Tensor], key: str) -> tuple[int, ...]:
    """The shape of a required tensor; a clear error if the checkpoint lacks it."""
    if key not in state_dict:
        raise CheckpointError(f"missing tensor {key!r}: the checkpoint is not a complete model of this kind")
    return tuple(state_dict[key].shape)
