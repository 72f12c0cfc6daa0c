"""A contact sheet: the first rendered images of an identity in a grid, composited over white."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

MAX_IMAGES = 16  # the basis and the first 15 poses


def write_contact_sheet(images: Sequence[Path], out: Path, *, columns: int = 4, cell: int = 128) -> Path:
    """Tile up to ``MAX_IMAGES`` RGBA images (cells of ``cell`` pixels) over white into the PNG ``out``."""
    images = list(images)[:MAX_IMAGES]
    columns = max(1, min(columns, len(images)))
    rows = max(1, math.ceil(len(images) / columns))
    sheet = Image.new("RGBA", (columns * cell, rows * cell), (255, 255, 255, 255))
    for number, path in enumerate(images):
        with Image.open(path) as image:
            tile = image.convert("RGBA").resize((cell, cell), Image.Resampling.LANCZOS)
        sheet.alpha_composite(tile, ((number % columns) * cell, (number // columns) * cell))
    partial = out.with_name(f".{out.name}.partial.png")
    sheet.convert("RGB").save(partial)
    os.replace(partial, out)
    return out
