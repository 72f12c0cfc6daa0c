"""Fast inference: ``Animator`` (source cached, batched poses), ``LiveSession`` (webcam puppet), image conversions."""

from animeceleb.inference.animator import Animator
from animeceleb.inference.images import image_to_tensor, tensor_to_images
from animeceleb.inference.live import LiveFrame, LiveSession, Recording

__all__ = ["Animator", "LiveFrame", "LiveSession", "Recording", "image_to_tensor", "tensor_to_images"]
