"""Real-face test clips built from ``skimage.data.astronaut()``: a 640x480 face-centred frame, rotations, flips;
saved as mp4, or as y4m for a fake browser camera."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import cv2
import imageio.v2 as imageio
import numpy as np
from skimage import data

FRAME_SIZE = (480, 640)  # height, width: a webcam frame
FACE_CENTRE = (225, 125)  # (x, y) of the astronaut's face in the 512x512 original


@lru_cache(maxsize=1)
def astronaut_frame() -> np.ndarray:
    """A 640x480 RGB frame with the astronaut's face in the middle, about 180 pixels wide (read-only)."""
    height, width = FRAME_SIZE
    padded = np.pad(data.astronaut(), ((200, 200), (200, 200), (0, 0)), mode="edge")
    x, y = FACE_CENTRE[0] + 200, FACE_CENTRE[1] + 200
    crop = padded[y - height // 4 : y + height // 4, x - width // 4 : x + width // 4]
    frame = cv2.resize(crop, (width, height), interpolation=cv2.INTER_CUBIC)
    frame.setflags(write=False)
    return frame


def rotated(frame: np.ndarray, degrees: float) -> np.ndarray:
    """The frame rotated counter-clockwise (as seen on screen) about its centre; borders replicated."""
    height, width = frame.shape[:2]
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), degrees, 1.0)
    return cv2.warpAffine(frame, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)


def flipped(frame: np.ndarray) -> np.ndarray:
    """The frame mirrored left-right."""
    return np.ascontiguousarray(frame[:, ::-1])


def blank(frame: np.ndarray) -> np.ndarray:
    """A frame of the same size with no face: a smooth grey gradient."""
    return np.broadcast_to(np.linspace(40, 200, frame.shape[1], dtype=np.uint8)[None, :, None], frame.shape).copy()


def save_clip(path: Path, frames: Sequence[np.ndarray], fps: float = 25.0) -> Path:
    """Encode frames as an h264 mp4 with imageio (independent of the project's own writer)."""
    imageio.mimwrite(path, list(frames), fps=fps, codec="libx264", quality=9, macro_block_size=1)
    return path


def save_y4m(path: Path, frames: Sequence[np.ndarray], fps: int = 25) -> Path:
    """Write RGB frames as an uncompressed YUV4MPEG2 (4:2:0) clip, the format Chromium's fake camera plays."""
    height, width = frames[0].shape[:2]
    with path.open("wb") as handle:
        handle.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            handle.write(b"FRAME\n")
            handle.write(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2YUV_I420).tobytes())
    return path
