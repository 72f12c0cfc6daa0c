"""Comparison grids: one column per image kind (source, driving ground truth, each model), one row per example."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from animeceleb.inference import tensor_to_images

HEADER = 22  # pixels of the title row
GAP = 4  # white pixels between tiles


def image_grid(columns: Sequence[torch.Tensor], titles: Sequence[str]) -> np.ndarray:
    """Tile columns of images (each (N, 3, H, W) in [0, 1], same shapes) under their titles: uint8 (H', W', 3)."""
    tiles = [tensor_to_images(column) for column in columns]  # each (N, H, W, 3)
    rows, height, width = tiles[0].shape[:3]
    grid = np.full((HEADER + rows * (height + GAP), len(tiles) * (width + GAP) - GAP, 3), 255, np.uint8)
    for col, (images, title) in enumerate(zip(tiles, titles, strict=True)):
        left = col * (width + GAP)
        scale = min(0.5, 0.9 * width / max(1, cv2.getTextSize(title, cv2.FONT_HERSHEY_SIMPLEX, 1, 1)[0][0]))
        cv2.putText(grid, title, (left + 2, HEADER - 7), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
        for row, image in enumerate(images):
            top = HEADER + row * (height + GAP)
            grid[top : top + height, left : left + width] = image
    return grid


def save_grid(path: str | Path, columns: Sequence[torch.Tensor], titles: Sequence[str]) -> Path:
    """``image_grid`` written as a PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image_grid(columns, titles)).save(path, optimize=True)
    return path
