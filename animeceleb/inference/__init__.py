"""Fast inference: ``Animator`` (source cached, batched poses) and image conversions."""

from animeceleb.inference.animator import Animator
from animeceleb.inference.images import image_to_tensor, tensor_to_images

__all__ = ["Animator", "image_to_tensor", "tensor_to_images"]
