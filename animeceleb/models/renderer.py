"""One domain's image path (WarpingNet + EditingNet) and the shared config of the PIRenderer-style families.

``DomainRenderer`` splits the work into what depends on the source only (``encode_source``, done once per source
image; SPEC 0.4) and what depends on the driving descriptor (``render``), so a video costs one source encoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from animeceleb.models.layers import SamplingGrid, flow_to_grid, warp
from animeceleb.models.nets import EditingNet, MappingNet, WarpingNet


@dataclass(frozen=True)
class NetsConfig:
    """Sizes of MappingNet, WarpingNet and EditingNet (official defaults, SPEC 3); every field is read from shapes."""

    # fields that, switched on, only add modules: a model with them off can start a model with them on (init_weights)
    additive_fields: ClassVar[tuple[str, ...]] = ("edit_blend",)

    image_nc: int = 3  # image channels
    coeff_nc: int = 70  # motion vector length fed to the MappingNet
    descriptor_nc: int = 256  # descriptor z
    mapping_layers: int = 3  # residual units in the MappingNet
    adain_hidden: int = 128  # hidden width of every ADAIN MLP (hard-coded officially)
    warp_base_nc: int = 32
    warp_max_nc: int = 256
    warp_encoder_layers: int = 5
    warp_decoder_layers: int = 3  # flow resolution = image / 2**(encoder_layers - decoder_layers)
    edit_base_nc: int = 64
    edit_max_nc: int = 256
    edit_layers: int = 3
    edit_res_blocks: int = 2
    edit_blend: bool = False  # ours, not official: blend the final image with the warped source (EditingNet doc)
    image_size: tuple[int, int] = (256, 256)  # (height, width) the weights were trained at
    input_range: tuple[float, float] = (0.0, 1.0)  # pixel range the weights expect (official: [0, 1], SPEC 0.2)

    def mapping_net(self) -> MappingNet:
        """A MappingNet of this size."""
        return MappingNet(self.coeff_nc, self.descriptor_nc, self.mapping_layers)

    def renderer(self, warp_features: bool) -> DomainRenderer:
        """A WarpingNet + EditingNet pair of this size (Animo variant when ``warp_features``)."""
        warping = WarpingNet(
            self.image_nc,
            self.descriptor_nc,
            self.warp_base_nc,
            self.warp_max_nc,
            self.warp_encoder_layers,
            self.warp_decoder_layers,
            self.adain_hidden,
        )
        editing = EditingNet(
            self.image_nc,
            self.descriptor_nc,
            self.edit_base_nc,
            self.edit_max_nc,
            self.edit_layers,
            self.edit_res_blocks,
            self.adain_hidden,
            warp_features,
            self.edit_blend,
        )
        return DomainRenderer(warping, editing)


@dataclass
class SourceFeatures:
    """Everything that depends on the source image alone, computed once per source."""

    image: torch.Tensor  # (B, 3, H, W) in the model's pixel range
    stem: torch.Tensor  # WarpingNet input-conv output
    features: list[torch.Tensor] | None  # EditingNet encoder levels (Animo variant only)

    def expand(self, batch: int) -> SourceFeatures:
        """The same source repeated ``batch`` times (views, no copies); a batch of 1 only."""
        if self.image.shape[0] == batch:
            return self
        repeat = lambda tensor: tensor.expand(batch, *tensor.shape[1:])  # noqa: E731
        features = None if self.features is None else [repeat(feature) for feature in self.features]
        return SourceFeatures(repeat(self.image), repeat(self.stem), features)


class DomainRenderer(nn.Module):
    """(source, descriptor z) -> flow field, warped source and final image, for one domain."""

    def __init__(self, warping_net: WarpingNet, editing_net: EditingNet) -> None:
        super().__init__()
        self.warping_net = warping_net
        self.editing_net = editing_net

    def encode_source(self, source: torch.Tensor) -> SourceFeatures:
        """Source-only work: the warping input conv and, for the Animo variant, the editing encoder."""
        features = self.editing_net.encoder(source) if self.editing_net.warp_features else None
        return SourceFeatures(source, self.warping_net.encode_source(source), features)

    def render(self, source: SourceFeatures, z: torch.Tensor, with_image: bool = True) -> dict[str, torch.Tensor]:
        """Outputs for descriptors z (B, D); ``with_image=False`` stops after the warp (official warp stage)."""
        source = source.expand(z.shape[0])
        flow = self.warping_net.flow_from_stem(source.stem, z)  # (B, 2, h, w) in flow-grid pixels
        grid = SamplingGrid(flow_to_grid(flow))  # shared by the image warp and every feature level
        outputs = {"flow_field": flow, "warp_image": warp(source.image, grid)}
        if with_image:
            features = source.features
            if features is None:
                features = self.editing_net.encoder(torch.cat([source.image, outputs["warp_image"]], dim=1))
            outputs["fake_image"] = self.editing_net.decode(features, grid, z, outputs["warp_image"])
        return outputs

    def forward(self, source: torch.Tensor, z: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.render(self.encode_source(source), z)
