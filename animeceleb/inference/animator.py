"""``Animator``: animate one source image with many driving poses (or frames), doing the source-only work once.

The plain model forward re-encodes the source for every frame. Here everything that depends only on the source
(the warping net's input conv and the Animo editing encoder; FOMM's source keypoints) is computed once in
``prepare`` and reused for every driving frame (SPEC 0.4); the editing nets' discarded branch is never computed
(SPEC 9.2); frames run in batches under ``torch.inference_mode``. Outputs equal the plain forward to float rounding.

Transparent sources: the alpha channel of an RGBA source is moved with the model's own deformation (the sampling grid
that warps the source image: ``flow_field`` for Animo and PIRenderer, ``deformation`` for FOMM), so frames come out
RGBA. Their colours are the model's: it sees and draws the character on white, as it was trained, so opaque pixels
keep its colours and partly transparent ones are un-mixed from white (no white fringe on another background).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from animeceleb.errors import InputError
from animeceleb.inference.images import alpha_to_tensor, image_to_tensor, tensor_to_images
from animeceleb.models import FOMM, Animo, from_model_range, load_model, to_model_range
from animeceleb.models.fomm import deform
from animeceleb.models.hub import HubModel
from animeceleb.models.layers import SamplingGrid, flow_to_grid, warp
from animeceleb.pose import Pose, pose_to_motion, stack_poses, validate_poses

Driving = np.ndarray | torch.Tensor | Sequence[Pose]


def as_pose_array(poses: Driving) -> np.ndarray:
    """Validated (N, 20) float32 poses from ``Pose`` objects or an array."""
    if isinstance(poses, Sequence) and poses and isinstance(poses[0], Pose):
        return stack_poses(poses)
    return validate_poses(poses)


class Animator:
    """Animate a prepared source: with 20-d poses (Animo's anime domain, PIRenderer) or driving frames (FOMM)."""

    def __init__(self, model: HubModel, *, batch_size: int = 1, channels_last: bool = True) -> None:
        """``batch_size``: frames rendered at once. On a CPU 1 is fastest (measured: 1.3x faster per frame than 4 for
        the full-size Animo, whose activations then stay in cache); raise it on a GPU.
        ``channels_last``: run in NHWC (the model's weights are converted in place); on CPU the narrow
        full-resolution convolutions and the feature warps are 2-3x faster so (see benchmarks/bench_inference.py).
        """
        if batch_size < 1:
            raise InputError(f"batch_size must be at least 1; got {batch_size}")
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model = model.eval().to(memory_format=self.memory_format)
        self.batch_size = batch_size
        self._source: Any = None  # SourceFeatures, or (source tensor, keypoints) for FOMM
        self._alpha: torch.Tensor | None = None  # (1, 1, H, W) in [0, 1] when the source is RGBA

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path, *, device: str = "cpu", batch_size: int = 1) -> Animator:
        """An Animator around ``load_model(name_or_path)``."""
        return cls(load_model(name_or_path, device=device), batch_size=batch_size)

    @property
    def drives_with_frames(self) -> bool:
        """True for FOMM, which is driven by images rather than poses."""
        return isinstance(self.model, FOMM)

    @property
    def image_size(self) -> tuple[int, int]:
        """(height, width) of the frames this model renders."""
        return tuple(self.model.config.image_size)

    @property
    def has_alpha(self) -> bool:
        """True when the prepared source is RGBA, so frames are RGBA too."""
        return self._alpha is not None

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _to_model(self, image: np.ndarray) -> torch.Tensor:
        tensor = image_to_tensor(image, self.image_size).to(self.device)
        return to_model_range(tensor, self.model.config.input_range).contiguous(memory_format=self.memory_format)

    @torch.inference_mode()
    def prepare(self, source: np.ndarray) -> None:
        """Encode a source image (uint8 H x W x 3/4; RGBA composited on white, resized to ``image_size``) once.

        An RGBA source also keeps its alpha (resized the same way), and the frames then come out RGBA.
        """
        tensor = self._to_model(source)
        alpha = alpha_to_tensor(source, self.image_size)
        self._alpha = None if alpha is None else alpha.to(self.device)
        if self.drives_with_frames:
            self._source = (tensor, self.model.detect_keypoints(tensor))
        else:
            self._source = self.model.encode_source(tensor)

    @torch.inference_mode()
    def render(self, driving: torch.Tensor) -> dict[str, Any]:
        """Raw model outputs (model range) for a batch: poses (B, 20), or FOMM driving images (B, 3, H, W)."""
        if self._source is None:
            raise InputError("call prepare(source) before animating")
        if isinstance(self.model, FOMM):
            source, kp_source = self._source
            batch = driving.shape[0]
            expand = lambda tensor: tensor.expand(batch, *tensor.shape[1:])  # noqa: E731
            kp_source = {key: expand(value) for key, value in kp_source.items()}
            return self.model.generate(expand(source), kp_source, self.model.detect_keypoints(driving))
        if isinstance(self.model, Animo):
            return self.model.animate(self._source, pose_to_motion(driving), domain="anime")
        return self.model.animate(self._source, driving)

    def warp_source(self, image: torch.Tensor, outputs: dict[str, Any]) -> torch.Tensor:
        """Sample a source-aligned ``image`` (1 or B, C, H, W) through the motion in ``outputs`` (from ``render``),
        exactly as the model samples the source image (its ``warp_image``, or FOMM's ``deformed``)."""
        if self.drives_with_frames:
            grid = outputs["deformation"]
            return deform(image.expand(grid.shape[0], *image.shape[1:]), grid)
        grid = flow_to_grid(outputs["flow_field"])
        return warp(image.expand(grid.shape[0], *image.shape[1:]), SamplingGrid(grid))

    def _driving_batches(self, driving: Driving, size: int) -> Iterator[torch.Tensor]:
        if self.drives_with_frames:
            frames = list(driving)
            for start in range(0, len(frames), size):
                yield torch.cat([self._to_model(frame) for frame in frames[start : start + size]])
        else:
            poses = as_pose_array(driving)
            for start in range(0, len(poses), size):
                yield torch.from_numpy(poses[start : start + size]).to(self.device)

    def frames(self, driving: Driving, batch_size: int | None = None) -> Iterator[np.ndarray]:
        """Frames (H, W, 3), or (H, W, 4) for an RGBA source, uint8 one by one, computed ``batch_size`` at a time."""
        output_key = "prediction" if self.drives_with_frames else "fake_image"
        for batch in self._driving_batches(driving, batch_size or self.batch_size):
            outputs = self.render(batch)
            images = from_model_range(outputs[output_key], self.model.config.input_range)
            if self._alpha is not None:
                with torch.inference_mode():
                    alpha = self.warp_source(self._alpha, outputs).clamp(0, 1)
                images = torch.cat([unmix_white(images, alpha), alpha], dim=1)
            yield from tensor_to_images(images)

    def __call__(self, driving: Driving, batch_size: int | None = None) -> np.ndarray:
        """All frames as one (N, H, W, 3 or 4) uint8 array."""
        frames = list(self.frames(driving, batch_size))
        if not frames:
            raise InputError("nothing to animate: no driving poses or frames given")
        return np.stack(frames)


def unmix_white(images: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Straight colours whose composite on white is ``images`` (B, 3, H, W) under ``alpha`` (B, 1, H, W), in [0, 1].

    Inverts ``c * a + (1 - a)`` where a > 0, so edges lose the white fringe; opaque pixels are unchanged.
    """
    visible = alpha > 0
    straight = (images - (1 - alpha)) / torch.where(visible, alpha, torch.ones_like(alpha))
    return torch.where(visible, straight, images).clamp(0, 1)
