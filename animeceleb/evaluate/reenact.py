"""One call that reenacts a batch with any of our model kinds, for training and evaluation alike."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from animeceleb.models import FOMM, Animo, from_model_range, to_model_range
from animeceleb.models.hub import HubModel
from animeceleb.pose import pose_to_motion


def reenact(
    model: HubModel,
    source: torch.Tensor,
    driving: torch.Tensor,
    driving_pose: torch.Tensor,
    *,
    with_image: bool = True,
) -> dict[str, torch.Tensor]:
    """Animate ``source`` toward the driving frame: outputs in the model's pixel range.

    Args:
        source, driving: (B, 3, H, W) in [0, 1]. Pose-driven models ignore ``driving``; FOMM reads it.
        driving_pose: (B, 20) poses; Animo converts them to 70-d motion (anime domain), PIRenderer reads them raw.
        with_image: False stops after the warp (the official warp-only stage); FOMM always renders.

    Returns:
        ``warp_image`` (the warped source; FOMM: ``deformed``) and, with ``with_image``, ``image`` (the final frame),
        plus the model's own outputs.
    """
    source = to_model_range(source, model.config.input_range)
    if isinstance(model, FOMM):
        outputs = model(source, to_model_range(driving, model.config.input_range))
        return {**outputs, "warp_image": outputs["deformed"], "image": outputs["prediction"]}
    if isinstance(model, Animo):
        renderer, descriptor = model.check_domain("anime"), model.mapping_net(pose_to_motion(driving_pose))
    else:
        renderer, descriptor = model.renderer, model.mapping_net(driving_pose)
    outputs = renderer.render(renderer.encode_source(source), descriptor, with_image=with_image)
    if with_image:
        outputs["image"] = outputs["fake_image"]
    return outputs


@torch.no_grad()
def predict(model: HubModel, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The model's reenactment of a batch (``source``, ``driving``, ``driving_pose``) as [0, 1] images at its size."""
    device = next(model.parameters()).device
    outputs = reenact(model, batch["source"].to(device), batch["driving"].to(device), batch["driving_pose"].to(device))
    image = from_model_range(outputs["image"], model.config.input_range).float().cpu()
    if image.shape[-2:] != batch["driving"].shape[-2:]:
        image = F.interpolate(image, size=batch["driving"].shape[-2:], mode="bilinear", antialias=True).clamp(0, 1)
    return image
