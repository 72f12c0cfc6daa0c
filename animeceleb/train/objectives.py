"""Training objectives: the model plus its losses in one module, so ``accelerate`` (DDP) wraps a single forward.

Animo and PIRenderer (SPEC 7.2, 7.3): every pair is used in both directions, a weighted loss on the warped source,
and from the generation stage on a weighted loss on the final image (optionally plus an L1 term where the warp
misses the target, ``edit_region_weight``). FOMM (SPEC 7.4): the loss on the prediction plus keypoint equivariance
under a random thin-plate-spline deformation of the driving frame.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from animeceleb.evaluate.reenact import reenact
from animeceleb.models import FOMM, to_model_range
from animeceleb.models.hub import HubModel
from animeceleb.train.config import TrainConfig
from animeceleb.train.losses import missed_region_l1

Batch = dict[str, torch.Tensor]


def swap_directions(batch: Batch) -> Batch:
    """Both directions of every pair: inputs [source; driving] driven toward targets [driving; source] (SPEC 7.2)."""
    return {
        "source": torch.cat([batch["source"], batch["driving"]]),
        "driving": torch.cat([batch["driving"], batch["source"]]),
        "driving_pose": torch.cat([batch["driving_pose"], batch["source_pose"]]),
    }


class PoseObjective(nn.Module):
    """Animo / PIRenderer: ``warp_weight * L(warp, target)`` (+ ``final_weight * L(final, target, style)``)."""

    def __init__(self, model: HubModel, image_loss: nn.Module, config: TrainConfig) -> None:
        super().__init__()
        self.model = model
        self.image_loss = image_loss
        self.config = config

    def forward(self, batch: Batch, with_image: bool) -> dict[str, torch.Tensor]:
        pairs = swap_directions(batch)
        outputs = reenact(self.model, pairs["source"], pairs["driving"], pairs["driving_pose"], with_image=with_image)
        target = to_model_range(pairs["driving"], self.model.config.input_range)
        losses = {"warp": self.config.warp_weight * self.image_loss(outputs["warp_image"], target)}
        if with_image:
            final = self.image_loss(outputs["image"], target, style_weight=self.config.style_weight)
            losses["final"] = self.config.final_weight * final
            if self.config.edit_region_weight:
                missed = missed_region_l1(outputs["image"], target, outputs["warp_image"])
                losses["edit_region"] = self.config.edit_region_weight * missed
        losses["loss"] = sum(losses.values())
        return losses


class RandomTPS:
    """FOMM's random deformation: an affine part (sigma 0.05) plus a 5x5 thin-plate spline (sigma 0.005)."""

    def __init__(self, batch: int, like: torch.Tensor, sigma_affine: float = 0.05, sigma_tps: float = 0.005) -> None:
        options = {"device": like.device, "dtype": like.dtype}
        noise = torch.randn(batch, 2, 3, **options) * sigma_affine
        self.theta = noise + torch.eye(2, 3, **options)[None]
        axis = torch.linspace(-1, 1, 5, **options)
        self.control_points = torch.stack(torch.meshgrid(axis, axis, indexing="xy"), -1).reshape(1, -1, 2)
        self.control_params = torch.randn(batch, 1, 25, **options) * sigma_tps

    def warp_coordinates(self, points: torch.Tensor) -> torch.Tensor:
        """Deform (B, N, 2) coordinates in [-1, 1]."""
        warped = points @ self.theta[:, :, :2].transpose(1, 2) + self.theta[:, None, :, 2]
        distances = (points[:, :, None] - self.control_points[:, None]).abs().sum(-1)  # (B, N, 25), L1 as in FOMM
        radial = distances**2 * torch.log(distances + 1e-6)
        return warped + (radial * self.control_params).sum(-1, keepdim=True)

    def transform_frame(self, frames: torch.Tensor) -> torch.Tensor:
        """Resample frames (B, C, H, W) through the deformation (reflection padding)."""
        batch, _, height, width = frames.shape
        ys, xs = torch.meshgrid(
            torch.linspace(-1, 1, height, device=frames.device, dtype=frames.dtype),
            torch.linspace(-1, 1, width, device=frames.device, dtype=frames.dtype),
            indexing="ij",
        )
        grid = torch.stack([xs, ys], -1).reshape(1, -1, 2).expand(batch, -1, -1)
        grid = self.warp_coordinates(grid).reshape(batch, height, width, 2)
        return F.grid_sample(frames, grid, padding_mode="reflection", align_corners=True)

    def jacobian(self, points: torch.Tensor) -> torch.Tensor:
        """d warp / d points at (B, N, 2) coordinates: (B, N, 2, 2)."""
        points = points.detach().requires_grad_(True)
        warped = self.warp_coordinates(points)
        rows = [torch.autograd.grad(warped[..., i].sum(), points, create_graph=True)[0] for i in range(2)]
        return torch.stack(rows, dim=-2)


class FOMMObjective(nn.Module):
    """FOMM: ``final_weight * L(prediction, driving)`` plus keypoint value and Jacobian equivariance terms."""

    def __init__(self, model: FOMM, image_loss: nn.Module, config: TrainConfig) -> None:
        super().__init__()
        self.model = model
        self.image_loss = image_loss
        self.config = config

    def forward(self, batch: Batch, with_image: bool = True) -> dict[str, torch.Tensor]:
        outputs = reenact(self.model, batch["source"], batch["driving"], batch["driving_pose"])
        driving = to_model_range(batch["driving"], self.model.config.input_range)
        losses = {"final": self.config.final_weight * self.image_loss(outputs["image"], driving)}
        transform = RandomTPS(driving.shape[0], driving)
        kp_transformed = self.model.detect_keypoints(transform.transform_frame(driving))
        kp_driving = outputs["kp_driving"]
        value_error = kp_driving["value"] - transform.warp_coordinates(kp_transformed["value"])
        jacobian = transform.jacobian(kp_transformed["value"]) @ kp_transformed["jacobian"]
        identity = torch.eye(2, device=driving.device, dtype=driving.dtype)
        jacobian_error = identity - torch.linalg.inv(kp_driving["jacobian"]) @ jacobian
        losses["equivariance"] = self.config.equivariance_weight * (
            value_error.abs().mean() + jacobian_error.abs().mean()
        )
        losses["loss"] = sum(losses.values())
        return losses


def build_objective(model: HubModel, image_loss: nn.Module, config: TrainConfig) -> nn.Module:
    """The objective matching the model's kind."""
    if isinstance(model, FOMM):
        return FOMMObjective(model, image_loss, config)
    return PoseObjective(model, image_loss, config)
