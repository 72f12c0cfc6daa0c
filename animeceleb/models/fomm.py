"""FOMM: the First Order Motion Model baseline of AnimeCeleb (keypoint detector + occlusion-aware generator).

Paper: Siarohin et al., "First Order Motion Model for Image Animation", NeurIPS 2019. Ported from the description
of the official AnimeCeleb FOMM code in SPEC sections 1.3 and 11, which keeps only the absolute-motion path. Module
and parameter names are the official ones, so the official ``kp_detector.*`` and ``generator.*`` weights load
strictly. Every output-affecting quirk is reproduced: corner-aligned coordinate grids sampled with
``align_corners=False`` and zero padding, top-left anti-alias subsampling, the temperature as a softmax divisor,
heatmap coordinates on the valid-convolution region, ``J_s @ inv(J_d)``, and eval-mode batch norm.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from animeceleb.models.hub import HubModel, normalize_config
from animeceleb.models.layers import channels, make_coordinate_grid, resize_grid

KP_CONV_SIZE = 7  # the keypoint and jacobian heads are unpadded 7x7 convs, so heatmaps lose 6 pixels per axis

Keypoints = dict[str, torch.Tensor]  # {"value": (B, K, 2) as (x, y) in [-1, 1], "jacobian": (B, K, 2, 2)}


@dataclass(frozen=True)
class FOMMConfig:
    """Every architecture size of FOMM; the defaults are the official vox-256 config (SPEC 11)."""

    num_channels: int = 3  # image channels C
    num_kp: int = 10  # keypoints K
    estimate_jacobian: bool = True  # a 2x2 local affine per keypoint; without it every jacobian is the identity
    kp_block_expansion: int = 32  # keypoint hourglass: width of its first level
    kp_max_features: int = 1024  # keypoint hourglass: widest level
    kp_num_blocks: int = 5  # keypoint hourglass: down/up levels
    kp_scale_factor: float = 0.25  # keypoints are detected on the image scaled by this (1/n for an integer n)
    temperature: float = 0.1  # heatmap softmax temperature (a divisor of the logits)
    generator_block_expansion: int = 64  # generator: width after its first conv
    generator_max_features: int = 512  # generator: widest level
    num_down_blocks: int = 2  # generator: down (and up) blocks around the warped features
    num_bottleneck_blocks: int = 6  # generator: residual blocks on the warped features
    estimate_occlusion_map: bool = True  # dense motion also predicts where the warped features are unreliable
    dense_motion_block_expansion: int = 64  # dense-motion hourglass: width of its first level
    dense_motion_max_features: int = 1024  # dense-motion hourglass: widest level
    dense_motion_num_blocks: int = 5  # dense-motion hourglass: down/up levels
    dense_motion_scale_factor: float = 0.25  # dense motion runs on the source scaled by this (1/n)
    kp_variance: float = 0.01  # variance of the keypoint Gaussians fed to dense motion
    model_type: str = "fomm"
    input_range: tuple[float, float] = (0.0, 1.0)  # pixel range the weights expect (official: [0, 1])
    image_size: tuple[int, int] = (256, 256)  # (height, width) the weights were trained at

    def __post_init__(self) -> None:
        normalize_config(self, "fomm")

    @property
    def size_multiple(self) -> int:
        """Image heights and widths that are multiples of this fit every hourglass and down/up path."""
        kp = round(1 / self.kp_scale_factor) * 2**self.kp_num_blocks
        dense = round(1 / self.dense_motion_scale_factor) * 2**self.dense_motion_num_blocks
        return math.lcm(kp, dense, 2**self.num_down_blocks)


def deform(image: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Sample ``image`` (B, C, H, W) through ``grid`` (B, h, w, 2), first resized to (H, W); zero padding; float32."""
    grid = resize_grid(grid, tuple(image.shape[2:]))
    return F.grid_sample(image.float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class DownBlock2d(nn.Module):
    """``conv 3x3 -> BatchNorm -> ReLU -> AvgPool 2`` (the pool floors odd sizes)."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, 3, padding=1)
        self.norm = nn.BatchNorm2d(out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(F.relu(self.norm(self.conv(x))), 2)


class UpBlock2d(nn.Module):
    """Nearest x2 upsampling, then ``conv 3x3 -> BatchNorm -> ReLU``."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, 3, padding=1)
        self.norm = nn.BatchNorm2d(out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.norm(self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))))


class SameBlock2d(nn.Module):
    """``conv 7x7 -> BatchNorm -> ReLU`` at the input resolution (the generator's first block)."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, 7, padding=3)
        self.norm = nn.BatchNorm2d(out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.norm(self.conv(x)))


class ResBlock2d(nn.Module):
    """Pre-activation residual block ``x + conv2(ReLU(BN2(conv1(ReLU(BN1(x))))))``; nothing after the sum."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, 3, padding=1)
        self.conv2 = nn.Conv2d(features, features, 3, padding=1)
        self.norm1 = nn.BatchNorm2d(features)
        self.norm2 = nn.BatchNorm2d(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(self.norm1(x)))
        return self.conv2(F.relu(self.norm2(out))) + x


class HourglassEncoder(nn.Module):
    """Down blocks; returns the input and every level's output (the skips)."""

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int, max_features: int) -> None:
        super().__init__()
        widths = [in_features] + [channels(block_expansion, max_features, i + 1) for i in range(num_blocks)]
        self.down_blocks = nn.ModuleList(DownBlock2d(widths[i], widths[i + 1]) for i in range(num_blocks))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = [x]
        for block in self.down_blocks:
            features.append(block(features[-1]))
        return features


class HourglassDecoder(nn.Module):
    """Up blocks from the deepest level; each output is concatenated with its skip (output first)."""

    def __init__(self, block_expansion: int, num_blocks: int, max_features: int) -> None:
        super().__init__()
        blocks = []
        for i in reversed(range(num_blocks)):  # index 0 is the deepest block
            skip_factor = 1 if i == num_blocks - 1 else 2
            in_features = skip_factor * channels(block_expansion, max_features, i + 1)
            blocks.append(UpBlock2d(in_features, channels(block_expansion, max_features, i)))
        self.up_blocks = nn.ModuleList(blocks)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        out = features[-1]
        for block, skip in zip(self.up_blocks, reversed(features[:-1]), strict=True):
            out = torch.cat([block(out), skip], dim=1)
        return out


class Hourglass(nn.Module):
    """U-Net whose output is ``cat(decoded (block_expansion ch), raw input)``; sizes must divide by 2^num_blocks."""

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int, max_features: int) -> None:
        super().__init__()
        self.encoder = HourglassEncoder(block_expansion, in_features, num_blocks, max_features)
        self.decoder = HourglassDecoder(block_expansion, num_blocks, max_features)
        self.out_features = block_expansion + in_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


class AntiAliasInterpolation2d(nn.Module):
    """Gaussian blur then subsampling by ``1/scale`` from the top-left pixel; zero padding darkens the borders.

    ``sigma = (1/scale - 1) / 2`` and a ``2*round(4*sigma) + 1`` kernel (float32, normalised over 2-D), stored as the
    official ``weight`` buffer (C, 1, k, k). The blur is evaluated only at the kept pixels (a strided conv) instead of
    everywhere and then subsampled; the output size is ``ceil(H * scale)``.
    """

    def __init__(self, num_channels: int, scale: float) -> None:
        super().__init__()
        sigma = (1 / scale - 1) / 2
        size = 2 * round(4 * sigma) + 1
        taps = torch.arange(size, dtype=torch.float32)
        gaussian = torch.exp(-((taps - (size - 1) / 2) ** 2) / (2 * sigma**2))
        kernel = gaussian.view(-1, 1) * gaussian.view(1, -1)
        kernel = kernel / kernel.sum()
        self.register_buffer("weight", kernel.expand(num_channels, 1, size, size).clone())
        self.padding = size // 2
        self.stride = int(1 / scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded = F.pad(x, (self.padding,) * 4)
        return F.conv2d(padded, self.weight, stride=self.stride, groups=x.shape[1])


def anti_alias(num_channels: int, scale: float) -> AntiAliasInterpolation2d | None:
    """The downscaler for ``scale``, or None at scale 1 (the official modules do not build one then)."""
    return None if scale == 1 else AntiAliasInterpolation2d(num_channels, scale)


class KeypointDetector(nn.Module):
    """Image -> K keypoints (expected heatmap coordinates) and their 2x2 jacobians (official ``KPDetector``)."""

    def __init__(self, config: FOMMConfig) -> None:
        super().__init__()
        self.predictor = Hourglass(
            config.kp_block_expansion, config.num_channels, config.kp_num_blocks, config.kp_max_features
        )
        features = self.predictor.out_features
        self.kp = nn.Conv2d(features, config.num_kp, KP_CONV_SIZE)
        self.jacobian = nn.Conv2d(features, 4 * config.num_kp, KP_CONV_SIZE) if config.estimate_jacobian else None
        if self.jacobian is not None:  # official init: zero weights, identity bias
            nn.init.zeros_(self.jacobian.weight)
            self.jacobian.bias.data.copy_(torch.tensor([1.0, 0.0, 0.0, 1.0]).repeat(config.num_kp))
        self.temperature = config.temperature
        self.down = anti_alias(config.num_channels, config.kp_scale_factor)

    def forward(self, image: torch.Tensor) -> Keypoints:
        # float32 even under mixed precision: the temperature scales the logits' bf16 errors up 10x
        with torch.autocast(image.device.type, enabled=False):
            return self.keypoints(image.float())

    def keypoints(self, image: torch.Tensor) -> Keypoints:
        """The heatmaps' expected coordinates and jacobians."""
        x = image if self.down is None else self.down(image)
        features = self.predictor(x)
        logits = self.kp(features)  # (B, K, h-6, w-6): valid conv
        batch, num_kp, height, width = logits.shape
        heatmap = F.softmax(logits.view(batch, num_kp, -1) / self.temperature, dim=2).view(logits.shape)
        # The grid spans the heatmap's own valid region, not the image (official).
        grid = make_coordinate_grid(height, width, heatmap)
        value = (heatmap.unsqueeze(-1) * grid).sum(dim=(2, 3))
        if self.jacobian is None:
            identity = torch.eye(2, dtype=value.dtype, device=value.device)
            return {"value": value, "jacobian": identity.expand(batch, num_kp, 2, 2)}
        jacobian_map = self.jacobian(features).view(batch, num_kp, 4, height, width)  # channel 4k+c
        jacobian = (heatmap.unsqueeze(2) * jacobian_map).view(batch, num_kp, 4, -1).sum(dim=-1)
        return {"value": value, "jacobian": jacobian.view(batch, num_kp, 2, 2)}  # row-major [[c0, c1], [c2, c3]]


class DenseMotionNetwork(nn.Module):
    """Keypoints -> a dense backward-warp grid mixing K local affine motions and the identity, plus an occlusion map."""

    def __init__(self, config: FOMMConfig) -> None:
        super().__init__()
        in_features = (config.num_kp + 1) * (config.num_channels + 1)
        self.hourglass = Hourglass(
            config.dense_motion_block_expansion,
            in_features,
            config.dense_motion_num_blocks,
            config.dense_motion_max_features,
        )
        features = self.hourglass.out_features
        self.mask = nn.Conv2d(features, config.num_kp + 1, 7, padding=3)
        self.occlusion = nn.Conv2d(features, 1, 7, padding=3) if config.estimate_occlusion_map else None
        self.kp_variance = config.kp_variance
        self.down = anti_alias(config.num_channels, config.dense_motion_scale_factor)

    def heatmaps(self, grid: torch.Tensor, kp_source: Keypoints, kp_driving: Keypoints) -> torch.Tensor:
        """(B, K+1, h, w): Gaussian(driving) - Gaussian(source) per keypoint, after a zero background channel."""

        def gaussian(kp: Keypoints) -> torch.Tensor:
            offsets = grid - kp["value"][:, :, None, None, :]  # (B, K, h, w, 2)
            return torch.exp(-0.5 * (offsets**2).sum(-1) / self.kp_variance)

        heat = gaussian(kp_driving) - gaussian(kp_source)
        return torch.cat([torch.zeros_like(heat[:, :1]), heat], dim=1)

    @staticmethod
    def sparse_motions(grid: torch.Tensor, kp_source: Keypoints, kp_driving: Keypoints) -> torch.Tensor:
        """(B, K+1, h, w, 2): the identity grid, then ``T_k(z) = J_s,k inv(J_d,k) (z - kp_d,k) + kp_s,k`` (eq. 4)."""
        batch = kp_source["value"].shape[0]
        jacobian = torch.matmul(kp_source["jacobian"], torch.linalg.inv(kp_driving["jacobian"]))  # (B, K, 2, 2)
        offsets = grid - kp_driving["value"][:, :, None, None, :]  # (B, K, h, w, 2)
        motions = torch.matmul(jacobian[:, :, None, None], offsets.unsqueeze(-1)).squeeze(-1)
        motions = motions + kp_source["value"][:, :, None, None, :]
        identity = grid.expand(batch, 1, *grid.shape[2:])
        return torch.cat([identity, motions], dim=1)

    @staticmethod
    def sparse_deform(image: torch.Tensor, motions: torch.Tensor) -> torch.Tensor:
        """(B, K+1, C, h, w): ``image`` warped by each motion (one ``grid_sample`` over the stacked grids)."""
        batch, count, height, width, _ = motions.shape
        stacked = motions.reshape(batch, count * height, width, 2)
        warped = F.grid_sample(image, stacked, mode="bilinear", padding_mode="zeros", align_corners=False)
        return warped.view(batch, -1, count, height, width).transpose(1, 2)

    def forward(self, source: torch.Tensor, kp_source: Keypoints, kp_driving: Keypoints) -> dict[str, torch.Tensor]:
        # float32 even under mixed precision: the motion field, its mask and the keypoint heatmaps need the precision
        with torch.autocast(source.device.type, enabled=False):
            return self.motion(source.float(), kp_source, kp_driving)

    def motion(self, source: torch.Tensor, kp_source: Keypoints, kp_driving: Keypoints) -> dict[str, torch.Tensor]:
        """Sparse motions, their per-pixel mix (the deformation) and the occlusion map."""
        x = source if self.down is None else self.down(source)
        batch, _, height, width = x.shape
        grid = make_coordinate_grid(height, width, x).view(1, 1, height, width, 2)
        heat = self.heatmaps(grid, kp_source, kp_driving)
        motions = self.sparse_motions(grid, kp_source, kp_driving)
        sparse_deformed = self.sparse_deform(x, motions)
        # Channels interleaved per keypoint: [H_0, R_0, G_0, B_0, H_1, R_1, ...].
        stacked = torch.cat([heat.unsqueeze(2), sparse_deformed], dim=2).view(batch, -1, height, width)
        prediction = self.hourglass(stacked)
        mask = F.softmax(self.mask(prediction), dim=1)  # (B, K+1, h, w), channel 0 = background
        deformation = (mask.unsqueeze(-1) * motions).sum(dim=1)  # (B, h, w, 2), x then y
        if self.occlusion is None:
            occlusion_map = torch.ones_like(mask[:, :1])
        else:
            occlusion_map = torch.sigmoid(self.occlusion(prediction))
        return {
            "mask": mask,
            "sparse_deformed": sparse_deformed,
            "occlusion_map": occlusion_map,
            "deformation": deformation,
        }


class OcclusionAwareGenerator(nn.Module):
    """Encode the source, warp its features by the dense motion, mask occlusions, decode (sigmoid output)."""

    def __init__(self, config: FOMMConfig) -> None:
        super().__init__()
        expansion, maximum, levels = (
            config.generator_block_expansion,
            config.generator_max_features,
            config.num_down_blocks,
        )
        # Registration order = the official state_dict order (up_blocks before bottleneck).
        self.dense_motion_network = DenseMotionNetwork(config)
        self.first = SameBlock2d(config.num_channels, expansion)
        self.down_blocks = nn.ModuleList(
            DownBlock2d(channels(expansion, maximum, i), channels(expansion, maximum, i + 1)) for i in range(levels)
        )
        self.up_blocks = nn.ModuleList(
            UpBlock2d(channels(expansion, maximum, levels - i), channels(expansion, maximum, levels - i - 1))
            for i in range(levels)
        )
        self.bottleneck = nn.Sequential()
        for i in range(config.num_bottleneck_blocks):
            self.bottleneck.add_module(f"r{i}", ResBlock2d(channels(expansion, maximum, levels)))
        self.final = nn.Conv2d(expansion, config.num_channels, 7, padding=3)
        self.estimate_occlusion_map = config.estimate_occlusion_map

    def forward(self, source: torch.Tensor, kp_source: Keypoints, kp_driving: Keypoints) -> dict[str, torch.Tensor]:
        motion = self.dense_motion_network(source, kp_source, kp_driving)
        features = self.first(source)
        for block in self.down_blocks:
            features = block(features)
        features = deform(features, motion["deformation"])
        if self.estimate_occlusion_map:
            occlusion = motion["occlusion_map"]
            if occlusion.shape[2:] != features.shape[2:]:
                occlusion = F.interpolate(occlusion, size=features.shape[2:], mode="bilinear", align_corners=False)
            features = features * occlusion
        out = self.bottleneck(features)
        for block in self.up_blocks:
            out = block(out)
        prediction = torch.sigmoid(self.final(out))
        # "deformed" is the full-resolution source through the upsampled grid, without occlusion.
        return {**motion, "deformed": deform(source, motion["deformation"]), "prediction": prediction}


class FOMM(HubModel):
    """First Order Motion Model: ``kp_detector`` (KPDetector) and ``generator`` (OcclusionAwareGenerator).

    Images are (B, C, H, W) in ``config.input_range``; H and W should be multiples of ``config.size_multiple``.
    For a video, detect the source keypoints once and call ``generate`` per driving frame.
    """

    config_class = FOMMConfig
    model_type = "fomm"

    def __init__(self, config: FOMMConfig) -> None:
        super().__init__()
        self.config = config
        self.kp_detector = KeypointDetector(config)
        self.generator = OcclusionAwareGenerator(config)

    def detect_keypoints(self, image: torch.Tensor) -> Keypoints:
        """{"value": (B, K, 2) (x, y) in [-1, 1], "jacobian": (B, K, 2, 2)} of an image batch."""
        return self.kp_detector(image)

    def generate(self, source: torch.Tensor, kp_source: Keypoints, kp_driving: Keypoints) -> dict[str, torch.Tensor]:
        """The source moved from ``kp_source`` to ``kp_driving``.

        Returns mask (B, K+1, h, w), sparse_deformed (B, K+1, C, h, w), occlusion_map (B, 1, h, w; ones when not
        estimated), deformation (B, h, w, 2), deformed (B, C, H, W) and prediction (B, C, H, W), where (h, w) is the
        dense-motion resolution.
        """
        return self.generator(source, kp_source, kp_driving)

    def forward(self, source: torch.Tensor, driving: torch.Tensor) -> dict[str, torch.Tensor | Keypoints]:
        """Reenact ``source`` with the motion of ``driving``: kp_source, kp_driving and every ``generate`` output."""
        kp_source = self.detect_keypoints(source)
        kp_driving = self.detect_keypoints(driving)
        return {"kp_source": kp_source, "kp_driving": kp_driving, **self.generate(source, kp_source, kp_driving)}
