"""Building blocks shared by Animo and PIRenderer: normalisations, ADAIN, the flow grid and the warp (SPEC 3.1, 3.3).

Ported from the description of the official AnimeCeleb code (itself derived from PIRenderer, Ren et al. 2021).
One implementation of each block; every numerical convention of the official code is reproduced (SPEC 9.1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LEAKY_SLOPE = 0.1  # every LeakyReLU of Animo / PIRenderer (hard-coded in the official code)
NORM_EPS = 1e-5
NARROW_NC = 8  # LayerNorm2d computes channels-last maps of at most this many channels with its own kernel
WIDE_NC = 64  # warp samples channels-last maps at least this wide by gathering pixel rows (gather_bilinear)


def leaky_relu(x: torch.Tensor) -> torch.Tensor:
    """The LeakyReLU used throughout (slope 0.1), in place: callers pass a fresh normalisation output that nothing
    else reads (autograd-safe; saves a full-size allocation per call, ~7% of a full-size frame on CPU)."""
    return F.leaky_relu(x, LEAKY_SLOPE, inplace=True)


def moments(x: torch.Tensor, dims: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and biased variance over ``dims`` (kept as size-1 dims), as ``E[x]`` and ``E[x^2] - E[x]^2``.

    Two vectorised means: torch.var_mean's Welford pass is ~20x slower on CPU. The cancellation error stays far below
    the 2e-4 output tolerance for the activations of these nets (golden-tested).
    """
    mean = x.mean(dim=dims, keepdim=True)
    var = ((x * x).mean(dim=dims, keepdim=True) - mean * mean).clamp_min(0)
    return mean, var


class LayerNorm2d(nn.Module):
    """Normalise each sample over (C, H, W) jointly, then a per-channel affine stored as (C, 1, 1) tensors."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        narrow_nhwc = x.shape[1] <= NARROW_NC and x.is_contiguous(memory_format=torch.channels_last)
        if not narrow_nhwc or x.is_contiguous():
            # one group over (C, H, W) with a per-channel affine: the same map, fused into a single kernel
            return F.group_norm(x, 1, self.weight.flatten(), self.bias.flatten(), eps=NORM_EPS)
        # group_norm's NHWC kernel is slow on narrow maps (4 channels at 256x256: 1.4 vs 0.5 ms), while on wide ones
        # it beats these elementwise passes (64 channels: 1.7 vs 2.4 ms). Centred first: one map-wide mean can sit
        # far from zero, where E[x^2] - E[x]^2 would cancel.
        centred = x - x.mean(dim=(1, 2, 3), keepdim=True)
        var = (centred * centred).mean(dim=(1, 2, 3), keepdim=True)
        return torch.addcmul(self.bias[None], centred, self.weight[None] * torch.rsqrt(var + NORM_EPS))


class ADAIN(nn.Module):
    """Adaptive instance norm: ``IN(x) * (1 + gamma(z)) + beta(z)`` with a per-layer MLP on the descriptor z."""

    def __init__(self, channels: int, descriptor_nc: int, hidden: int = 128) -> None:
        super().__init__()
        self.mlp_shared = nn.Sequential(nn.Linear(descriptor_nc, hidden), nn.ReLU())
        self.mlp_gamma = nn.Linear(hidden, channels)
        self.mlp_beta = nn.Linear(hidden, channels)

    def forward(self, x: torch.Tensor, descriptor: torch.Tensor) -> torch.Tensor:
        hidden = self.mlp_shared(descriptor.flatten(1))
        gamma = self.mlp_gamma(hidden)[:, :, None, None]
        beta = self.mlp_beta(hidden)[:, :, None, None]
        # IN(x) * (1 + gamma) + beta folded into one scale and shift: two passes over x instead of five
        mean, var = moments(x, dims=(2, 3))
        scale = (1 + gamma) * torch.rsqrt(var + NORM_EPS)
        return torch.addcmul(beta - mean * scale, x, scale)


class ConvNormAct(nn.Module):
    """``Conv -> LayerNorm2d -> LeakyReLU`` (keys ``model.0`` conv, ``model.1`` norm), optionally followed by a pool."""

    def __init__(self, in_nc: int, out_nc: int, kernel_size: int, pool: bool = False) -> None:
        super().__init__()
        conv = nn.Conv2d(in_nc, out_nc, kernel_size, padding=kernel_size // 2)
        layers = [conv, LayerNorm2d(out_nc), nn.LeakyReLU(LEAKY_SLOPE, inplace=True)]  # in place: see leaky_relu
        if pool:
            layers.append(nn.AvgPool2d(2))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class UpConvNormAct(ConvNormAct):
    """Nearest-neighbour x2 upsampling, then ``Conv 3x3 -> LayerNorm2d -> LeakyReLU``.

    The upsample + conv pair is computed as four 2x2 convolutions at the low resolution (one per output phase), which
    is the same linear map with 2.25x fewer multiplications (see ``upsample_conv3x3``).
    """

    def __init__(self, in_nc: int, out_nc: int) -> None:
        super().__init__(in_nc, out_nc, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv, norm, act = self.model
        return act(norm(upsample_conv3x3(x, conv.weight, conv.bias)))


def upsample_conv3x3(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``conv3x3(pad 1)(nearest_upsample_x2(x))`` computed without materialising the upsampled input.

    Output row 2i+a only sees input rows i-1+a and i+a: with kernel rows (k0, k1, k2) the even phase applies
    (k0, k1+k2) to rows (i-1, i) and the odd phase (k0+k1, k2) to rows (i, i+1); columns likewise. All four phases
    are one 2x2 conv over the input padded by 1, whose shifted windows are interleaved into the output.
    """
    rows = torch.stack(
        [
            torch.stack([weight[:, :, 0], weight[:, :, 1] + weight[:, :, 2]], 2),
            torch.stack([weight[:, :, 0] + weight[:, :, 1], weight[:, :, 2]], 2),
        ]
    )  # (2, O, I, 2, 3)
    phases = (
        torch.stack([rows[..., 0], rows[..., 1] + rows[..., 2]], -1),
        torch.stack([rows[..., 0] + rows[..., 1], rows[..., 2]], -1),
    )  # per column phase: (2, O, I, 2, 2) over row phases
    kernel = torch.stack(phases, 1).flatten(0, 2)  # (row phase, column phase, O) -> (4 * O, I, 2, 2)
    out_nc, (height, width) = weight.shape[0], x.shape[2:]
    y = F.conv2d(F.pad(x, (1, 1, 1, 1)), kernel, bias.repeat(4))  # (B, 4 * O, H + 1, W + 1)
    y = y.unflatten(1, (2, 2, out_nc))
    windows = [[y[:, a, b, :, a : a + height, b : b + width] for b in (0, 1)] for a in (0, 1)]
    batch = x.shape[0]
    if x.is_contiguous(memory_format=torch.channels_last):  # interleave channels-last, so the output stays NHWC
        out = y.new_empty(batch, height, 2, width, 2, out_nc)
        for a, b in ((0, 0), (0, 1), (1, 0), (1, 1)):
            out[:, :, a, :, b] = windows[a][b].permute(0, 2, 3, 1)
        return out.view(batch, 2 * height, 2 * width, out_nc).permute(0, 3, 1, 2)
    out = y.new_empty(batch, out_nc, height, 2, width, 2)
    for a, b in ((0, 0), (0, 1), (1, 0), (1, 1)):
        out[:, :, :, a, :, b] = windows[a][b]
    return out.view(batch, out_nc, 2 * height, 2 * width)


def channels(base: int, maximum: int, level: int) -> int:
    """Channel width at a level of a pyramid that doubles from ``base`` and saturates at ``maximum``."""
    return min(base * 2**level, maximum)


def make_coordinate_grid(height: int, width: int, like: torch.Tensor) -> torch.Tensor:
    """A (height, width, 2) grid of (x, y) in [-1, 1] with -1 and 1 on the corner pixel centres.

    Computed as ``2 * (i / (n - 1)) - 1`` in ``like``'s dtype, the official operation order (``linspace`` can differ
    by one ulp). Sampled with ``align_corners=False`` it is *not* the identity warp: borders mix with the zero padding.
    """
    xs = 2 * (torch.arange(width, dtype=like.dtype, device=like.device) / (width - 1)) - 1
    ys = 2 * (torch.arange(height, dtype=like.dtype, device=like.device) / (height - 1)) - 1
    return torch.stack([xs.view(1, -1).expand(height, width), ys.view(-1, 1).expand(height, width)], dim=-1)


def flow_to_grid(flow: torch.Tensor) -> torch.Tensor:
    """Turn a pixel flow (B, 2, h, w) into a ``grid_sample`` grid (B, h, w, 2), x first.

    The base grid uses the endpoint convention (-1 and +1 on the first and last pixel centres) and the flow is scaled
    by 2 / (n - 1) of the flow grid's own size, exactly as the official code does (SPEC 3.3). The grid is float32 even
    under mixed precision: in bf16 it would be off by up to half a pixel at 256 px.
    """
    _, _, height, width = flow.shape
    flow = flow.float()
    base = make_coordinate_grid(height, width, flow)
    scaled = torch.cat([flow[:, :1] / (width - 1), flow[:, 1:] / (height - 1)], dim=1) * 2
    return base + scaled.permute(0, 2, 3, 1)


def resize_grid(grid: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize a sampling grid (B, h, w, 2) to ``size`` bilinearly (align_corners=False); the grid, not a flow."""
    if tuple(grid.shape[1:3]) == tuple(size):
        return grid
    resized = F.interpolate(grid.permute(0, 3, 1, 2), size=size, mode="bilinear", align_corners=False)
    return resized.permute(0, 2, 3, 1)


class SamplingGrid:
    """A flow's sampling grid (B, h, w, 2) and its bilinear resizes, each size made once (a frame warps the image
    and every feature level, two of them at the image size)."""

    def __init__(self, grid: torch.Tensor) -> None:
        self.grid = grid
        self._resized = {tuple(grid.shape[1:3]): grid}

    def at(self, size: tuple[int, int]) -> torch.Tensor:
        """The grid resized to ``size`` (height, width)."""
        size = tuple(size)
        if size not in self._resized:
            self._resized[size] = resize_grid(self.grid, size)
        return self._resized[size]


def warp(features: torch.Tensor, grid: SamplingGrid) -> torch.Tensor:
    """Sample ``features`` (B, C, H, W) through ``grid`` resized to (H, W); bilinear, border padding (SPEC 3.3).

    Sampled in float32, the grid's precision (half-precision features under mixed precision are cast up).
    """
    features = features.float()
    sampling = grid.at(features.shape[2:])
    rows = _pixel_rows(features) if not torch.is_grad_enabled() and features.shape[1] >= WIDE_NC else None
    if rows is not None:
        return gather_bilinear(rows, features.shape, sampling)
    return F.grid_sample(features, sampling, mode="bilinear", padding_mode="border", align_corners=False)


def _pixel_rows(features: torch.Tensor) -> torch.Tensor | None:
    """A channels-last map as a (pixels, C) view (one batch entry when the batch is one map expanded), else None."""
    if features.shape[0] > 1 and features.stride(0) == 0:
        features = features[:1]
    if not features.is_contiguous(memory_format=torch.channels_last):
        return None
    return features.permute(0, 2, 3, 1).reshape(-1, features.shape[1])


def gather_bilinear(rows: torch.Tensor, shape: torch.Size, grid: torch.Tensor) -> torch.Tensor:
    """``grid_sample`` (bilinear, border padding, align_corners=False) of a channels-last map of ``shape``
    (B, C, H, W), given as its ``_pixel_rows`` view, in channels-last.

    Each output pixel is a weighted sum of 4 input pixels, i.e. of 4 rows of the (pixels, C) view: one
    ``embedding_bag`` computes it from contiguous rows, 5-10x faster on CPU than grid_sample (which gathers one
    channel at a time and returns NCHW). Same coordinates and weights as grid_sample (SPEC 3.3); inference only
    (its backward is slower).
    """
    batch, nc, height, width = shape
    x = (((grid[..., 0] + 1) * width - 1) / 2).clamp(0, width - 1)  # unnormalise, then clip to the border
    y = (((grid[..., 1] + 1) * height - 1) / 2).clamp(0, height - 1)
    x0, y0 = x.floor(), y.floor()
    east, south = x - x0, y - y0
    west, north = (x0 + 1) - x, (y0 + 1) - y
    left, top = x0.long(), y0.long()
    right, bottom = (left + 1).clamp_max(width - 1), (top + 1).clamp_max(height - 1)  # weight 0 where clamped
    indices = torch.stack([top * width + left, top * width + right, bottom * width + left, bottom * width + right], -1)
    if rows.shape[0] > height * width:  # one map per batch entry (not one expanded map): offset to entry b's rows
        indices = indices + torch.arange(batch, device=rows.device).view(-1, 1, 1, 1) * (height * width)
    weights = torch.stack([west * north, east * north, west * south, east * south], -1)
    out = F.embedding_bag(indices.view(-1, 4), rows, per_sample_weights=weights.view(-1, 4), mode="sum")
    return out.view(batch, *grid.shape[1:3], nc).permute(0, 3, 1, 2)
