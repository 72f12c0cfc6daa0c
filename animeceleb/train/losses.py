"""Image losses: the official multi-scale VGG19 perceptual loss (SPEC 7.1) and the offline fallback.

The perceptual loss needs ImageNet VGG19 weights, which cannot be downloaded at run time: pass a local safetensors
file or a Hub id (for example ``timm/vgg19.tv_in1k``, cached beforehand). Without weights, training uses
``ReconstructionLoss``: on the same image pyramid, per level ``L1 + (1 - SSIM) + L1 of the image gradients``. L1
matches flat colours, SSIM local structure and contrast, and the gradient term sharp edges (line art), which a
plain L1 loss blurs. It has no style term.

Under mixed precision (``mixed_precision: bf16`` or ``fp16``) the networks run in half precision, but SSIM and the
Gram matrices are computed in float32: their differences of large sums (``E[x²] - E[x]²``) lose most of their digits
in 16 bits (the fallback loss was 40% off in bf16).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from huggingface_hub import hf_hub_download
from safetensors.torch import load_file
from torch import nn

from animeceleb.errors import CheckpointError
from animeceleb.train.ssim import ssim_map

# torchvision's VGG19 ``features``: conv widths, "M" = 2x2 max pool. Layer indices follow torchvision's numbering.
VGG19_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")
VGG19_TAPS = (1, 6, 11, 20, 29)  # relu1_1, relu2_1, relu3_1, relu4_1, relu5_1
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VGG19Features(nn.Module):
    """VGG19 ``features`` (plain torch, torchvision layout) up to relu5_1, returning the five tapped activations."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_nc = 3
        for item in VGG19_LAYOUT:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(in_nc, item, 3, padding=1), nn.ReLU()]
                in_nc = item
        self.features = nn.Sequential(*layers[: VGG19_TAPS[-1] + 1])
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    @classmethod
    def from_weights(cls, weights: str | Path) -> VGG19Features:
        """Frozen, eval-mode VGG19 from a safetensors file or Hub id holding ``features.N.weight/bias`` tensors."""
        path = Path(weights)
        if not path.is_file():
            try:
                path = Path(hf_hub_download(str(weights), "model.safetensors"))
            except Exception as error:  # offline, unknown repo, bad id: all mean "no weights here"
                raise CheckpointError(
                    f"VGG19 weights {str(weights)!r}: not a local safetensors file and not an available Hub repo "
                    f"({type(error).__name__}); omit perceptual_weights to use the offline fallback loss"
                ) from None
        tensors = load_file(path)
        model = cls()
        wanted = model.features.state_dict()
        state = {}
        for key in wanted:  # accept any prefix before "features." (torchvision, timm, wrapped exports)
            matches = [name for name in tensors if name.endswith(f"features.{key}")]
            if not matches:
                raise CheckpointError(f"{path} is not a VGG19: no tensor named like 'features.{key}'")
            state[key] = tensors[matches[0]]
        try:
            model.features.load_state_dict(state)
        except RuntimeError as error:
            raise CheckpointError(f"{path} does not fit VGG19 features: {str(error).splitlines()[0]}") from None
        return model.eval().requires_grad_(False)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Activations at relu1_1 .. relu5_1 of images in [0, 1] (ImageNet-normalised here)."""
        x = (images - self.mean) / self.std
        taps = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in VGG19_TAPS:
                taps.append(x)
        return taps


def image_pyramid(prediction: torch.Tensor, target: torch.Tensor, scales: int):
    """Yield (prediction, target) at full size and ``scales - 1`` bilinear halvings (no antialias, SPEC 7.1)."""
    for level in range(scales):
        if level:
            prediction, target = (
                F.interpolate(
                    image, scale_factor=0.5, mode="bilinear", align_corners=False, recompute_scale_factor=True
                )
                for image in (prediction, target)
            )
        yield prediction, target


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """``F Fᵀ / (C H W)`` with F of shape (B, C, H·W)."""
    batch, nc, height, width = features.shape
    with torch.autocast(features.device.type, enabled=False):
        flat = features.float().reshape(batch, nc, height * width)
        return flat @ flat.transpose(1, 2) / (nc * height * width)


class PerceptualLoss(nn.Module):
    """Multi-scale VGG19 content loss, plus a Gram style term at full scale (SPEC 7.1 for Animo/PIRenderer, 7.4).

    ``from_tanh`` applies the official ``(x + 1) / 2`` to both images first (Animo and PIRenderer; FOMM does not).
    """

    def __init__(self, vgg: VGG19Features, scales: int = 4, from_tanh: bool = True) -> None:
        super().__init__()
        self.vgg = vgg
        self.scales = scales
        self.from_tanh = from_tanh

    def forward(self, prediction: torch.Tensor, target: torch.Tensor, style_weight: float = 0.0) -> torch.Tensor:
        if self.from_tanh:
            prediction, target = (prediction + 1) / 2, (target + 1) / 2
        loss = prediction.new_zeros(())
        for level, (pred, tgt) in enumerate(image_pyramid(prediction, target, self.scales)):
            pred_features, tgt_features = self.vgg(pred), [feature.detach() for feature in self.vgg(tgt)]
            loss = loss + sum((p - t).abs().mean() for p, t in zip(pred_features, tgt_features, strict=True))
            if level == 0 and style_weight:
                style = sum(
                    (gram_matrix(p) - gram_matrix(t)).abs().mean()
                    for p, t in zip(pred_features, tgt_features, strict=True)
                )
                loss = loss + style_weight * style
        return loss


def gradient_l1(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of horizontal and vertical finite differences."""
    dx = lambda image: image[..., :, 1:] - image[..., :, :-1]  # noqa: E731
    dy = lambda image: image[..., 1:, :] - image[..., :-1, :]  # noqa: E731
    return (dx(prediction) - dx(target)).abs().mean() + (dy(prediction) - dy(target)).abs().mean()


def missed_region_l1(
    prediction: torch.Tensor, target: torch.Tensor, reference: torch.Tensor, threshold: float = 0.2, grow: int = 2
) -> torch.Tensor:
    """Mean absolute error of ``prediction`` on the pixels where ``reference`` misses ``target`` by > ``threshold``.

    With the warped source as reference these are the pixels the editing net must draw (eyes closing, a mouth
    opening): a few percent of the image, which whole-image losses barely see. Each pair's region (grown by
    ``grow`` pixels) weighs as much as a whole image. ``threshold`` is in the images' pixel units (the objective
    passes the model's ``input_range``, [0, 1] for every shipped model); ``reference`` only picks the pixels.
    """
    missed = ((target - reference).abs().amax(1, keepdim=True) > threshold).float()
    missed = F.max_pool2d(missed, 2 * grow + 1, stride=1, padding=grow)
    error = (prediction - target).abs().mean(1, keepdim=True)
    return ((error * missed).sum((1, 2, 3)) / missed.sum((1, 2, 3)).clamp(min=1)).mean()


class ReconstructionLoss(nn.Module):
    """Offline fallback: per pyramid level ``L1 + (1 - SSIM) + gradient L1`` (images in [0, 1], no weights)."""

    def __init__(self, scales: int = 4) -> None:
        super().__init__()
        self.scales = scales

    def forward(self, prediction: torch.Tensor, target: torch.Tensor, style_weight: float = 0.0) -> torch.Tensor:
        with torch.autocast(prediction.device.type, enabled=False):  # float32 even under mixed precision
            prediction, target = prediction.float(), target.detach().float()
            loss = prediction.new_zeros(())
            for pred, tgt in image_pyramid(prediction, target, self.scales):
                window = 11 if min(pred.shape[-2:]) >= 22 else 3
                dissimilarity = (1 - ssim_map(pred, tgt, window)).clamp(0, 2).mean()
                loss = loss + (pred - tgt).abs().mean() + dissimilarity + gradient_l1(pred, tgt)
            return loss


def build_image_loss(perceptual_weights: str, scales: int, from_tanh: bool) -> nn.Module:
    """The perceptual loss when VGG19 weights are given, else the documented fallback."""
    if perceptual_weights:
        return PerceptualLoss(VGG19Features.from_weights(perceptual_weights), scales, from_tanh)
    return ReconstructionLoss(scales)
