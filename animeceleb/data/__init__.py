"""AnimeCeleb data: the dataset on ``datasets``, training pairs, and procedural anime heads with exact poses.

- `load_animeceleb`: the official layout, a parquet folder or a Hub id -> ``datasets.Dataset`` / ``DatasetDict``
- `export_parquet`: the official layout -> parquet shards with embedded images
- `AnimeCelebPairs`, `SyntheticPairs`: torch datasets of same-identity (source, driving) pairs
- `SyntheticCharacter`, `render`, `sample_poses`: the procedural renderer (`animeceleb.data.synthetic`)
- `OfficialLayoutWriter`: writes the official layout (used by the renderer and the Blender annotation tool)
"""

from animeceleb.data.layout import OfficialLayoutWriter
from animeceleb.data.loader import animeceleb_features, export_parquet, load_animeceleb, push_to_hub
from animeceleb.data.pairs import AnimeCelebPairs, SyntheticPairs
from animeceleb.data.synthetic import (
    NAMED_POSES,
    SyntheticCharacter,
    part_boxes,
    render,
    render_grid,
    sample_poses,
    write_synthetic_dataset,
)
from animeceleb.data.transforms import ColorJitter, composite_on_white

__all__ = [
    "NAMED_POSES",
    "AnimeCelebPairs",
    "ColorJitter",
    "OfficialLayoutWriter",
    "SyntheticCharacter",
    "SyntheticPairs",
    "animeceleb_features",
    "composite_on_white",
    "export_parquet",
    "load_animeceleb",
    "part_boxes",
    "push_to_hub",
    "render",
    "render_grid",
    "sample_poses",
    "write_synthetic_dataset",
]
