"""``Animator``: animate one source image with many poses, doing the source-only work once.

The plain model forward re-encodes the source for every frame. For a video, everything that depends only on the
source (the warping net's input conv, the Animo editing encoder) is computed once in ``prepare`` and reused for every
pose (SPEC 0.4); the editing nets' discarded branch is never computed (SPEC 9.2); poses run in batches under
``torch.inference_mode``. Outputs equal the plain forward to float rounding.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from animeceleb.errors import InputError
from animeceleb.inference.images import image_to_tensor, tensor_to_images
from animeceleb.models import Animo, PIRenderer, from_model_range, load_model, to_model_range
from animeceleb.models.hub import HubModel
from animeceleb.models.renderer import SourceFeatures
from animeceleb.pose import Pose, pose_to_motion, stack_poses, validate_poses


def as_pose_array(poses: np.ndarray | torch.Tensor | Sequence[Pose]) -> np.ndarray:
    """Validated (N, 20) float32 poses from ``Pose`` objects or an array."""
    if isinstance(poses, Sequence) and poses and isinstance(poses[0], Pose):
        return stack_poses(poses)
    return validate_poses(poses)


class Animator:
    """Animate a prepared source with batches of 20-d poses (Animo, anime domain, or PIRenderer)."""

    def __init__(self, model: HubModel, *, batch_size: int = 8) -> None:
        if not isinstance(model, Animo | PIRenderer):
            raise InputError(f"Animator drives pose models (Animo, PIRenderer); got {type(model).__name__}")
        if batch_size < 1:
            raise InputError(f"batch_size must be at least 1; got {batch_size}")
        self.model = model.eval()
        self.batch_size = batch_size
        self._source: SourceFeatures | None = None

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path, *, device: str = "cpu", batch_size: int = 8) -> Animator:
        """An Animator around ``load_model(name_or_path)``."""
        return cls(load_model(name_or_path, device=device), batch_size=batch_size)

    @property
    def image_size(self) -> tuple[int, int]:
        """(height, width) of the frames this model renders."""
        return tuple(self.model.config.image_size)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.inference_mode()
    def prepare(self, source: np.ndarray) -> None:
        """Encode a source image (uint8 H x W x 3/4; RGBA composited on white, resized to ``image_size``) once."""
        tensor = image_to_tensor(source, self.image_size).to(self.device)
        tensor = to_model_range(tensor, self.model.config.input_range)
        self._source = self.model.encode_source(tensor)

    @torch.inference_mode()
    def render(self, poses: torch.Tensor) -> dict[str, torch.Tensor]:
        """Raw model outputs (model range) for a batch of validated poses (B, 20) on the prepared source."""
        if self._source is None:
            raise InputError("call prepare(source) before animating")
        if isinstance(self.model, Animo):
            return self.model.animate(self._source, pose_to_motion(poses), domain="anime")
        return self.model.animate(self._source, poses)

    def frames(self, poses: np.ndarray | Sequence[Pose], batch_size: int | None = None) -> Iterator[np.ndarray]:
        """Frames (H, W, 3) uint8 one by one, computed ``batch_size`` poses at a time."""
        array = as_pose_array(poses)
        size = batch_size or self.batch_size
        for start in range(0, len(array), size):
            batch = torch.from_numpy(array[start : start + size]).to(self.device)
            images = from_model_range(self.render(batch)["fake_image"], self.model.config.input_range)
            yield from tensor_to_images(images)

    def __call__(self, poses: np.ndarray | Sequence[Pose], batch_size: int | None = None) -> np.ndarray:
        """All frames as one (N, H, W, 3) uint8 array."""
        return np.stack(list(self.frames(poses, batch_size)))
