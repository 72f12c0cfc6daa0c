"""Fast inference: ``Animator`` (source cached, batched poses) and image conversions."""

from animeceleb.inference.animator import Animator
from animeceleb.inference.images import composite_on_white, image_to_tensor, tensor_to_images

__all__ = ["Animator", "composite_on_white", "image_to_tensor", "tensor_to_images"]
