"""Animo: cross-domain head reenactment with a shared MappingNet and per-domain warping/editing nets.

Paper: Kim et al., "AnimeCeleb: Large-Scale Animation CelebHeads Dataset for Head Reenactment", ECCV 2022
(arXiv 2111.07640). Ported from the description of the official code in SPEC sections 1.1, 2 and 3.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from animeceleb.errors import InputError
from animeceleb.models.hub import HubModel, normalize_config
from animeceleb.models.renderer import NetsConfig, SourceFeatures
from animeceleb.pose import MOTION_DIM

DOMAINS = ("anime", "vox")


@dataclass(frozen=True)
class AnimoConfig(NetsConfig):
    """Animo's architecture; ``domains`` lists the per-domain nets present (official: anime and vox)."""

    coeff_nc: int = MOTION_DIM
    domains: tuple[str, ...] = DOMAINS
    model_type: str = "animo"

    def __post_init__(self) -> None:
        normalize_config(self, "animo")
        unknown = [domain for domain in self.domains if domain not in DOMAINS]
        if unknown or not self.domains:
            raise InputError(f"Animo domains must be a non-empty subset of {DOMAINS}; got {self.domains}")


class Animo(HubModel):
    """Animo with ``mapping_net`` and one ``renderers[domain]`` (WarpingNet + EditingNet) per domain."""

    config_class = AnimoConfig
    model_type = "animo"

    def __init__(self, config: AnimoConfig) -> None:
        super().__init__()
        self.config = config
        self.mapping_net = config.mapping_net()
        self.renderers = nn.ModuleDict({domain: config.renderer(warp_features=True) for domain in config.domains})

    def check_domain(self, domain: str) -> nn.Module:
        """The renderer of ``domain``, or an ``InputError`` listing the domains this model has."""
        if domain not in self.renderers:
            raise InputError(f"this Animo model has no {domain!r} nets; available: {', '.join(self.renderers)}")
        return self.renderers[domain]

    def encode_source(self, source: torch.Tensor, domain: str = "anime") -> SourceFeatures:
        """Source-only features, reusable for any number of driving motions."""
        return self.check_domain(domain).encode_source(source)

    def animate(self, source: SourceFeatures, motion: torch.Tensor, domain: str = "anime") -> dict[str, torch.Tensor]:
        """Outputs for 70-d motion vectors (B, 70) applied to encoded source features."""
        descriptor = self.mapping_net(motion)
        return {"descriptor": descriptor, **self.check_domain(domain).render(source, descriptor)}

    def forward(
        self, source: torch.Tensor, driving_3dmm: torch.Tensor, domain: str = "anime"
    ) -> dict[str, torch.Tensor]:
        """source (B, 3, H, W) in ``config.input_range``, driving_3dmm (B, 70) -> descriptor, flow_field, warp_image,
        fake_image."""
        return self.animate(self.encode_source(source, domain), driving_3dmm, domain)
