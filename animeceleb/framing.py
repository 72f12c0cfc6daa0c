"""Frame any portrait like the training data, and paste the animated head back into the full picture.

The models only know heads framed like their training images: the canonical framing (``CANONICAL``, measured on the
``animeceleb.data.synthetic`` renderer and documented in docs/framing.md). ``Framing`` is the similarity transform
(zoom + offset, no rotation) from a source picture to that frame, built from a ``HeadBox`` (head centre and radius in
source pixels) given by the user or found from the alpha channel of a transparent source (``auto_head_box``).
``Framing.crop`` gives the image the model sees; ``PasteBack`` maps animated frames back through the inverse
transform and blends them into the original with a feathered head mask, so everything outside the head keeps the
original pixels and resolution. Own work of this project, MIT licence.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from animeceleb.errors import InputError
from animeceleb.imaging import as_rgb_or_rgba


@dataclass(frozen=True)
class CanonicalFraming:
    """Where the head sits in a training frame, as fractions of the frame side (x of the width, y of the height).

    Attributes:
        head_center: (x, y) of the cranium centre.
        head_radius: cranium radius (about half the head width at the temples, hair excluded).
        eye_line, mouth_line, chin: heights of the eye centres, the mouth and the chin tip (neutral pose).
        alpha_top, alpha_width: the silhouette's head band as ``auto_head_box`` measures it on an RGBA frame.
    """

    head_center: tuple[float, float] = (0.5, 0.41)
    head_radius: float = 0.25
    eye_line: float = 0.488
    mouth_line: float = 0.635
    chin: float = 0.676
    alpha_top: float = 0.140
    alpha_width: float = 0.570


CANONICAL = CanonicalFraming()


@dataclass(frozen=True)
class HeadBox:
    """Where the head is in a source picture, in source pixels: its centre ``(x, y)`` and radius ``scale``.

    The radius is the canonical one: the guide ellipse's half-width (half the head width at the temples).
    """

    x: float
    y: float
    scale: float

    def __post_init__(self) -> None:
        if not all(math.isfinite(value) for value in (self.x, self.y, self.scale)) or self.scale <= 0:
            raise InputError(f"a head box needs finite x, y and a positive scale (head radius); got {self}")

    @classmethod
    def parse(cls, text: str) -> HeadBox:
        """A box from ``"x,y,scale"`` (pixels of the source picture), as typed on the command line."""
        parts = re.split(r"[,\s]+", text.strip())
        try:
            x, y, scale = (float(part) for part in parts)
        except ValueError:
            raise InputError(
                f"a head box is 'x,y,scale' (head centre and head radius in source pixels); got {text!r}"
            ) from None
        return cls(x, y, scale)


@dataclass(frozen=True)
class Framing:
    """The similarity transform source -> frame: ``frame = source * zoom + offset``.

    Coordinates are continuous pixels (pixel ``i`` spans ``[i, i + 1)``), so a transform and its inverse are exact.

    Attributes:
        zoom: frame pixels per source pixel.
        offset: (x, y) translation in frame pixels.
        frame_size: (height, width) of the frame the model sees.
        source_size: (height, width) of the source picture.
    """

    zoom: float
    offset: tuple[float, float]
    frame_size: tuple[int, int]
    source_size: tuple[int, int]

    @classmethod
    def from_box(
        cls,
        box: HeadBox,
        source_size: tuple[int, int],
        frame_size: tuple[int, int],
        canonical: CanonicalFraming = CANONICAL,
    ) -> Framing:
        """The framing that puts ``box``'s head where ``canonical`` puts it in a frame of ``frame_size``."""
        if not (0 <= box.x <= source_size[1] and 0 <= box.y <= source_size[0]):
            raise InputError(
                f"the head centre ({box.x:g}, {box.y:g}) lies outside the {source_size[1]}x{source_size[0]} picture"
            )
        if box.scale > 2 * max(source_size[:2]):
            raise InputError(
                f"the head radius {box.scale:g} is far larger than the picture ({source_size[1]}x{source_size[0]})"
            )
        height, width = frame_size
        zoom = canonical.head_radius * height / box.scale
        cx, cy = canonical.head_center[0] * width, canonical.head_center[1] * height
        return cls(zoom, (cx - zoom * box.x, cy - zoom * box.y), tuple(frame_size), tuple(source_size[:2]))

    def to_frame(self, points: np.ndarray) -> np.ndarray:
        """Source points (N, 2) as (x, y) -> frame points."""
        return np.asarray(points, dtype=np.float64) * self.zoom + np.asarray(self.offset)

    def to_source(self, points: np.ndarray) -> np.ndarray:
        """Frame points (N, 2) as (x, y) -> source points (the inverse transform, for paste-back)."""
        return (np.asarray(points, dtype=np.float64) - np.asarray(self.offset)) / self.zoom

    def source_rect(self) -> tuple[float, float, float, float]:
        """The frame's area in source pixels: (x0, y0, x1, y1), possibly beyond the picture."""
        height, width = self.frame_size
        (x0, y0), (x1, y1) = self.to_source(np.array([[0.0, 0.0], [width, height]]))
        return x0, y0, x1, y1

    def crop(self, image: np.ndarray) -> np.ndarray:
        """The frame the model sees (uint8 frame_size x C): the source resampled with antialiasing.

        Areas beyond the picture are white for RGB sources (the training background) and transparent for RGBA.
        """
        image = as_rgb_or_rgba(image)
        if image.shape[:2] != self.source_size:
            raise InputError(f"this framing is for a {self.source_size} picture; got {image.shape[:2]}")
        x0, y0, x1, y1 = self.source_rect()
        # PIL resamples only inside the picture: pad it to hold the whole frame area (plus a pixel of margin)
        pad = [max(0, math.ceil(-y0)) + 1, max(0, math.ceil(y1 - image.shape[0])) + 1]
        pad += [max(0, math.ceil(-x0)) + 1, max(0, math.ceil(x1 - image.shape[1])) + 1]
        fill = 0 if image.shape[2] == 4 else 255
        padded = np.pad(image, ((pad[0], pad[1]), (pad[2], pad[3]), (0, 0)), constant_values=fill)
        box = (x0 + pad[2], y0 + pad[0], x1 + pad[2], y1 + pad[0])
        height, width = self.frame_size
        resized = Image.fromarray(padded).resize((width, height), Image.Resampling.BICUBIC, box=box)
        return np.array(resized)  # writable, as torch.from_numpy wants

    def frame_to_source_matrix(self) -> np.ndarray:
        """The 2x3 affine matrix mapping frame pixel indices to source pixel indices (OpenCV's centre convention)."""
        scale = 1 / self.zoom
        # continuous u = index + 0.5 on both sides: s = (q + 0.5 - offset) / zoom - 0.5
        shift = [(0.5 - self.offset[axis]) * scale - 0.5 for axis in (0, 1)]
        return np.array([[scale, 0.0, shift[0]], [0.0, scale, shift[1]]])


def frame_source(
    image: np.ndarray, box: HeadBox | None, frame_size: tuple[int, int], canonical: CanonicalFraming = CANONICAL
) -> Framing:
    """The framing of ``image`` for a model of ``frame_size``: by ``box``, or from the alpha channel when ``None``."""
    return Framing.from_box(box or auto_head_box(image, canonical), np.shape(image)[:2], frame_size, canonical)


def centred_box(source_size: tuple[int, int], canonical: CanonicalFraming = CANONICAL) -> HeadBox:
    """The head box of a picture already framed like a training image, its centred square taken as the frame
    (the longer side is cut): for a square picture the framing is a plain resize."""
    height, width = source_size[:2]
    side = min(height, width)
    left, top = (width - side) / 2, (height - side) / 2
    x, y = canonical.head_center
    return HeadBox(left + x * side, top + y * side, canonical.head_radius * side)


def auto_head_box(image: np.ndarray, canonical: CanonicalFraming = CANONICAL) -> HeadBox:
    """The head of a transparent (RGBA) character, found from its silhouette.

    The head band is the top of the silhouette: starting from the bounding box, the band begins at the first row
    at least 30 % as wide as the current head width (so an ahoge or cat ears do not count) and is half a head width
    tall; its horizontal extent is the next head width. The band's top, width and centre map to the canonical ones.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 4:
        raise InputError("auto framing needs a transparent (RGBA) picture; give a head box (x,y,scale) instead")
    solid = image[:, :, 3] > 127
    if not solid.any() or solid.all():
        raise InputError(
            "auto framing needs a character on a transparent background; this alpha channel is "
            f"{'empty' if not solid.any() else 'fully opaque'}; give a head box (x,y,scale) instead"
        )
    rows, cols = np.nonzero(solid)
    width = min(cols.max() - cols.min(), rows.max() - rows.min()) + 1
    row_counts = solid.sum(axis=1)
    for _ in range(4):  # converges in two or three steps
        top = int(np.argmax(row_counts >= 0.3 * width))
        band_cols = np.flatnonzero(solid[top : top + max(1, round(0.5 * width))].any(axis=0))
        width, center = band_cols[-1] - band_cols[0] + 1, (band_cols[0] + band_cols[-1] + 1) / 2
    radius = width * canonical.head_radius / canonical.alpha_width
    head_y = top + (canonical.head_center[1] - canonical.alpha_top) * width / canonical.alpha_width
    return HeadBox(float(center), float(head_y), float(radius))


def head_mask(frame_size: tuple[int, int], *, feather: float = 0.08) -> np.ndarray:
    """Float32 (H, W) mask in [0, 1] of the area paste-back replaces: an ellipse around the head, hair and some
    room to move, feathered over ``feather`` of the frame side and zero on the frame border."""
    height, width = frame_size
    ys, xs = (np.arange(height, dtype=np.float32) + 0.5) / height, (np.arange(width, dtype=np.float32) + 0.5) / width
    # head centre (0.5, 0.41), radius 0.25: the ellipse holds hair (to ~1.3 radii) and a 20 degree turn
    distance = np.sqrt(((xs[None, :] - 0.5) / 0.4) ** 2 + ((ys[:, None] - 0.43) / 0.43) ** 2)
    inside = np.clip((1 - distance) * 0.4 / feather, 0, 1)
    border = np.minimum(np.minimum(xs, 1 - xs)[None, :], np.minimum(ys, 1 - ys)[:, None])
    mask = inside * np.clip(border / feather, 0, 1)
    return (mask * mask * (3 - 2 * mask)).astype(np.float32)  # smoothstep: no visible edge of the feather


class PasteBack:
    """Blend animated frames back into the original picture (the inverse of ``Framing.crop``).

    The head mask is mapped to the picture once; each frame is resampled into the area it covers and blended there.
    Pixels where the mask is zero keep the original values exactly.
    """

    def __init__(self, original: np.ndarray, framing: Framing, *, feather: float = 0.08) -> None:
        self.original = as_rgb_or_rgba(original)
        self.framing = framing
        height, width = self.original.shape[:2]
        x0, y0, x1, y1 = framing.source_rect()
        self.window = (
            max(0, math.floor(x0)),
            max(0, math.floor(y0)),
            min(width, math.ceil(x1)),
            min(height, math.ceil(y1)),
        )
        left, top, right, bottom = self.window
        if right <= left or bottom <= top:
            raise InputError("the head box lies outside the picture; nothing to paste back")
        self.matrix = cv2.invertAffineTransform(framing.frame_to_source_matrix())
        self.matrix[:, 2] += self.matrix[:, :2] @ np.array([left, top], dtype=np.float64)  # window origin
        self.mask = self._to_window(head_mask(framing.frame_size, feather=feather), border_value=0)[:, :, None]
        self.changed = self.mask[:, :, 0] > 0

    def _to_window(self, frame: np.ndarray, border_value: float | None = None) -> np.ndarray:
        left, top, right, bottom = self.window
        border = cv2.BORDER_REPLICATE if border_value is None else cv2.BORDER_CONSTANT
        return cv2.warpAffine(
            frame,
            self.matrix,
            (right - left, bottom - top),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=border,
            borderValue=border_value or 0,
        )

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """The original picture with ``frame`` (frame_size, uint8 RGB or RGBA like the original) pasted back."""
        frame = np.asarray(frame)
        if frame.shape[:2] != self.framing.frame_size or frame.shape[2] != self.original.shape[2]:
            raise InputError(
                f"paste-back needs frames of {self.framing.frame_size} with {self.original.shape[2]} channels "
                f"like the picture; got {frame.shape}"
            )
        left, top, right, bottom = self.window
        result = self.original.copy()
        region = result[top:bottom, left:right]
        moved = self._to_window(frame).astype(np.float32)
        blended = region * (1 - self.mask) + moved * self.mask
        region[self.changed] = np.clip(blended[self.changed] + 0.5, 0, 255).astype(np.uint8)
        return result


def draw_guide(frame: np.ndarray, canonical: CanonicalFraming = CANONICAL) -> np.ndarray:
    """A copy of a frame (uint8 RGB/RGBA) with the canonical guide: head ellipse, eye line and mouth line."""
    guide = np.ascontiguousarray(as_rgb_or_rgba(frame)).copy()
    height, width = guide.shape[:2]
    color = (255, 64, 160, 255)[: guide.shape[2]]
    thickness = max(1, round(min(height, width) / 128))
    cx, cy = canonical.head_center[0] * width, canonical.head_center[1] * height
    radius = canonical.head_radius * height
    crown, chin = cy - radius, canonical.chin * height
    center = (round(cx), round((crown + chin) / 2))
    axes = (round(radius), round((chin - crown) / 2))
    cv2.ellipse(guide, center, axes, 0, 0, 360, color, thickness, cv2.LINE_AA)
    for line, half in ((canonical.eye_line, 0.8), (canonical.mouth_line, 0.35)):
        y = round(line * height)
        cv2.line(guide, (round(cx - half * radius), y), (round(cx + half * radius), y), color, thickness, cv2.LINE_AA)
    return guide
