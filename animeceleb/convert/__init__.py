"""Official checkpoints -> our model folders (``python -m animeceleb convert``)."""

from animeceleb.convert.core import FAMILIES, convert_checkpoint, read_state_dict

__all__ = ["FAMILIES", "convert_checkpoint", "read_state_dict"]
