"""Weight averaging of a run's checkpoints (stochastic weight averaging, Izmailov et al., UAI 2018).

The checkpoints of a stretch of training at a constant learning rate scatter around a good solution; the mean of
their weights sits nearer its centre and usually beats each of them, at no training cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from animeceleb.errors import CheckpointError, InputError
from animeceleb.models import load_model
from animeceleb.models.hub import HubModel


def average_checkpoints(checkpoints: Sequence[str | Path], out_dir: str | Path) -> HubModel:
    """Save the element-wise mean of the models in ``checkpoints`` (one architecture) to ``out_dir``; returns it.

    Each checkpoint is a model folder (``config.json`` + ``model.safetensors``), e.g. ``RUN/checkpoint-0009000``.
    The mean is accumulated in float64 one model at a time, so memory stays at two models.
    """
    if len(checkpoints) < 2:
        raise InputError(f"give at least two checkpoints to average; got {len(checkpoints)}")
    average = load_model(checkpoints[0])
    state = average.state_dict()
    sums = {key: value.double() for key, value in state.items()}
    for path in checkpoints[1:]:
        model = load_model(path)
        if type(model) is not type(average) or model.config != average.config:
            raise CheckpointError(
                f"{path} has another architecture than {checkpoints[0]}; average checkpoints of one run"
            )
        for key, value in model.state_dict().items():
            sums[key] += value.double()
    average.load_state_dict({key: (total / len(checkpoints)).to(state[key].dtype) for key, total in sums.items()})
    average.save_pretrained(out_dir)
    return average
