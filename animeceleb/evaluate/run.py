"""``evaluate``: reconstruction metrics of one or more models on held-out pairs, against copying the source.

Each test pair is reenacted (the source animated toward the driving pose, or the driving frame for FOMM) and compared
with the driving frame: L1, PSNR and SSIM per image, averaged. "copy_source" scores the source itself as the
prediction, the score of a model that does nothing. Writes ``report.json`` and ``grid.png`` (source | driving
ground truth | each model), and for synthetic data ``sweep_<model>.png``: unseen characters driven from the neutral
pose to single expressions and head turns, ground truth beside the model's output.
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
import torch.nn.functional as F

from animeceleb.data import SyntheticCharacter, render
from animeceleb.data.synthetic import character_for
from animeceleb.errors import InputError
from animeceleb.evaluate.datasets import SYNTHETIC, SYNTHETIC_TEST_SEED, open_pairs
from animeceleb.evaluate.grid import save_grid
from animeceleb.evaluate.metrics import MeanMetrics
from animeceleb.evaluate.reenact import reenact
from animeceleb.models import FOMM, from_model_range, load_model
from animeceleb.models.hub import HubModel
from animeceleb.pose import ANGLES, MORPHS, Pose

logger = logging.getLogger(__name__)

COPY_SOURCE = "copy_source"
REPORT_FILE = "report.json"
GRID_FILE = "grid.png"
# A pair counts as a real pose change when an angle moves this much or a morph weight changes this much.
MIN_ANGLE_CHANGE = 5.0
MIN_MORPH_CHANGE = 0.3
SWEEP_POSES: dict[str, Pose] = {
    "eyes closed": Pose.neutral().replace(eye_close_left=1.0, eye_close_right=1.0),
    "mouth open": Pose.neutral().replace(mouth_a=1.0),
    "smile": Pose.neutral().replace(eyes_smile=1.0, mouth_smile=1.0),
    "yaw +20": Pose.neutral().replace(head_yaw=20.0),
    "yaw -20": Pose.neutral().replace(head_yaw=-20.0),
    "pitch +15": Pose.neutral().replace(head_pitch=15.0),
    "roll +15": Pose.neutral().replace(head_roll=15.0),
}
SWEEP_TILE = 128  # pixels per tile in the sweep grids


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


@torch.no_grad()
def predict(model: HubModel, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The model's reenactment of a batch as [0, 1] images at the batch's size."""
    device = next(model.parameters()).device
    outputs = reenact(model, batch["source"].to(device), batch["driving"].to(device), batch["driving_pose"].to(device))
    image = from_model_range(outputs["image"], model.config.input_range).float().cpu()
    if image.shape[-2:] != batch["driving"].shape[-2:]:
        image = F.interpolate(image, size=batch["driving"].shape[-2:], mode="bilinear", antialias=True).clamp(0, 1)
    return image


def _resize(images: torch.Tensor, size: int) -> torch.Tensor:
    return F.interpolate(images, size=(size, size), mode="bilinear", antialias=True).clamp(0, 1)


def _render_tensor(character: SyntheticCharacter, pose: Pose, size: int) -> torch.Tensor:
    return torch.from_numpy(render(character, pose, size)).permute(2, 0, 1)[None].float() / 255


@torch.no_grad()
def write_sweep(model: NamedModel, rows: int, size: int, path: Path) -> None:
    """Unseen synthetic characters from neutral to each ``SWEEP_POSES`` pose: ground truth beside the model."""
    characters = [character_for(SYNTHETIC_TEST_SEED, 100_000 + row) for row in range(rows)]
    sources = torch.cat([_render_tensor(character, Pose.neutral(), size) for character in characters])
    columns, titles = [_resize(sources, SWEEP_TILE)], ["source"]
    for name, pose in SWEEP_POSES.items():
        truth = torch.cat([_render_tensor(character, pose, size) for character in characters])
        poses = torch.from_numpy(np.repeat(pose.to_array()[None], rows, axis=0))
        output = predict(model.model, {"source": sources, "driving": truth, "driving_pose": poses})
        columns += [_resize(truth, SWEEP_TILE), _resize(output, SWEEP_TILE)]
        titles += [name, "model"]
    save_grid(path, columns, titles)


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
    sizes = {tuple(item.model.config.image_size) for item in models}
    if data == SYNTHETIC and len(sizes) > 1:
        raise InputError(f"the models render different sizes {sorted(sizes)}; evaluate them separately")
    size = sizes.pop()[0]
    pairs = select_pairs(open_pairs(data, split, size=size, length=4 * num_pairs), num_pairs)

    scores = {name: MeanMetrics() for name in (COPY_SOURCE, *(item.name for item in models))}
    grid_columns: list[list[torch.Tensor]] = []
    pose_change = []
    for start in range(0, len(pairs), batch_size):
        batch = torch.utils.data.default_collate(pairs[start : start + batch_size])
        pose_change.append((batch["driving_pose"] - batch["source_pose"]).abs())
        scores[COPY_SOURCE].update(batch["source"], batch["driving"])
        outputs = [predict(item.model, batch) for item in models]
        for item, output in zip(models, outputs, strict=True):
            scores[item.name].update(output, batch["driving"])
        if start < grid_rows:
            grid_columns.append([batch["source"], batch["driving"], *outputs])
    out_dir.mkdir(parents=True, exist_ok=True)
    columns = [torch.cat(parts)[:grid_rows] for parts in zip(*grid_columns, strict=True)]
    save_grid(out_dir / GRID_FILE, columns, ["source", "driving (GT)", *(item.name for item in models)])
    if data == SYNTHETIC:
        for item in models:
            if not isinstance(item.model, FOMM):
                write_sweep(item, grid_rows, size, out_dir / f"sweep_{item.name}.png")

    metrics = {name: score.means() for name, score in scores.items()}
    change = torch.cat(pose_change)
    report = {
        "data": data,
        "split": split,
        "num_pairs": len(pairs),
        "image_size": [size, size],
        "mean_pose_change": {
            "angles_deg": float(change[:, ANGLES].mean()),
            "morphs": float(change[:, MORPHS].mean()),
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
            item.name: metrics[item.name]["l1"] / max(metrics[COPY_SOURCE]["l1"], 1e-12) for item in models
        },
        "grid": GRID_FILE,
        "seconds": round(time.monotonic() - started, 1),
    }
    (out_dir / REPORT_FILE).write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report
