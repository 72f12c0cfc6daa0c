"""SSIM for the training loss, with the Gaussian blur as two small matrix products instead of depthwise convolutions.

The same map as the usual definition (Gaussian window, sigma 1.5, reflect padding, C1 = 0.01², C2 = 0.03²), but each
blur is ``rows @ image @ colsᵀ`` with banded matrices that hold the window and the reflected border. PyTorch's CPU
depthwise convolutions ran at about 1 GFLOP/s here (one thread, profiled); these products run as GEMMs, about 3x
faster forward and backward (``benchmarks/bench_losses.py``).
"""

from __future__ import annotations

from functools import lru_cache

import torch

SIGMA = 1.5
C1 = 0.01**2
C2 = 0.03**2
EPS = 1e-12


def gaussian_window(size: int, sigma: float = SIGMA) -> torch.Tensor:
    """Normalised 1-d Gaussian weights of odd length ``size``, centred."""
    offsets = torch.arange(size, dtype=torch.float64) - size // 2
    weights = torch.exp(-(offsets**2) / (2 * sigma**2))
    return weights / weights.sum()


@lru_cache(maxsize=32)
def blur_matrix(length: int, window: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(length, length) matrix M with ``M @ x`` = x blurred by ``gaussian_window(window)`` along its first axis.

    The border is reflected without repeating the edge (``x[-1] = x[1]``), as ``F.pad(mode="reflect")`` does.
    """
    radius = window // 2
    if window % 2 == 0 or radius >= length:
        raise ValueError(f"an SSIM window must be odd and smaller than twice the image side ({window} vs {length})")
    weights = gaussian_window(window)
    matrix = torch.zeros(length, length, dtype=torch.float64)
    for row in range(length):
        for tap in range(window):
            column = abs(row + tap - radius)
            if column >= length:
                column = 2 * (length - 1) - column
            matrix[row, column] += weights[tap]
    return matrix.to(dtype=dtype, device=device)


def ssim_map(prediction: torch.Tensor, target: torch.Tensor, window: int = 11) -> torch.Tensor:
    """Per-pixel SSIM of (B, C, H, W) images in [0, 1], the same shape as the inputs."""
    height, width = prediction.shape[-2:]
    rows = blur_matrix(height, window, prediction.dtype, prediction.device)
    cols = blur_matrix(width, window, prediction.dtype, prediction.device)
    stats = torch.stack([prediction, target, prediction * prediction, target * target, prediction * target])
    mean_p, mean_t, mean_pp, mean_tt, mean_pt = rows @ stats @ cols.T
    var_p, var_t, covariance = mean_pp - mean_p**2, mean_tt - mean_t**2, mean_pt - mean_p * mean_t
    numerator = (2 * mean_p * mean_t + C1) * (2 * covariance + C2)
    denominator = (mean_p**2 + mean_t**2 + C1) * (var_p + var_t + C2)
    return numerator / (denominator + EPS)
