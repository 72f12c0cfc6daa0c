"""Checks on unseen synthetic characters, where any pose can be rendered exactly: the sweep grid and expression scores.

The sweep drives characters from the neutral pose to single expressions and head turns, ground truth beside the model.
The expression scores measure what a look at the sweep judges: each character, at a fixed head angle, changes its
expression alone; the score is the L1 inside the pixels that change (|ground truth - source| > CHANGE_THRESHOLD in
some channel), as a share of copy-source's there. 1 means the model draws none of the change, 0 all of it. Closed
eyes or an open mouth are a few percent of the image, which whole-image metrics barely see.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from animeceleb.data import SyntheticCharacter, render
from animeceleb.data.synthetic import character_for
from animeceleb.data.transforms import to_tensor
from animeceleb.evaluate.datasets import SYNTHETIC_TEST_SEED
from animeceleb.evaluate.grid import save_grid
from animeceleb.evaluate.metrics import share_of
from animeceleb.evaluate.reenact import predict
from animeceleb.models.hub import HubModel
from animeceleb.pose import ANGLES, Pose

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
EXPRESSIONS = ("eyes closed", "mouth open", "smile")  # the sweep poses that change the expression alone
EXPRESSION_ROWS = 24  # characters per expression score
CHANGE_THRESHOLD = 0.05  # a pixel changes when the ground truth moves this much from the source ([0, 1] units)
_SWEEP_IDENTITY = 100_000  # first test-seed identity of the sweep
_EXPRESSION_IDENTITY = 200_000  # first test-seed identity of the expression scores (characters the sweep does not show)
_EXPRESSION_ANGLE = 10.0  # the characters' fixed head angles are uniform in +-this, in degrees


def _render_batch(characters: list[SyntheticCharacter], poses: list[np.ndarray], size: int) -> torch.Tensor:
    """(N, 3, size, size) images in [0, 1] of each character in its pose, converted as the training pairs are."""
    return torch.stack(
        [to_tensor(render(character, pose, size)) for character, pose in zip(characters, poses, strict=True)]
    )


def _resize(images: torch.Tensor, size: int) -> torch.Tensor:
    return F.interpolate(images, size=(size, size), mode="bilinear", antialias=True).clamp(0, 1)


@torch.no_grad()
def write_sweep(model: HubModel, rows: int, size: int, path: Path) -> None:
    """Unseen synthetic characters from neutral to each ``SWEEP_POSES`` pose: ground truth beside the model."""
    characters = [character_for(SYNTHETIC_TEST_SEED, _SWEEP_IDENTITY + row) for row in range(rows)]
    sources = _render_batch(characters, [Pose.neutral().to_array()] * rows, size)
    columns, titles = [_resize(sources, SWEEP_TILE)], ["source"]
    for name, pose in SWEEP_POSES.items():
        poses = np.repeat(pose.to_array()[None], rows, axis=0)
        truth = _render_batch(characters, list(poses), size)
        output = predict(model, {"source": sources, "driving": truth, "driving_pose": torch.from_numpy(poses)})
        columns += [_resize(truth, SWEEP_TILE), _resize(output, SWEEP_TILE)]
        titles += [name, "model"]
    save_grid(path, columns, titles)


def changed_region_l1(prediction: torch.Tensor, truth: torch.Tensor, source: torch.Tensor) -> float:
    """Mean L1 of ``prediction`` over the pixels of every image where ``truth`` differs from ``source``."""
    changed = ((truth - source).abs().amax(1, keepdim=True) > CHANGE_THRESHOLD).float()
    error = (prediction - truth).abs().mean(1, keepdim=True)
    return float((error * changed).sum() / changed.sum().clamp(min=1))


@torch.no_grad()
def expression_scores(model: HubModel, size: int, rows: int = EXPRESSION_ROWS, batch_size: int = 8) -> dict[str, float]:
    """Per expression of ``EXPRESSIONS``: the model's changed-region L1 as a share of copy-source's (module doc)."""
    characters = [character_for(SYNTHETIC_TEST_SEED, _EXPRESSION_IDENTITY + row) for row in range(rows)]
    angles = np.random.default_rng(SYNTHETIC_TEST_SEED).uniform(-_EXPRESSION_ANGLE, _EXPRESSION_ANGLE, (rows, 3))

    def posed(pose: Pose) -> np.ndarray:
        poses = np.repeat(pose.to_array()[None], rows, axis=0)
        poses[:, ANGLES] = angles
        return poses.astype(np.float32)

    sources = _render_batch(characters, list(posed(Pose.neutral())), size)
    scores = {}
    for name in EXPRESSIONS:
        poses = torch.from_numpy(posed(SWEEP_POSES[name]))
        truth = _render_batch(characters, list(poses.numpy()), size)
        batches = [
            {
                "source": sources[start : start + batch_size],
                "driving": truth[start : start + batch_size],
                "driving_pose": poses[start : start + batch_size],
            }
            for start in range(0, rows, batch_size)
        ]
        output = torch.cat([predict(model, batch) for batch in batches])
        scores[name] = share_of(changed_region_l1(output, truth, sources), changed_region_l1(sources, truth, sources))
    return scores
