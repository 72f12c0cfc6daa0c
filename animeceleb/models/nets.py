"""The three networks Animo and PIRenderer are made of: MappingNet, WarpingNet and EditingNet (SPEC 3.2-3.5).

Ported from the description of the official AnimeCeleb code (derived from PIRenderer, Ren et al. ICCV 2021). Module
and attribute names equal the official ones so that official weights load after a prefix rename only. Work whose
result the official code discards (the first branch of every editing residual block) is not computed; its weights
are kept so checkpoints round-trip.
"""

from __future__ import annotations

import torch
from torch import nn

from animeceleb.models.layers import (
    ADAIN,
    LEAKY_SLOPE,
    ConvNormAct,
    LayerNorm2d,
    SamplingGrid,
    UpConvNormAct,
    channels,
    leaky_relu,
    warp,
)


class MappingNet(nn.Module):
    """Motion vector (B, coeff_nc) -> descriptor z (B, descriptor_nc): a linear layer, then residual LReLU-linear."""

    def __init__(self, coeff_nc: int, descriptor_nc: int, layers: int) -> None:
        super().__init__()
        self.first = nn.Sequential(nn.Linear(coeff_nc, descriptor_nc))
        self.layers = layers
        for i in range(layers):
            self.add_module(
                f"encoder{i}", nn.Sequential(nn.LeakyReLU(LEAKY_SLOPE), nn.Linear(descriptor_nc, descriptor_nc))
            )

    def forward(self, motion: torch.Tensor) -> torch.Tensor:
        x = self.first(motion)
        for i in range(self.layers):
            x = self.get_submodule(f"encoder{i}")(x) + x
        return x


class ADAINEncoderBlock(nn.Module):
    """Pre-activation down block: ADAIN -> LReLU -> 4x4 stride-2 conv -> ADAIN -> LReLU -> 3x3 conv."""

    def __init__(self, in_nc: int, out_nc: int, descriptor_nc: int, adain_hidden: int) -> None:
        super().__init__()
        self.conv_0 = nn.Conv2d(in_nc, out_nc, 4, stride=2, padding=1)
        self.conv_1 = nn.Conv2d(out_nc, out_nc, 3, padding=1)
        self.norm_0 = ADAIN(in_nc, descriptor_nc, adain_hidden)
        self.norm_1 = ADAIN(out_nc, descriptor_nc, adain_hidden)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        x = self.conv_0(leaky_relu(self.norm_0(x, z)))
        return self.conv_1(leaky_relu(self.norm_1(x, z)))


class ADAINDecoderBlock(nn.Module):
    """Pre-activation x2 up block with a transposed-conv shortcut: ``short(x) + main(x)``."""

    def __init__(self, in_nc: int, out_nc: int, descriptor_nc: int, adain_hidden: int) -> None:
        super().__init__()
        up = {"kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1}
        self.conv_0 = nn.Conv2d(in_nc, out_nc, 3, padding=1)
        self.conv_1 = nn.ConvTranspose2d(out_nc, out_nc, **up)
        self.conv_s = nn.ConvTranspose2d(in_nc, out_nc, **up)
        self.norm_0 = ADAIN(in_nc, descriptor_nc, adain_hidden)
        self.norm_1 = ADAIN(out_nc, descriptor_nc, adain_hidden)
        self.norm_s = ADAIN(in_nc, descriptor_nc, adain_hidden)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        shortcut = self.conv_s(leaky_relu(self.norm_s(x, z)))
        main = self.conv_0(leaky_relu(self.norm_0(x, z)))
        main = self.conv_1(leaky_relu(self.norm_1(main, z)))
        return shortcut + main


class ADAINEncoder(nn.Module):
    """Input conv then ``layers`` ADAIN down blocks; returns every intermediate map (the skips)."""

    def __init__(self, image_nc: int, descriptor_nc: int, base_nc: int, max_nc: int, layers: int, adain_hidden: int):
        super().__init__()
        self.layers = layers
        self.input_layer = nn.Conv2d(image_nc, base_nc, 7, padding=3)
        for i in range(layers):
            block = ADAINEncoderBlock(
                channels(base_nc, max_nc, i), channels(base_nc, max_nc, i + 1), descriptor_nc, adain_hidden
            )
            self.add_module(f"encoder{i}", block)

    def forward(self, image: torch.Tensor, z: torch.Tensor) -> list[torch.Tensor]:
        return self.encode_stem(self.input_layer(image), z)

    def encode_stem(self, stem: torch.Tensor, z: torch.Tensor) -> list[torch.Tensor]:
        """Run the ADAIN blocks on the input conv's output (which depends on the source only, SPEC 0.4)."""
        skips = [stem]
        for i in range(self.layers):
            skips.append(self.get_submodule(f"encoder{i}")(skips[-1], z))
        return skips


class ADAINDecoder(nn.Module):
    """Up blocks from the deepest level, each output concatenated with the matching encoder skip."""

    def __init__(
        self, descriptor_nc: int, base_nc: int, max_nc: int, encoder_layers: int, decoder_layers: int, adain_hidden: int
    ) -> None:
        super().__init__()
        self.levels = list(range(encoder_layers - decoder_layers, encoder_layers))[::-1]
        for i in self.levels:
            in_nc = channels(base_nc, max_nc, i + 1) * (1 if i == encoder_layers - 1 else 2)
            self.add_module(
                f"decoder{i}", ADAINDecoderBlock(in_nc, channels(base_nc, max_nc, i), descriptor_nc, adain_hidden)
            )
        self.output_nc = 2 * channels(base_nc, max_nc, self.levels[-1])

    def forward(self, skips: list[torch.Tensor], z: torch.Tensor) -> torch.Tensor:
        skips = list(skips)
        x = skips.pop()
        for i in self.levels:
            x = torch.cat([self.get_submodule(f"decoder{i}")(x, z), skips.pop()], dim=1)
        return x


class ADAINHourglass(nn.Module):
    """ADAIN-conditioned encoder-decoder; output at 1/2^(encoder_layers-decoder_layers) of the input size."""

    def __init__(
        self,
        image_nc: int,
        descriptor_nc: int,
        base_nc: int,
        max_nc: int,
        encoder_layers: int,
        decoder_layers: int,
        adain_hidden: int,
    ) -> None:
        super().__init__()
        self.encoder = ADAINEncoder(image_nc, descriptor_nc, base_nc, max_nc, encoder_layers, adain_hidden)
        self.decoder = ADAINDecoder(descriptor_nc, base_nc, max_nc, encoder_layers, decoder_layers, adain_hidden)
        self.output_nc = self.decoder.output_nc


class WarpingNet(nn.Module):
    """(source, z) -> flow field at the hourglass resolution, in pixels of that grid, channels (x, y) (SPEC 3.3)."""

    def __init__(
        self,
        image_nc: int,
        descriptor_nc: int,
        base_nc: int,
        max_nc: int,
        encoder_layers: int,
        decoder_layers: int,
        adain_hidden: int,
    ) -> None:
        super().__init__()
        self.hourglass = ADAINHourglass(
            image_nc, descriptor_nc, base_nc, max_nc, encoder_layers, decoder_layers, adain_hidden
        )
        nc = self.hourglass.output_nc
        self.flow_out = nn.Sequential(
            LayerNorm2d(nc), nn.LeakyReLU(LEAKY_SLOPE, inplace=True), nn.Conv2d(nc, 2, 7, padding=3)
        )

    def encode_source(self, source: torch.Tensor) -> torch.Tensor:
        """The input convolution, which sees only the source image (cacheable across driving frames)."""
        return self.hourglass.encoder.input_layer(source)

    def flow_from_stem(self, stem: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Flow field (B, 2, h, w) from the cached input-conv output and the descriptor."""
        skips = self.hourglass.encoder.encode_stem(stem, z)
        return self.flow_out(self.hourglass.decoder(skips, z))

    def forward(self, source: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.flow_from_stem(self.encode_source(source), z)


class FineADAINResBlock(nn.Module):
    """Editing residual block; the official output is ``x + norm2(conv2(x), z)``.

    ``conv1``/``norm1`` exist in official checkpoints but their result is overwritten before use (SPEC 3.4), so they
    are kept as weights and never run.
    """

    def __init__(self, nc: int, descriptor_nc: int, adain_hidden: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(nc, nc, 3, padding=1)
        self.conv2 = nn.Conv2d(nc, nc, 3, padding=1)
        self.norm1 = ADAIN(nc, descriptor_nc, adain_hidden)
        self.norm2 = ADAIN(nc, descriptor_nc, adain_hidden)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return x + self.norm2(self.conv2(x), z)


class FineADAINResBlocks(nn.Module):
    """``num_blocks`` editing residual blocks in sequence (keys ``res{j}``)."""

    def __init__(self, num_blocks: int, nc: int, descriptor_nc: int, adain_hidden: int) -> None:
        super().__init__()
        self.num_blocks = num_blocks
        for j in range(num_blocks):
            self.add_module(f"res{j}", FineADAINResBlock(nc, descriptor_nc, adain_hidden))

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        for j in range(self.num_blocks):
            x = self.get_submodule(f"res{j}")(x, z)
        return x


class FineEncoder(nn.Module):
    """``first`` (7x7 conv) then ``layers`` conv-LN-LReLU-avgpool blocks; returns every level f0..f_layers."""

    def __init__(self, in_nc: int, base_nc: int, max_nc: int, layers: int) -> None:
        super().__init__()
        self.layers = layers
        self.first = ConvNormAct(in_nc, base_nc, 7)
        for i in range(layers):
            self.add_module(
                f"down{i}", ConvNormAct(channels(base_nc, max_nc, i), channels(base_nc, max_nc, i + 1), 3, pool=True)
            )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = [self.first(x)]
        for i in range(self.layers):
            features.append(self.get_submodule(f"down{i}")(features[-1]))
        return features


class FinalBlock(nn.Module):
    """7x7 conv to image channels, then tanh (key ``model.0``)."""

    def __init__(self, in_nc: int, out_nc: int) -> None:
        super().__init__()
        self.model = nn.Sequential(nn.Conv2d(in_nc, out_nc, 7, padding=3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.model(x))


class FineDecoder(nn.Module):
    """From the deepest feature up: ADAIN res blocks, x2 up block, plus a ``jump`` of the skip at each level."""

    def __init__(
        self,
        image_nc: int,
        descriptor_nc: int,
        base_nc: int,
        max_nc: int,
        layers: int,
        num_res_blocks: int,
        adain_hidden: int,
    ) -> None:
        super().__init__()
        self.layers = layers
        for i in reversed(range(layers)):
            in_nc, out_nc = channels(base_nc, max_nc, i + 1), channels(base_nc, max_nc, i)
            self.add_module(f"up{i}", UpConvNormAct(in_nc, out_nc))
            self.add_module(f"res{i}", FineADAINResBlocks(num_res_blocks, in_nc, descriptor_nc, adain_hidden))
            self.add_module(f"jump{i}", ConvNormAct(out_nc, out_nc, 3))
        self.final = FinalBlock(base_nc, image_nc)

    def top_features(self, features: list[torch.Tensor], z: torch.Tensor) -> torch.Tensor:
        """The full-resolution features the final conv turns into the image."""
        x = features[-1]
        for i in reversed(range(self.layers)):
            x = self.get_submodule(f"res{i}")(x, z)
            x = self.get_submodule(f"up{i}")(x)
            jump = self.get_submodule(f"jump{i}")(features[i])
            # in place when no gradient is recorded: one full-size allocation less per level (same values)
            x = jump + x if torch.is_grad_enabled() else jump.add_(x)
        return x


class EditingNet(nn.Module):
    """Final image from the source, the flow and z.

    Two official variants (SPEC 3.4, 3.5): ``warp_features=True`` (Animo) encodes the source alone and warps every
    feature level with the flow; ``False`` (PIRenderer) encodes ``[source, warped source]`` and does not warp features.
    ``blend`` (ours, not official) adds a 7x7 conv ``blend`` predicting a per-pixel mask ``a`` from the top features:
    final = warped source + a * (generated - warped source), so what the warp gets right stays sharp and the net's
    few full-resolution channels go to what it must draw (eyes closing, a mouth opening).
    """

    def __init__(
        self,
        image_nc: int,
        descriptor_nc: int,
        base_nc: int,
        max_nc: int,
        layers: int,
        num_res_blocks: int,
        adain_hidden: int,
        warp_features: bool,
        blend: bool = False,
    ) -> None:
        super().__init__()
        self.warp_features = warp_features
        encoder_nc = image_nc if warp_features else 2 * image_nc
        self.encoder = FineEncoder(encoder_nc, base_nc, max_nc, layers)
        self.decoder = FineDecoder(image_nc, descriptor_nc, base_nc, max_nc, layers, num_res_blocks, adain_hidden)
        self.blend = nn.Conv2d(base_nc, 1, 7, padding=3) if blend else None

    def decode(
        self, features: list[torch.Tensor], grid: SamplingGrid, z: torch.Tensor, warp_image: torch.Tensor
    ) -> torch.Tensor:
        """Decode encoder features; in the Animo variant they are first warped with the sampling grid."""
        if self.warp_features:
            features = [warp(feature, grid) for feature in features]
        top = self.decoder.top_features(features, z)
        generated = self.decoder.final(top)
        if self.blend is None:
            return generated
        weight = torch.sigmoid(self.blend(top)).to(warp_image.dtype)  # under autocast the warp alone is float32
        return torch.lerp(warp_image, generated.to(warp_image.dtype), weight)
