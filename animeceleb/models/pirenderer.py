"""PIRenderer baseline as trained on AnimeCeleb: the raw 20-d pose drives one WarpingNet + EditingNet.

Paper: Ren et al., "PIRenderer: Controllable Portrait Image Generation via Semantic Neural Rendering", ICCV 2021.
Ported from the description of the AnimeCeleb official code (SPEC 1.2, 3.5).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from animeceleb.models.hub import HubModel, normalize_config
from animeceleb.models.renderer import NetsConfig, SourceFeatures
from animeceleb.pose import POSE_DIM


@dataclass(frozen=True)
class PIRendererConfig(NetsConfig):
    """PIRenderer's architecture: the MappingNet reads the 20-d pose (angles in degrees) unchanged."""

    coeff_nc: int = POSE_DIM
    model_type: str = "pirenderer"

    def __post_init__(self) -> None:
        normalize_config(self, "pirenderer")


class PIRenderer(HubModel):
    """PIRenderer with ``mapping_net`` and one ``renderer`` whose editing net sees [source, warped source]."""

    config_class = PIRendererConfig
    model_type = "pirenderer"

    def __init__(self, config: PIRendererConfig) -> None:
        super().__init__()
        self.config = config
        self.mapping_net = config.mapping_net()
        self.renderer = config.renderer(warp_features=False)

    def encode_source(self, source: torch.Tensor) -> SourceFeatures:
        """Source-only features, reusable for any number of poses."""
        return self.renderer.encode_source(source)

    def animate(self, source: SourceFeatures, pose: torch.Tensor) -> dict[str, torch.Tensor]:
        """Outputs for 20-d poses (B, 20) applied to encoded source features."""
        descriptor = self.mapping_net(pose)
        return {"descriptor": descriptor, **self.renderer.render(source, descriptor)}

    def forward(self, source: torch.Tensor, pose: torch.Tensor) -> dict[str, torch.Tensor]:
        """source (B, 3, H, W) in ``config.input_range``, pose (B, 20) -> descriptor, flow_field, warp_image,
        fake_image."""
        return self.animate(self.encode_source(source), pose)
