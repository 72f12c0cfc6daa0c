"""``evaluate``: reconstruction metrics of one or more models on held-out pairs, against copying the source.

Each test pair is reenacted (the source animated toward the driving pose, or the driving frame for FOMM) and compared
with the driving frame: L1, PSNR and SSIM per image, averaged. "copy_source" scores the source itself as the
prediction, the score of a model that does nothing. Writes ``report.json`` and ``grid.png`` (source | driving
ground truth | each model), and for synthetic data ``sweep_<model>.png``: unseen characters driven from the neutral
pose to single expressions and head turns, ground truth beside the model's output, and the expression scores
(``synthetic_checks``): how much of closed eyes, an open mouth and a smile each model draws.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from animeceleb.errors import InputError
from animeceleb.evaluate.datasets import SYNTHETIC, open_pairs
from animeceleb.evaluate.grid import save_grid
from animeceleb.evaluate.metrics import MeanMetrics, share_of
from animeceleb.evaluate.reenact import predict
from animeceleb.evaluate.synthetic_checks import expression_scores, write_sweep
from animeceleb.models import FOMM, load_model
from animeceleb.models.hub import HubModel
from animeceleb.pose import ANGLES, MORPHS

logger = logging.getLogger(__name__)

COPY_SOURCE = "copy_source"
REPORT_FILE = "report.json"
GRID_FILE = "grid.png"
# A pair counts as a real pose change when an angle moves this much or a morph weight changes this much.
MIN_ANGLE_CHANGE = 5.0
MIN_MORPH_CHANGE = 0.3


@dataclass
class NamedModel:
    """A loaded model and the name it has in the report."""

    name: str
    path: str
    model: HubModel


def load_models(paths: Sequence[str], device: str) -> list[NamedModel]:
    """Load every model; names are the folder names (made unique)."""
    models: list[NamedModel] = []
    for path in paths:
        name = Path(path).name or str(path)
        while name in (COPY_SOURCE, *(item.name for item in models)):
            name += "_"
        models.append(NamedModel(name, str(path), load_model(path, device=device)))
    return models


def is_pose_change(source_pose: np.ndarray, driving_pose: np.ndarray) -> bool:
    """True when the two poses differ by a visible amount (see MIN_ANGLE_CHANGE, MIN_MORPH_CHANGE)."""
    change = np.abs(driving_pose - source_pose)
    return bool(change[ANGLES].max() >= MIN_ANGLE_CHANGE or change[MORPHS].max() >= MIN_MORPH_CHANGE)


def select_pairs(dataset: torch.utils.data.Dataset, count: int) -> list[dict]:
    """The first ``count`` items of ``dataset`` whose poses really change."""
    pairs = []
    for index in range(len(dataset)):
        item = dataset[index]
        if is_pose_change(item["source_pose"].numpy(), item["driving_pose"].numpy()):
            pairs.append(item)
            if len(pairs) == count:
                return pairs
    if not pairs:
        raise InputError("the test data has no pairs with a pose change")
    logger.warning("only %d pairs with a pose change (asked for %d)", len(pairs), count)
    return pairs


def evaluate(
    model_paths: Sequence[str],
    data: str,
    out_dir: str | Path,
    *,
    split: str = "test",
    num_pairs: int = 200,
    batch_size: int = 8,
    grid_rows: int = 6,
    device: str = "cpu",
) -> dict:
    """Evaluate models on ``num_pairs`` pairs of ``split`` with a real pose change; returns the JSON report."""
    if not model_paths:
        raise InputError("give at least one --model")
    if num_pairs < 1 or batch_size < 1:
        raise InputError("num_pairs and batch_size must be at least 1")
    started = time.monotonic()
    out_dir = Path(out_dir)
    models = load_models(model_paths, device)
    size = _common_size(models, data)
    pairs = select_pairs(open_pairs(data, split, size=size, length=4 * num_pairs), num_pairs)
    scored = _score_pairs(models, pairs, batch_size, grid_rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_grid(out_dir / GRID_FILE, scored.grid_columns, ["source", "driving (GT)", *(item.name for item in models)])
    expressions = _synthetic_checks(models, size, batch_size, grid_rows, out_dir) if data == SYNTHETIC else {}
    report = {
        "data": data,
        "split": split,
        "num_pairs": len(pairs),
        "image_size": [size, size],
        **_report_scores(models, scored),
        "expressions_vs_copy_source": expressions,
        "grid": GRID_FILE,
        "seconds": round(time.monotonic() - started, 1),
    }
    (out_dir / REPORT_FILE).write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report


@dataclass
class _ScoredPairs:
    """What one pass over the pairs yields: metrics per prediction, the grid's columns and the pose changes."""

    scores: dict[str, MeanMetrics]
    grid_columns: list[torch.Tensor]
    pose_change: torch.Tensor


def _score_pairs(models: list[NamedModel], pairs: list[dict], batch_size: int, grid_rows: int) -> _ScoredPairs:
    """Reenact every pair with every model and score it, with copy-source as the baseline."""
    scores = {name: MeanMetrics() for name in (COPY_SOURCE, *(item.name for item in models))}
    grid_batches: list[list[torch.Tensor]] = []
    pose_change = []
    for start in range(0, len(pairs), batch_size):
        batch = torch.utils.data.default_collate(pairs[start : start + batch_size])
        pose_change.append((batch["driving_pose"] - batch["source_pose"]).abs())
        scores[COPY_SOURCE].update(batch["source"], batch["driving"])
        outputs = [predict(item.model, batch) for item in models]
        for item, output in zip(models, outputs, strict=True):
            scores[item.name].update(output, batch["driving"])
        if start < grid_rows:
            grid_batches.append([batch["source"], batch["driving"], *outputs])
    columns = [torch.cat(parts)[:grid_rows] for parts in zip(*grid_batches, strict=True)]
    return _ScoredPairs(scores, columns, torch.cat(pose_change))


def _common_size(models: list[NamedModel], data: str) -> int:
    """The output size all models share (synthetic pairs are rendered at it)."""
    sizes = {tuple(item.model.config.image_size) for item in models}
    if data == SYNTHETIC and len(sizes) > 1:
        raise InputError(f"the models render different sizes {sorted(sizes)}; evaluate them separately")
    return sizes.pop()[0]


def _synthetic_checks(
    models: list[NamedModel], size: int, batch_size: int, rows: int, out_dir: Path
) -> dict[str, dict[str, float]]:
    """Expression scores of every model, and a sweep image for those driven by a pose (not FOMM)."""
    expressions = {}
    for item in models:
        expressions[item.name] = expression_scores(item.model, size, batch_size=batch_size)
        if not isinstance(item.model, FOMM):
            write_sweep(item.model, rows, size, out_dir / f"sweep_{item.name}.png")
    return expressions


def _report_scores(models: list[NamedModel], scored: _ScoredPairs) -> dict:
    """The report's pose-change, model and metric entries."""
    metrics = {name: score.means() for name, score in scored.scores.items()}
    return {
        "mean_pose_change": {
            "angles_deg": float(scored.pose_change[:, ANGLES].mean()),
            "morphs": float(scored.pose_change[:, MORPHS].mean()),
        },
        "models": {
            item.name: {
                "path": item.path,
                "model_type": item.model.model_type,
                "parameters": sum(parameter.numel() for parameter in item.model.parameters()),
            }
            for item in models
        },
        "metrics": metrics,
        "l1_vs_copy_source": {
            item.name: share_of(metrics[item.name]["l1"], metrics[COPY_SOURCE]["l1"]) for item in models
        },
    }
