"""Reconstruction metrics per image (L1, PSNR, SSIM on [0, 1] images) and their running means."""

from __future__ import annotations

import torch
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

METRICS = ("l1", "psnr", "ssim")


def image_metrics(prediction: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-image L1, PSNR (dB) and SSIM (Gaussian 11x11, sigma 1.5) of (B, 3, H, W) images in [0, 1]."""
    prediction, target = prediction.float().clamp(0, 1), target.float()
    return {
        "l1": (prediction - target).abs().mean(dim=(1, 2, 3)),
        "psnr": peak_signal_noise_ratio(prediction, target, data_range=1.0, reduction="none", dim=(1, 2, 3)),
        "ssim": structural_similarity_index_measure(prediction, target, data_range=1.0, reduction="none"),
    }


def share_of(value: float, baseline: float) -> float:
    """``value`` as a fraction of a baseline's (e.g. a model's L1 over copy-source's), safe for a zero baseline."""
    return value / max(baseline, 1e-12)


class MeanMetrics:
    """Accumulates per-image metrics and reports their means."""

    def __init__(self) -> None:
        self.sums = dict.fromkeys(METRICS, 0.0)
        self.count = 0

    def update(self, prediction: torch.Tensor, target: torch.Tensor) -> None:
        for name, values in image_metrics(prediction, target).items():
            self.sums[name] += float(values.sum())
        self.count += prediction.shape[0]

    def means(self) -> dict[str, float]:
        return {name: total / max(self.count, 1) for name, total in self.sums.items()}
