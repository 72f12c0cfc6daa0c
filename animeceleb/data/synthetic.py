"""Procedural anime heads whose appearance is driven exactly by the 20-d AnimeCeleb pose (SPEC 0.3).

A character is a frozen set of style parameters (`SyntheticCharacter`); `render` draws it in one pose. Every part is
a polygon in *face coordinates* (head-radius units, origin at the head centre, x right, y down) that lies on a 3D head
(facial parts on the face surface, hair at its own depth). The pose's pitch/roll/yaw rotate that head and a mild
perspective projects it: a 2.5D layered head, so turning moves near parts more than far ones and the face outline is
the silhouette of the rotated surface (not an image rotation). Each of the 17 morphs deforms only the part it names.

Speed: the geometry of one image is collected first and projected in a single vectorised pass; pose-independent
hair geometry is cached per character; OpenCV fills the polygons with anti-aliased edges directly at the target size.
Own work of this project, MIT licence.
"""

from __future__ import annotations

import colorsys
import contextlib
import math
import multiprocessing
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from animeceleb.data.layout import OfficialLayoutWriter, encode_png, folder_name, frame_name
from animeceleb.errors import InputError
from animeceleb.pose import ANGLE_RANGE, ANGLES, POSE_DIM, POSE_GROUPS, Pose, pose_index, validate_poses

Color = tuple[int, int, int]

HAIR_LENGTHS = ("short", "bob", "medium", "long")
BANG_STYLES = ("spiky", "straight", "parted", "swept")
ACCESSORIES = ("none", "ribbon", "clip", "cat_ears", "headband", "flower")
COLLARS = ("crew", "sailor", "shirt")
PARTS = ("eye_left", "eye_right", "brows", "mouth")  # regions reported by `part_boxes`

_SHIFT = 4  # OpenCV fixed-point bits: vertices are placed with 1/16 pixel precision
_ONE = 1 << _SHIFT
_AA = cv2.LINE_AA
_CENTER = (0.5, 0.41)  # head centre as a fraction of the image size
_RADIUS = 0.25  # cranium radius as a fraction of the image size
_FOCAL = 7.0  # camera distance in head radii: a mild perspective
_PIVOT = np.array([0.0, 0.35, 0.0])  # the head turns about a point near the top of the neck
_WHITE = (255, 255, 255)
_LASH = (40, 28, 40)


# --------------------------------------------------------------------------------------------------------------------
# Character


@dataclass(frozen=True)
class SyntheticCharacter:
    """Style parameters of one procedural anime character (JSON-safe; ``to_dict``/``from_dict`` round-trip).

    Lengths are in head radii, positions relative to the head centre (y down).
    """

    skin: Color
    hair: Color
    iris: Color
    clothes: Color
    accent: Color
    face_width: float  # cheek half-width
    chin: float  # chin height below the head centre
    chin_roundness: float  # 0 pointed .. 1 round
    eye_y: float  # eye line below the head centre
    eye_spacing: float  # eye centre distance from the face midline
    eye_width: float
    eye_height: float
    eye_tilt: float  # outer corners up (+) or down (-), in eye heights
    iris_size: float  # iris half-width relative to the eye half-width
    lash: float  # upper lash thickness
    lower_lash: bool
    brow_gap: float  # distance from the eye top to the brow
    brow_thickness: float
    mouth_y: float
    mouth_width: float  # half-width of the neutral mouth
    nose: int  # 0 dot, 1 line, 2 shadow
    blush: float  # 0 none .. 1 strong
    hair_length: str  # one of HAIR_LENGTHS
    bangs: str  # one of BANG_STYLES
    bang_count: int
    bang_length: float
    bang_seed: int  # seeds the irregularity of the strands
    sidelock_length: float  # 0 none, else tip height below the head centre
    twin_tails: bool
    buns: bool
    ahoge: bool
    accessory: str  # one of ACCESSORIES
    collar: str  # one of COLLARS

    @classmethod
    def random(cls, rng: np.random.Generator) -> SyntheticCharacter:
        """Draw a random character; the same generator state always gives the same character."""
        hair_length = str(rng.choice(HAIR_LENGTHS, p=[0.2, 0.25, 0.3, 0.25]))
        long_hair = hair_length in ("medium", "long")
        short_lock = float(rng.choice([0.0, rng.uniform(0.75, 1.25)], p=[0.2, 0.8]))
        return cls(
            skin=_random_skin(rng),
            hair=_random_hair(rng),
            iris=_hsv(rng.uniform(0, 1), rng.uniform(0.45, 0.9), rng.uniform(0.45, 0.85)),
            clothes=_hsv(rng.uniform(0, 1), rng.uniform(0.15, 0.7), rng.uniform(0.3, 0.95)),
            accent=_hsv(rng.uniform(0, 1), rng.uniform(0.55, 0.9), rng.uniform(0.7, 1.0)),
            face_width=float(rng.uniform(0.84, 0.94)),
            chin=float(rng.uniform(1.0, 1.12)),
            chin_roundness=float(rng.uniform(0.0, 1.0)),
            eye_y=float(rng.uniform(0.3, 0.36)),
            eye_spacing=float(rng.uniform(0.38, 0.45)),
            eye_width=float(rng.uniform(0.33, 0.4)),
            eye_height=float(rng.uniform(0.36, 0.46)),
            eye_tilt=float(rng.uniform(-0.08, 0.14)),
            iris_size=float(rng.uniform(0.5, 0.64)),
            lash=float(rng.uniform(0.045, 0.075)),
            lower_lash=bool(rng.random() < 0.6),
            brow_gap=float(rng.uniform(0.1, 0.17)),
            brow_thickness=float(rng.uniform(0.025, 0.045)),
            mouth_y=float(rng.uniform(0.76, 0.82)),
            mouth_width=float(rng.uniform(0.085, 0.12)),
            nose=int(rng.integers(0, 3)),
            blush=float(rng.choice([0.0, rng.uniform(0.3, 0.8)], p=[0.4, 0.6])),
            hair_length=hair_length,
            bangs=str(rng.choice(BANG_STYLES)),
            bang_count=int(rng.integers(5, 9)),
            bang_length=float(rng.uniform(-0.08, 0.06)),
            bang_seed=int(rng.integers(0, 2**31)),
            sidelock_length=float(rng.uniform(1.1, 2.2)) if long_hair else short_lock,
            twin_tails=bool(rng.random() < 0.15 and not long_hair),
            buns=bool(rng.random() < 0.1),
            ahoge=bool(rng.random() < 0.35),
            accessory=str(rng.choice(ACCESSORIES, p=[0.35, 0.2, 0.15, 0.1, 0.1, 0.1])),
            collar=str(rng.choice(COLLARS)),
        )

    def to_dict(self) -> dict:
        """Plain JSON-safe dict of the parameters."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> SyntheticCharacter:
        """Inverse of ``to_dict``; unknown or missing keys raise ``InputError``."""
        known = {field.name for field in fields(cls)}
        if set(values) != known:
            raise InputError(
                f"character fields must be exactly {sorted(known)}; unknown {sorted(set(values) - known)}, "
                f"missing {sorted(known - set(values))}"
            )
        colors = {"skin", "hair", "iris", "clothes", "accent"}
        return cls(**{key: tuple(value) if key in colors else value for key, value in values.items()})


def _hsv(h: float, s: float, v: float) -> Color:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return (round(r * 255), round(g * 255), round(b * 255))


def _random_skin(rng: np.random.Generator) -> Color:
    tones = [(255, 234, 220), (255, 225, 205), (252, 214, 190), (240, 196, 160), (206, 150, 112), (150, 100, 74)]
    base = np.array(tones[rng.choice(len(tones), p=[0.3, 0.3, 0.2, 0.1, 0.06, 0.04])], dtype=float)
    return tuple(int(v) for v in np.clip(base + rng.normal(0, 4, 3), 0, 255))


def _random_hair(rng: np.random.Generator) -> Color:
    natural = [(40, 34, 44), (92, 60, 44), (150, 96, 60), (246, 220, 150), (226, 226, 236), (180, 60, 50)]
    if rng.random() < 0.35:
        base = np.array(natural[rng.integers(len(natural))], dtype=float)
        return tuple(int(v) for v in np.clip(base + rng.normal(0, 8, 3), 0, 255))
    return _hsv(rng.uniform(0, 1), rng.uniform(0.3, 0.75), rng.uniform(0.45, 0.95))


def _shade(color: Color, value: float, saturation: float = 1.0) -> Color:
    """The colour with its HSV value and saturation scaled (clamped)."""
    h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in color))
    return _hsv(h, min(1.0, s * saturation), min(1.0, v * value))


def _mix(a: Color, b: Color, t: float) -> Color:
    return tuple(round(x * (1 - t) + y * t) for x, y in zip(a, b, strict=True))


@dataclass(frozen=True)
class _Palette:
    """Colours derived from a character."""

    skin: Color
    skin_shadow: Color
    skin_line: Color
    hair: Color
    hair_shadow: Color
    hair_light: Color
    hair_line: Color
    iris: Color
    iris_dark: Color
    iris_light: Color
    lid_shadow: Color
    mouth: Color = (150, 50, 60)
    tongue: Color = (240, 130, 140)
    blush: Color = (255, 120, 130)


@lru_cache(maxsize=1024)
def _palette(c: SyntheticCharacter) -> _Palette:
    iris_dark = _mix(_shade(c.iris, 0.45, 1.2), (20, 10, 30), 0.3)
    return _Palette(
        skin=c.skin,
        skin_shadow=_mix(_shade(c.skin, 0.93, 1.2), (235, 130, 130), 0.06),
        skin_line=_mix(_shade(c.skin, 0.45, 1.6), (90, 40, 40), 0.4),
        hair=c.hair,
        hair_shadow=_shade(c.hair, 0.78, 1.1),
        hair_light=_mix(_shade(c.hair, 1.25, 0.7), _WHITE, 0.35),
        hair_line=_mix(_shade(c.hair, 0.42, 1.2), (40, 25, 35), 0.45),
        iris=c.iris,
        iris_dark=iris_dark,
        iris_light=_mix(_shade(c.iris, 1.3, 0.8), _WHITE, 0.25),
        lid_shadow=_mix(iris_dark, (120, 110, 160), 0.5),
    )


# --------------------------------------------------------------------------------------------------------------------
# Poses


def sample_poses(rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw ``n`` poses (n, 20) like the dataset: sparse morph combinations and angles within +-20 degrees.

    Each group (eyes, brows, mouth) is active with probability 0.6 and then sets one of its morphs to a uniform
    weight; a quarter of the active eye groups set a second eye morph (e.g. a wink on half-lidded eyes). Each angle
    is uniform in [-20, 20] degrees.
    """
    poses = np.zeros((n, POSE_DIM), dtype=np.float32)
    rows = np.arange(n)
    for group in ("eyes", "brows", "mouth"):
        columns = np.array([pose_index(name) for name in POSE_GROUPS[group]])
        active = rng.random(n) < 0.6
        chosen = columns[rng.integers(0, len(columns), n)]
        poses[rows[active], chosen[active]] = rng.uniform(0.0, 1.0, n)[active]
        if group == "eyes":
            extra = active & (rng.random(n) < 0.25)
            second = columns[rng.integers(0, len(columns), n)]
            weight = rng.uniform(0.0, 1.0, n)
            poses[rows[extra], second[extra]] = np.maximum(poses[rows[extra], second[extra]], weight[extra])
    poses[:, ANGLES] = rng.uniform(-ANGLE_RANGE, ANGLE_RANGE, (n, 3))
    return poses


NAMED_POSES: dict[str, Pose] = {
    "neutral": Pose.neutral(),
    "happy": Pose.from_dict({"eyes_smile": 1.0, "mouth_a": 0.6, "mouth_smile": 0.5, "head_roll": 8.0}),
    "wink": Pose.from_dict({"eye_close_left": 1.0, "mouth_cat": 1.0, "brows_up": 0.5, "head_roll": -8.0}),
    "surprised": Pose.from_dict({"eyes_wide": 1.0, "brows_up": 1.0, "mouth_o": 1.0, "head_pitch": -10.0}),
    "angry": Pose.from_dict({"brows_angry": 1.0, "eyes_half": 0.5, "mouth_frown": 1.0, "head_pitch": 10.0}),
    "turn_talk": Pose.from_dict({"mouth_e": 1.0, "brows_sad": 0.6, "head_yaw": 20.0, "head_pitch": 5.0}),
}


# --------------------------------------------------------------------------------------------------------------------
# Projection


class _Head:
    """Maps face coordinates to pixels for one character and pose: lift onto the head surface, rotate, project.

    The face is a stack of horizontal cross-sections: at height y an elliptic arc of half-width ``width(y)`` and
    depth ``depth(y)`` around ``z = offset(y)`` (the jaw narrows and comes forward toward the chin). Facial parts
    sit on that surface and the face outline is its silhouette, so both turn consistently.
    """

    def __init__(self, character: SyntheticCharacter, pose: np.ndarray, size: int) -> None:
        pitch, roll, yaw = np.radians(pose[ANGLES].astype(np.float64))
        cy, sy = math.cos(yaw), math.sin(yaw)
        cp, sp = math.cos(pitch), math.sin(pitch)
        cr, sr = math.cos(roll), math.sin(roll)
        # Image frame: x right, y down, z toward the viewer. Positive yaw moves the nose to the image's left,
        # positive pitch moves it down, positive roll turns the head counter-clockwise on screen (SPEC 0.3).
        yaw_m = np.array([[cy, 0, -sy], [0, 1, 0], [sy, 0, cy]])
        pitch_m = np.array([[1, 0, 0], [0, cp, sp], [0, -sp, cp]])
        roll_m = np.array([[cr, sr, 0], [-sr, cr, 0], [0, 0, 1]])
        self.unrolled = pitch_m @ yaw_m
        self.rotation = roll_m @ self.unrolled
        self.scale = _RADIUS * size
        self.center = np.array([_CENTER[0] * size, _CENTER[1] * size])
        self.character = character

    def project(self, points: np.ndarray) -> np.ndarray:
        """Pixel coordinates (N, 2) of 3D head points (N, 3) in face units."""
        turned = (points - _PIVOT) @ self.rotation.T + _PIVOT
        perspective = _FOCAL / (_FOCAL - turned[:, 2:3])
        return self.center + turned[:, :2] * perspective * self.scale

    def surface_depth(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """z of the face surface (with a small nose bump) under face points."""
        width, offset, depth = self.cross_section(y)
        across = np.sqrt(np.clip(1.0 - (x / width) ** 2, 0.0, None))
        nose = 0.12 * np.exp(-((x / 0.08) ** 2) - ((y - 0.57) / 0.09) ** 2)
        return offset + depth * across + nose

    def cross_section(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Half-width, z offset and depth of the face cross-section at height ``y``."""
        c = self.character
        t = np.clip((y - 0.2) / (c.chin - 0.2), 0.0, 1.0)  # 0 above the jaw, 1 at the chin
        jaw = (1 - t ** (1.6 + 1.6 * c.chin_roundness)) ** (0.75 + 0.3 * c.chin_roundness)
        temple = 0.9 + 0.1 * np.clip((y + 0.6) / 0.7, 0.0, 1.0)
        width = c.face_width * np.where(y < 0.2, temple, jaw) + 1e-3
        return width, 0.45 * t**1.4, 0.95 - 0.5 * t**2

    def face_outline(self) -> np.ndarray:
        """The face silhouette for this pose (N, 3): the two extreme points of every cross-section."""
        rows = np.concatenate([_TEMPLE_ROWS, 0.2 + (self.character.chin - 0.2) * _JAW_STEPS])
        width, offset, depth = self.cross_section(rows)
        x = width[:, None] * _SECTION_COS
        z = offset[:, None] + depth[:, None] * _SECTION_SIN
        points = np.stack(np.broadcast_arrays(x, rows[:, None], z), axis=-1)  # (rows, angles, 3)
        across = (points - _PIVOT) @ self.unrolled[0]  # image x before the in-plane roll
        index = np.arange(len(rows))
        right, left = points[index, across.argmax(axis=1)], points[index, across.argmin(axis=1)]
        return np.concatenate([right, left[::-1]])

    def px(self, length: float | np.ndarray) -> float | np.ndarray:
        """A length in head radii as pixels."""
        return length * self.scale


_TEMPLE_ROWS = np.linspace(-0.6, 0.2, 5)[:-1]
_JAW_STEPS = 1 - (1 - np.linspace(0.0, 1.0, 12)) ** 1.5  # jaw rows, denser toward the chin
_SECTION_ANGLES = np.linspace(-0.6, math.pi + 0.6, 25)
_SECTION_COS, _SECTION_SIN = np.cos(_SECTION_ANGLES), np.sin(_SECTION_ANGLES)


class _Sketch:
    """The face-coordinate geometry of one image, projected to pixels in one vectorised pass.

    Shapes are added as ``surface`` (on the face, ``lift`` toward the viewer), ``solid`` (explicit depth) or
    ``flat`` (the unrotated body); each call returns a key into the list that ``project`` returns. An optional tag
    groups shapes into the regions of `part_boxes`.
    """

    def __init__(self) -> None:
        self._xy: list[np.ndarray] = []
        self._lift: list[float] = []  # per shape: the lift (surface), the depth (solid with one depth) or 0
        self._depths: list[tuple[int, np.ndarray]] = []  # (shape, per-point depths) of solids with varying depth
        self._mode: list[int] = []  # 0 surface, 1 solid, 2 flat
        self.tags: dict[str, list[int]] = {}

    def _add(self, xy: np.ndarray, z: np.ndarray | float, mode: int, tag: str | None) -> int:
        key = len(self._xy)
        self._xy.append(xy)
        if isinstance(z, np.ndarray):
            self._depths.append((key, z))
            z = 0.0
        self._lift.append(z)
        self._mode.append(mode)
        if tag is not None:
            self.tags.setdefault(tag, []).append(key)
        return key

    def surface(self, xy: np.ndarray, lift: float = 0.0, tag: str | None = None) -> int:
        return self._add(xy, lift, 0, tag)

    def solid(self, xy: np.ndarray, z: np.ndarray | float, tag: str | None = None) -> int:
        return self._add(xy, z, 1, tag)

    def flat(self, xy: np.ndarray) -> int:
        return self._add(xy, 0.0, 2, None)

    def project(self, head: _Head) -> list[np.ndarray]:
        """Fixed-point pixel coordinates (int32, ``_SHIFT`` fractional bits) of every shape, in order of adding."""
        lengths = [len(xy) for xy in self._xy]
        ends = np.cumsum(lengths).tolist()
        starts = [0, *ends[:-1]]
        xy = np.concatenate(self._xy)
        z = np.repeat(self._lift, lengths)
        for key, depths in self._depths:
            z[starts[key] : ends[key]] = depths
        mode = np.repeat(self._mode, lengths)
        on_surface = mode == 0
        z[on_surface] += head.surface_depth(xy[on_surface, 0], xy[on_surface, 1])
        pixels = head.project(np.concatenate([xy, z[:, None]], axis=1))
        flat = mode == 2
        pixels[flat] = head.center + xy[flat] * head.scale
        fixed = np.round(pixels * _ONE).astype(np.int32)
        return [fixed[a:b] for a, b in zip(starts, ends, strict=True)]


# --------------------------------------------------------------------------------------------------------------------
# Drawing primitives


class _Canvas:
    """An RGB uint8 image (or a patch of one) with anti-aliased polygon drawing, plus an optional alpha mask that
    collects the character's silhouette. Points are fixed-point pixel coordinates of the whole image."""

    def __init__(self, pixels: np.ndarray, mask: np.ndarray | None = None, origin: tuple[int, int] = (0, 0)):
        self.pixels = pixels
        self.mask = mask
        self.origin = origin
        self._offset = np.array(origin, dtype=np.int32) * _ONE

    def _local(self, points: np.ndarray) -> list[np.ndarray]:
        return [points - self._offset if self.origin != (0, 0) else points]

    def fill(self, points: np.ndarray, color: Color, silhouette: bool = False) -> None:
        """Fill a polygon; ``silhouette`` shapes also extend the alpha mask."""
        local = self._local(points)
        cv2.fillPoly(self.pixels, local, color, _AA, _SHIFT)
        if silhouette and self.mask is not None:
            cv2.fillPoly(self.mask, local, 255, _AA, _SHIFT)

    def line(self, points: np.ndarray, color: Color, width: float, closed: bool = False) -> None:
        cv2.polylines(self.pixels, self._local(points), closed, color, max(1, round(width)), _AA, _SHIFT)

    def patch(self, points: np.ndarray, margin: int = 2) -> _Canvas | None:
        """A copy of the region around ``points`` to draw into and ``paste`` back (None when off-image)."""
        h, w = self.pixels.shape[:2]
        x0, y0 = (points.min(axis=0) >> _SHIFT) - margin - self.origin
        x1, y1 = (points.max(axis=0) >> _SHIFT) + margin + 1 - self.origin
        x0, y0, x1, y1 = max(int(x0), 0), max(int(y0), 0), min(int(x1), w), min(int(y1), h)
        if x1 <= x0 or y1 <= y0:
            return None
        return _Canvas(self.pixels[y0:y1, x0:x1].copy(), None, (x0 + self.origin[0], y0 + self.origin[1]))

    def paste(self, patch: _Canvas, clip: np.ndarray | None = None, opacity: float = 1.0) -> None:
        """Put a patch back, only inside polygon ``clip`` (if given) and mixed with ``opacity``."""
        x0, y0 = patch.origin[0] - self.origin[0], patch.origin[1] - self.origin[1]
        h, w = patch.pixels.shape[:2]
        region = self.pixels[y0 : y0 + h, x0 : x0 + w]
        weight = np.full((h, w), opacity, dtype=np.float32)
        if clip is not None:
            mask = np.zeros((h, w), dtype=np.uint8)
            cv2.fillPoly(mask, patch._local(clip), 255, _AA, _SHIFT)
            weight *= mask * np.float32(1 / 255)
        weight = weight[..., None]
        region[...] = (region + (patch.pixels - region.astype(np.float32)) * weight + 0.5).astype(np.uint8)


def _ribbon(points: np.ndarray, widths: np.ndarray | float) -> np.ndarray:
    """Polygon of a stroke of per-point ``widths`` along a polyline (N, 2)."""
    tangent = np.empty_like(points)
    tangent[1:-1] = points[2:] - points[:-2]
    tangent[0], tangent[-1] = points[1] - points[0], points[-1] - points[-2]
    tangent /= np.sqrt((tangent**2).sum(axis=1, keepdims=True)) + 1e-9
    half = np.broadcast_to(np.asarray(widths, dtype=np.float64) / 2, (len(points),))[:, None]
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1) * half
    return np.concatenate([points + normal, (points - normal)[::-1]])


@lru_cache(maxsize=32)
def _bezier_weights(n: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)
    return np.stack([(1 - t) ** 2, 2 * t * (1 - t), t**2], axis=1)


def _bezier(p0: Sequence[float], p1: Sequence[float], p2: Sequence[float], n: int = 8) -> np.ndarray:
    """Points of a quadratic Bezier curve (n, 2), end points included."""
    return _bezier_weights(n) @ np.array([p0, p1, p2], dtype=np.float64)


@lru_cache(maxsize=32)
def _unit_circle(n: int) -> np.ndarray:
    t = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 20) -> np.ndarray:
    return _unit_circle(n) * (rx, ry) + (cx, cy)


def _morphs(pose: np.ndarray, *names: str) -> list[float]:
    return [float(pose[pose_index(name)]) for name in names]


# --------------------------------------------------------------------------------------------------------------------
# Parts. Each adds its geometry to the sketch and returns a function that draws it once projected, so a whole
# image is projected in one pass. Parts are listed back to front in `_PARTS`.

_Draw = Callable[[_Canvas, list[np.ndarray]], None]


def _freeze(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Mark cached arrays read-only."""
    for array in arrays:
        array.setflags(write=False)
    return arrays


@lru_cache(maxsize=256)
def _back_hair_shape(c: SyntheticCharacter) -> tuple[np.ndarray, np.ndarray]:
    """Hair behind the head (N, 2) and its depths: the cranium plus a curtain whose length depends on the style."""
    bottom = {"short": 0.55, "bob": 1.0, "medium": 1.6, "long": 2.6}[c.hair_length]
    width = {"short": 1.08, "bob": 1.2, "medium": 1.22, "long": 1.3}[c.hair_length]
    rng = np.random.default_rng(c.bang_seed + 1)
    angles = np.linspace(math.pi * 1.12, math.pi * -0.12, 27)
    crown = np.stack([1.1 * np.cos(angles), -1.1 * np.sin(angles)], axis=1)
    right = _bezier(crown[-1], (width * 1.08, 0.3), (width, bottom), 10)
    count = 5 if c.hair_length != "short" else 3
    xs = np.linspace(width, -width, 2 * count + 1)
    ys = bottom - np.where(np.arange(xs.size) % 2 == 1, 0.0, rng.uniform(0.1, 0.22, xs.size))
    if c.hair_length == "bob":  # the bob curls in under the jaw
        ys -= 0.3 * (1 - (xs / width) ** 2)
    left = _bezier((-width, bottom), (-width * 1.08, 0.3), crown[0], 10)
    outline = np.concatenate([crown, right, np.stack([xs, ys], axis=1)[1:-1], left])
    # The curtain hangs behind the neck, so it moves less than the face when the head turns.
    return _freeze(outline, np.where(outline[:, 1] > 0.0, -0.35, 0.0))


@lru_cache(maxsize=256)
def _tails_and_buns(c: SyntheticCharacter) -> list[tuple[np.ndarray, float]]:
    """Twin tails (tapered ribbons) and buns behind the head, with their depths."""
    shapes = []
    for side in (-1.0, 1.0):
        if c.twin_tails:
            spine = _bezier((side * 0.85, -0.7), (side * 1.9, -0.2), (side * 1.55, 1.9), 14)
            shapes.append((_freeze(_ribbon(spine, _TAIL_WIDTHS))[0], -0.3))
        if c.buns:
            shapes.append((_ellipse(side * 0.72, -0.88, 0.36, 0.34, 24), -0.1))
    return shapes


_TAIL_WIDTHS = np.linspace(0.5, 0.05, 14) * (1 - 0.5 * np.linspace(0, 1, 14) ** 3)


def _back_hair(sketch: _Sketch, head: _Head, c: SyntheticCharacter, pal: _Palette, pose: np.ndarray) -> _Draw:
    extras = [sketch.solid(shape, z) for shape, z in _tails_and_buns(c)]
    hair = sketch.solid(*_back_hair_shape(c))

    def draw(canvas: _Canvas, px: list[np.ndarray]) -> None:
        line = head.px(0.02)
        for key in extras:
            canvas.fill(px[key], pal.hair, silhouette=True)
            canvas.line(px[key], pal.hair_line, line, closed=True)
        canvas.fill(px[hair], pal.hair_shadow, silhouette=True)
        canvas.line(px[hair], pal.hair_line, line, closed=True)

    return draw


def _body(sketch: _Sketch, head: _Head, c: SyntheticCharacter, pal: _Palette, pose: np.ndarray) -> _Draw:
    """Shoulders, collar and neck: static, only the head turns."""
    shoulders = sketch.flat(_SHOULDERS)
    neck = sketch.flat(_NECK)
    collar = [sketch.flat(shape) for shape in _COLLARS[c.collar]]

    def draw(canvas: _Canvas, px: list[np.ndarray]) -> None:
        canvas.fill(px[shoulders], c.clothes, silhouette=True)
        canvas.line(px[shoulders][1:-1], _shade(c.clothes, 0.5), head.px(0.02))
        canvas.fill(px[neck], pal.skin, silhouette=True)
        if c.collar == "crew":
            canvas.fill(px[collar[0]], _shade(c.clothes, 0.7))
            return
        for key in collar[:2]:
            canvas.fill(px[key], (248, 248, 251))
            canvas.line(px[key], (150, 150, 160), head.px(0.015), closed=True)
        if c.collar == "sailor":
            for key in collar[2:4]:
                canvas.fill(px[key], c.accent)
            canvas.fill(px[collar[4]], c.accent)

    return draw


_SHOULDERS = np.array(
    [[-0.33, 1.45], [-1.1, 1.62], [-1.75, 1.85], [-2.2, 2.4], [2.2, 2.4], [1.75, 1.85], [1.1, 1.62], [0.33, 1.45]]
)
_NECK = np.array([[-0.3, 0.5], [-0.3, 1.35], [-0.2, 1.62], [0.2, 1.62], [0.3, 1.35], [0.3, 0.5]])
_MIRROR = np.array([-1.0, 1.0])
_SAILOR_FLAP = np.array([[0.0, 1.85], [0.3, 1.4], [1.2, 1.6], [0.9, 2.0]])
_SAILOR_STRIPE = _ribbon(np.array([[0.36, 1.47], [1.1, 1.66]]), 0.04)
_SHIRT_FLAP = np.array([[0.02, 1.72], [0.32, 1.4], [0.55, 1.55], [0.35, 1.8]])
_COLLARS = {
    "crew": [_ribbon(_bezier((-0.36, 1.43), (0.0, 1.75), (0.36, 1.43), 10), 0.06)],
    "shirt": [_SHIRT_FLAP * _MIRROR, _SHIRT_FLAP],
    "sailor": [
        _SAILOR_FLAP * _MIRROR,
        _SAILOR_FLAP,
        _SAILOR_STRIPE * _MIRROR,
        _SAILOR_STRIPE,
        np.array([[0.0, 1.85], [-0.25, 1.75], [-0.22, 2.0], [0.0, 1.9], [0.22, 2.0], [0.25, 1.75]]),
    ],
}


def _ears(sketch: _Sketch, head: _Head, c: SyntheticCharacter, pal: _Palette, pose: np.ndarray) -> _Draw:
    ears = [sketch.solid(_ellipse(side * (c.face_width + 0.02), 0.32, 0.12, 0.2, 16), -0.05) for side in (-1, 1)]

    def draw(canvas: _Canvas, px: list[np.ndarray]) -> None:
        for key in ears:
            canvas.fill(px[key], pal.skin, silhouette=True)
            canvas.line(px[key], pal.skin_line, head.px(0.015), closed=True)

    return draw


@lru_cache(maxsize=256)
def _bang_shadow(c: SyntheticCharacter) -> np.ndarray:
    """The band of shadow the bangs cast on the forehead, kept inside the face's width at each height."""
    edge = _bang_edge(c)[0]
    band = np.concatenate([edge + (0.0, 0.07), edge[::-1] - (0.0, 0.3)])
    width = _Head(c, np.zeros(POSE_DIM), 1).cross_section(band[:, 1])[0]
    band[:, 0] = np.clip(band[:, 0], -width, width)
    return _freeze(band)[0]


def _face(sketch: _Sketch, head: _Head, c: SyntheticCharacter, pal: _Palette, pose: np.ndarray) -> _Draw:
    """Skin, jaw line, the shadows under the chin and under the bangs, and blush."""
    outline = head.face_outline()
    face = sketch.solid(outline[:, :2], outline[:, 2])
    half = len(outline) // 2
    jaw = outline[half - 9 : half + 9]
    # The chin's shadow falls on the neck: the jaw moved down, kept within the neck's width.
    chin_shadow = sketch.solid(jaw[:, :2] + (0.0, 0.16), jaw[:, 2])
    shadow = sketch.surface(_bang_shadow(c), 0.06)
    blush = []
    if c.blush > 0:
        blush = [
            sketch.surface(_ellipse(side * (c.eye_spacing + 0.04), c.eye_y + 0.3, 0.15, 0.065, 16)) for side in _MIRROR
        ]

    def draw(canvas: _Canvas, px: list[np.ndarray]) -> None:
        neck = (head.center[0] + head.px(0.3) * _MIRROR) * _ONE
        chin = px[chin_shadow].copy()
        chin[:, 0] = np.clip(chin[:, 0], int(neck[0]), int(neck[1]))
        canvas.fill(chin, pal.skin_shadow)
        canvas.fill(px[face], pal.skin, silhouette=True)
        canvas.line(px[face][half - 9 : half + 9], pal.skin_line, head.px(0.018))
        canvas.fill(px[shadow], pal.skin_shadow)
        for key in blush:
            patch = canvas.patch(px[key])
            if patch is not None:
                patch.fill(px[key], pal.blush)
                canvas.paste(patch, opacity=0.35 * c.blush)

    return draw


_NOSES = (
    _ellipse(0.0, 0.58, 0.018, 0.014, 8),
    _ribbon(np.array([[0.0, 0.53], [0.02, 0.59], [-0.01, 0.6]]), np.array([0.005, 0.018, 0.006])),
    np.array([[0.0, 0.5], [0.05, 0.6], [-0.02, 0.61]]),
)


def _nose(sketch: _Sketch, head: _Head, c: SyntheticCharacter, pal: _Palette, pose: np.ndarray) -> _Draw:
    nose = sketch.surface(_NOSES[c.nose])

    def draw(canvas: _Canvas, px: list[np.ndarray]) -> None:
        canvas.fill(px[nose], pal.skin_shadow if c.nose == 2 else pal.skin_line)

    return draw


# -- Eyes ------------------------------------------------------------------------------------------------------------

_LID_U = np.linspace(-1.0, 1.0, 17)  # across the eye: -1 inner corner, 1 outer corner
_LID_ROUND = 1 - _LID_U**2
_LASH_U = np.append(_LID_U[1:], 1.12)
_LASH_PROFILE = np.append(0.35 + 0.75 * (_LID_U[1:] + 1) / 2, 0.2)


def _eye_lids(pose: np.ndarray, side: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Upper and lower lid heights over ``_LID_U`` (in eye heights, down positive) and the iris scale.

    ``side`` is +1 for the character's left eye (on the image's right) and -1 for the right eye.
    """
    closed = _morphs(pose, "eye_close_left" if side > 0 else "eye_close_right")[0]
    smile, wide, half = _morphs(pose, "eyes_smile", "eyes_wide", "eyes_half")
    upper = -0.62 * _LID_ROUND**0.55 - 0.1 * _LID_U - 0.08
    lower = 0.42 * _LID_ROUND**0.9
    # Half-lidded: the upper lid drops and flattens. Wide: both lids open further.
    upper = upper + half * 0.55 * (0.05 - upper) * _LID_ROUND**0.3
    upper = upper * (1 + 0.35 * wide) - 0.06 * wide
    lower = lower * (1 + 0.2 * wide)
    # Closing (wink or happy arcs): both lids meet on one line, a gentle droop or a ^ arc when smiling.
    shut = min(1.0, closed + smile)
    arc_share = smile / max(closed + smile, 1e-6)
    line = (1 - arc_share) * (0.3 + 0.1 * _LID_ROUND) + arc_share * (0.4 - 0.75 * _LID_ROUND**0.8)
    return upper + (line - upper) * shut, lower + (line - lower) * shut, 1 - 0.3 * wide


def _eye(sketch: _Sketch, c: SyntheticCharacter, pal: _Palette, pose: np.ndarray, side: float) -> _Draw:
    upper, lower, iris_scale = _eye_lids(pose, side)
    tag = "eye_left" if side > 0 else "eye_right"
    scale = np.array([side * c.eye_width / 2, c.eye_height])

    def to_face(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Eye coordinates (u across, v down in eye heights) to face coordinates."""
        return np.stack([u, v - c.eye_tilt * u], axis=1) * scale + (side * c.eye_spacing, c.eye_y)

    def place(points: np.ndarray) -> int:
        return sketch.surface(points, 0.02, tag)

    u = _LID_U
    opening = float(np.max(lower - upper))
    white = place(to_face(np.concatenate([u, u[::-1]]), np.concatenate([upper, lower[::-1]])))
    # Upper lash line: thicker toward the outer corner, with a small flick beyond it.
    lash_line = to_face(_LASH_U, np.append(upper[1:] - 0.03, upper[-1] - 0.16))
    lash = place(_ribbon(lash_line, c.lash * _LASH_PROFILE))
    details, lines = [], []
    if opening > 0.04:
        iris_w, iris_h = c.iris_size * iris_scale, 0.5 * iris_scale + 0.12
        ix, iy = -0.08, 0.06
        lid_shadow = np.stack([np.concatenate([u, u[::-1]]), np.concatenate([upper - 0.1, upper[::-1] + 0.16])], 1)
        shapes = [
            (_ellipse(ix, iy, iris_w, iris_h, 24), pal.iris_dark),
            (_ellipse(ix, iy + 0.06, iris_w * 0.8, iris_h * 0.82, 24), pal.iris),
            (_ellipse(ix, iy + iris_h * 0.5, iris_w * 0.6, iris_h * 0.35, 16), pal.iris_light),
            (_ellipse(ix, iy + 0.02, iris_w * 0.38, iris_h * 0.42, 16), pal.iris_dark),
            (lid_shadow, pal.lid_shadow),
            (_ellipse(ix - iris_w * 0.35, iy - iris_h * 0.3, 0.13, 0.12, 12), _WHITE),
            (_ellipse(ix + iris_w * 0.4, iy + iris_h * 0.45, 0.06, 0.05, 10), _WHITE),
        ]
        placed = to_face(*np.concatenate([shape for shape, _ in shapes]).T)
        ends = np.cumsum([len(shape) for shape, _ in shapes])
        details = [
            (place(placed[end - len(shape) : end]), color) for (shape, color), end in zip(shapes, ends, strict=True)
        ]
        if c.lower_lash:
            keep = u > 0.1
            width = 0.012 * min(1.0, opening * 3)
            lines.append((place(_ribbon(to_face(u[keep], lower[keep] + 0.02), width)), pal.hair_line))
    if opening > 0.3:  # the double-lid crease
        lines.append((place(_ribbon(to_face(u[4:14], upper[4:14] - 0.22), 0.01)), pal.skin_line))

    def draw(canvas: _Canvas, px: list[np.ndarray]) -> None:
        if details:
            patch = canvas.patch(px[white])
            if patch is not None:
                patch.fill(px[white], (252, 252, 255))
                for key, color in details:
                    patch.fill(px[key], color)
                canvas.paste(patch, clip=px[white])
        for key, color in lines:
            canvas.fill(px[key], color)
        canvas.fill(px[lash], _LASH)

    return draw


def _eyes(sketch: _Sketch, head: _Head, c: SyntheticCharacter, pal: _Palette, pose: np.ndarray) -> _Draw:
    draws = [_eye(sketch, c, pal, pose, side) for side in _MIRROR]

    def draw(canvas: _Canvas, px: list[np.ndarray]) -> None:
        for eye in draws:
            eye(canvas, px)

    return draw


# -- Brows -----------------------------------------------------------------------------------------------------------

_BROW_U = np.linspace(-1.0, 1.0, 9)
_BROW_INNER = (1 - _BROW_U) / 2  # 1 at the inner end, 0 at the outer end
_BROW_TAPER = np.linspace(1.0, 0.35, 9)


def _brows(sketch: _Sketch, head: _Head, c: SyntheticCharacter, pal: _Palette, pose: np.ndarray) -> _Draw:
    """Brows are drawn over the bangs (an anime convention), so their morphs always show."""
    up, down, angry, sad = _morphs(pose, "brows_up", "brows_down", "brows_angry", "brows_sad")
    u, inner = _BROW_U, _BROW_INNER
    y = c.eye_y - 0.62 * c.eye_height - c.brow_gap - 0.05 * (1 - u**2) - 0.03 * u - 0.13 * up + 0.09 * down
    y = y + angry * (0.13 * inner - 0.05 * (1 - inner)) - sad * (0.12 * inner - 0.05 * (1 - inner))
    brows = []
    for side in _MIRROR:
        x = side * (c.eye_spacing - 0.02 + u * c.eye_width * 0.55)
        brows.append(sketch.surface(_ribbon(np.stack([x, y], axis=1), c.brow_thickness * _BROW_TAPER), 0.1, "brows"))

    def draw(canvas: _Canvas, px: list[np.ndarray]) -> None:
        for key in brows:
            canvas.fill(px[key], pal.hair_line)

    return draw


# -- Mouth -----------------------------------------------------------------------------------------------------------

# Per vowel: half-width scale, upper edge height and lower edge depth (in mouth half-widths), teeth shown.
_VOWELS = {
    "mouth_a": (1.15, 0.2, 1.25, 0.0),
    "mouth_i": (1.45, 0.12, 0.4, 1.0),
    "mouth_u": (0.6, 0.35, 0.55, 0.0),
    "mouth_e": (1.25, 0.15, 0.75, 0.6),
    "mouth_o": (0.8, 0.65, 0.95, 0.0),
}
_VOWEL_TABLE = np.array(list(_VOWELS.values()))
_MOUTH_U = np.linspace(-1.0, 1.0, 21)
_MOUTH_ROUND = 1 - _MOUTH_U**2
_MOUTH_TAPER = 0.4 + 0.6 * _MOUTH_ROUND**0.3


def _mouth(sketch: _Sketch, head: _Head, c: SyntheticCharacter, pal: _Palette, pose: np.ndarray) -> _Draw:
    smile, frown, cat = _morphs(pose, "mouth_smile", "mouth_frown", "mouth_cat")
    weights = np.array(_morphs(pose, *_VOWELS))
    opened = min(float(weights.sum()), 1.0)
    shares = weights / max(float(weights.sum()), 1.0)
    width_scale = 1.0 + float(shares @ (_VOWEL_TABLE[:, 0] - 1.0)) + 0.35 * smile + 0.25 * cat - 0.15 * frown
    top, depth, teeth = (float(shares @ _VOWEL_TABLE[:, k]) / max(opened, 1e-6) for k in (1, 2, 3))
    half_w = c.mouth_width * width_scale
    u = _MOUTH_U
    # Corners up for a smile, down for a frown; the cat mouth is an omega (corners and middle up, two dips).
    curve = (-0.6 * smile + 0.7 * frown) * u**2 + 0.2 * (smile - frown)
    curve = curve + cat * 0.3 * (-0.5 * np.cos(2 * math.pi * u) - 0.1 * u**2)

    def place(points: np.ndarray) -> int:
        return sketch.surface(points * half_w + (0.0, c.mouth_y), 0.02, "mouth")

    if opened < 0.05:
        line = place(_ribbon(np.stack([u, curve], axis=1), 0.02 / half_w * _MOUTH_TAPER))

        def draw_closed(canvas: _Canvas, px: list[np.ndarray]) -> None:
            canvas.fill(px[line], pal.skin_line)

        return draw_closed

    upper = curve - opened * top * _MOUTH_ROUND**0.7
    lower = curve + opened * depth * _MOUTH_ROUND**0.55
    outline = place(np.concatenate([np.stack([u, upper], 1), np.stack([u[::-1], lower[::-1]], 1)]))
    tongue = place(_ellipse(0.0, float(lower.max()) * 0.95, 0.55, 0.3 * max(float(lower.max() - upper.min()), 0.2)))
    band = np.concatenate([np.stack([u, upper], 1), np.stack([u[::-1], upper[::-1] + 0.22 * teeth * opened], 1)])
    teeth_key = place(band) if teeth > 0.05 else None

    def draw_open(canvas: _Canvas, px: list[np.ndarray]) -> None:
        patch = canvas.patch(px[outline])
        if patch is not None:
            patch.fill(px[outline], pal.mouth)
            patch.fill(px[tongue], pal.tongue)
            if teeth_key is not None:
                patch.fill(px[teeth_key], _WHITE)
            canvas.paste(patch, clip=px[outline])
        canvas.line(px[outline], pal.skin_line, head.px(0.015), closed=True)

    return draw_open


# -- Front hair and accessories --------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _bang_edge(c: SyntheticCharacter) -> tuple[np.ndarray, np.ndarray]:
    """The lower edge of the bangs (N, 2) from the right temple to the left one, and the notches between strands."""
    rng = np.random.default_rng(c.bang_seed)
    n = c.bang_count
    notch_x = np.linspace(1.02, -1.02, n + 1) + np.r_[0, rng.uniform(-0.05, 0.05, n - 1), 0]
    tip_base = 0.02 + c.bang_length
    notch_base = tip_base - 0.1 if c.bangs == "straight" else -0.32
    sweep = 0.12 * (1 if c.bang_seed % 2 else -1) if c.bangs == "swept" else 0.0
    notch_y = notch_base + rng.uniform(-0.06, 0.06, n + 1)
    notch_y[[0, -1]] = -0.15
    if c.bangs == "parted":
        notch_x[n // 2], notch_y[n // 2] = 0.0, -0.62
    points = []
    for i in range(n):
        (xa, ya), (xb, yb) = (notch_x[i], notch_y[i]), (notch_x[i + 1], notch_y[i + 1])
        mid = (xa + xb) / 2
        tip_y = tip_base + rng.uniform(-0.08, 0.06) - 0.25 * (mid / 1.05) ** 4  # shorter toward the temples
        lean = sweep + (0.05 * np.sign(mid) if c.bangs == "parted" else 0.0)
        tip = (mid + lean * (xa - xb) * 3, tip_y)
        points.append(_bezier((xa, ya), (xa - 0.02 * (xa - xb), (ya + tip_y) / 2 + 0.05), tip, 6)[:-1])
        points.append(_bezier(tip, (xb + 0.02 * (xa - xb), (yb + tip_y) / 2 + 0.05), (xb, yb), 6)[:-1])
    points.append(np.array([[notch_x[-1], notch_y[-1]]]))
    return _freeze(np.concatenate(points), np.stack([notch_x, notch_y], axis=1))


_CAP_ANGLES = np.linspace(math.pi * -0.08, math.pi * 1.08, 26)
_CAP = 1.1 * np.stack([np.cos(_CAP_ANGLES), -np.sin(_CAP_ANGLES)], axis=1)
_STRAND_WIDTH = np.linspace(0.03, 0.0, 5)
_SHINE_WIDTH = np.array([0.0, 0.05, 0.07, 0.05, 0.0])


@lru_cache(maxsize=256)
def _hair_details(c: SyntheticCharacter) -> tuple[list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
    """Strand lines rising from the notches (on the surface) and the glossy ring's dashes with their depths."""
    notches = _bang_edge(c)[1]
    strands = []
    for x, y in notches[1:-1]:
        strands.append(_ribbon(_bezier((x, y), (x * 1.05, y - 0.15), (x * 1.15, y - 0.32), 5), _STRAND_WIDTH))
    shine = []
    for start in np.linspace(0.28, 0.62, 4):
        a = np.linspace(start, start + 0.07, 5) * math.pi
        dash = _ribbon(np.stack([0.78 * np.cos(a), -0.78 * np.sin(a) - 0.05], axis=1), _SHINE_WIDTH)
        shine.append((dash, np.sqrt(np.clip(1.0 - (dash**2).sum(axis=1), 0, None)) + 0.05))
    return strands, shine


def _front_hair(sketch: _Sketch, head: _Head, c: SyntheticCharacter, pal: _Palette, pose: np.ndarray) -> _Draw:
    """The hair cap over the forehead down to the bangs, with strand lines and a glossy ring."""
    edge = sketch.surface(_bang_edge(c)[0], 0.08)
    cap = sketch.solid(_CAP, 0.0)
    strands, shine = _hair_details(c)
    strand_keys = [sketch.surface(strand, 0.08) for strand in strands]
    shine_keys = [sketch.solid(dash, z) for dash, z in shine]

    def draw(canvas: _Canvas, px: list[np.ndarray]) -> None:
        canvas.fill(np.concatenate([px[edge][::-1], px[cap]]), pal.hair, silhouette=True)
        canvas.line(px[edge], pal.hair_line, head.px(0.02))
        for key in strand_keys:
            canvas.fill(px[key], pal.hair_shadow)
        for key in shine_keys:
            canvas.fill(px[key], pal.hair_light)
        canvas.line(px[cap], pal.hair_line, head.px(0.02))

    return draw


@lru_cache(maxsize=256)
def _sidelock_shapes(c: SyntheticCharacter) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per side: the lock outline and its depths, and a shading strand and its depths."""
    shapes = []
    for side in _MIRROR:
        x0 = side * c.face_width
        tip = (x0 + side * 0.02, c.sidelock_length)
        outer = _bezier((x0 + side * 0.08, -0.45), (x0 + side * 0.3, 0.25), tip, 10)
        inner = _bezier(tip, (x0 - side * 0.1, 0.3), (x0 - side * 0.2, -0.35), 10)
        lock = np.concatenate([outer, inner[1:]])
        strand = _ribbon(_bezier((x0, -0.2), (x0 + side * 0.06, 0.4), (tip[0], tip[1] - 0.15), 8), _LOCK_STRAND_WIDTH)
        lock_z, strand_z = (np.clip(0.3 - 0.15 * shape[:, 1], 0.0, None) for shape in (lock, strand))
        shapes.append(_freeze(lock, lock_z, strand, strand_z + 0.01))
    return shapes


_LOCK_STRAND_WIDTH = np.linspace(0.0, 0.025, 8)


def _sidelocks(sketch: _Sketch, head: _Head, c: SyntheticCharacter, pal: _Palette, pose: np.ndarray) -> _Draw:
    """Two locks framing the face from the temples, pointed at the tip."""
    keys = []
    if c.sidelock_length > 0:
        keys = [(sketch.solid(lock, z), sketch.solid(strand, zs)) for lock, z, strand, zs in _sidelock_shapes(c)]

    def draw(canvas: _Canvas, px: list[np.ndarray]) -> None:
        for lock, strand in keys:
            canvas.fill(px[lock], pal.hair, silhouette=True)
            canvas.line(px[lock], pal.hair_line, head.px(0.02))
            canvas.fill(px[strand], pal.hair_shadow)

    return draw


def _cat_ears(sketch: _Sketch, head: _Head, c: SyntheticCharacter, pal: _Palette, pose: np.ndarray) -> _Draw:
    """Cat ears rise behind the bangs."""
    keys = []
    if c.accessory == "cat_ears":
        for side in _MIRROR:
            ear = np.array([[side * 0.35, -0.95], [side * 0.78, -1.55], [side * 0.95, -0.6]])
            keys.append((sketch.solid(ear, -0.1), sketch.solid(ear * 0.75 + ear.mean(axis=0) * 0.25, -0.08)))

    def draw(canvas: _Canvas, px: list[np.ndarray]) -> None:
        for ear, inner in keys:
            canvas.fill(px[ear], pal.hair, silhouette=True)
            canvas.line(px[ear], pal.hair_line, head.px(0.02), closed=True)
            canvas.fill(px[inner], (250, 190, 200))

    return draw


_AHOGE = _ribbon(_bezier((0.05, -1.05), (0.35, -1.6), (-0.15, -1.42), 10), np.linspace(0.09, 0.0, 10))
_HEADBAND_ANGLES = np.linspace(0.12, 0.88, 24) * math.pi
_HEADBAND = _ribbon(np.stack([0.98 * np.cos(_HEADBAND_ANGLES), -0.98 * np.sin(_HEADBAND_ANGLES) - 0.05], axis=1), 0.11)
_HEADBAND_Z = np.sqrt(np.clip(1.1 - (_HEADBAND**2).sum(axis=1), 0, None)) + 0.05


@lru_cache(maxsize=256)
def _accessory_shapes(c: SyntheticCharacter) -> list[tuple[np.ndarray, np.ndarray | float, Color, Color | None]]:
    """(outline, depth, fill colour, line colour or None) of the accessory's pieces, back to front."""
    side = 1.0 if c.bang_seed % 3 else -1.0
    dark = _shade(c.accent, 0.55)
    shapes = []
    if c.accessory == "ribbon":
        center = np.array([side * 0.72, -0.78])
        for wing in _MIRROR:
            shapes.append((center + np.array([[0, 0], [wing * 0.3, -0.2], [wing * 0.33, 0.18]]), 0.3, c.accent, dark))
        shapes.append((_ellipse(*center, 0.08, 0.08, 10), 0.32, _shade(c.accent, 0.8), None))
    elif c.accessory == "clip":
        for k in range(2):
            bar = np.array([[side * (0.42 + 0.1 * k), -0.55], [side * (0.62 + 0.1 * k), -0.4]])
            shapes.append((_ribbon(bar, 0.05), 0.75, c.accent, None))
    elif c.accessory == "headband":
        shapes.append((_HEADBAND, _HEADBAND_Z, c.accent, None))
    elif c.accessory == "flower":
        center = np.array([side * 0.7, -0.72])
        for k in range(5):
            a = 2 * math.pi * k / 5
            petal = _ellipse(center[0] + 0.1 * math.cos(a), center[1] + 0.1 * math.sin(a), 0.1, 0.1, 10)
            shapes.append((petal, 0.3, c.accent, dark))
        shapes.append((_ellipse(*center, 0.06, 0.06, 10), 0.32, (255, 230, 120), None))
    return shapes


def _accessories(sketch: _Sketch, head: _Head, c: SyntheticCharacter, pal: _Palette, pose: np.ndarray) -> _Draw:
    """Ahoge, ribbon, hair clips, headband or flower, on top of the hair."""
    ahoge = sketch.solid(_AHOGE, 0.1) if c.ahoge else None
    shapes = [(sketch.solid(points, z), fill, line) for points, z, fill, line in _accessory_shapes(c)]

    def draw(canvas: _Canvas, px: list[np.ndarray]) -> None:
        if ahoge is not None:
            canvas.fill(px[ahoge], pal.hair, silhouette=True)
        for key, fill, line in shapes:
            canvas.fill(px[key], fill, silhouette=True)
            if line is not None:
                canvas.line(px[key], line, head.px(0.015), closed=True)

    return draw


_Part = Callable[[_Sketch, _Head, SyntheticCharacter, _Palette, np.ndarray], _Draw]
_PARTS: tuple[_Part, ...] = (
    _back_hair,
    _body,
    _ears,
    _face,
    _nose,
    _mouth,
    _eyes,
    _cat_ears,
    _front_hair,
    _sidelocks,
    _brows,
    _accessories,
)


# --------------------------------------------------------------------------------------------------------------------
# Public rendering API


def _prepare(character: SyntheticCharacter, pose: Pose | np.ndarray | Sequence[float], size: int):
    if size < 16:
        raise InputError(f"image size must be at least 16 pixels; got {size}")
    values = pose.to_array() if isinstance(pose, Pose) else validate_poses(pose)[0]
    head = _Head(character, values, size)
    sketch = _Sketch()
    draws = [part(sketch, head, character, _palette(character), values) for part in _PARTS]
    return head, sketch, draws


def render(
    character: SyntheticCharacter, pose: Pose | np.ndarray | Sequence[float], size: int = 256, *, rgba: bool = False
) -> np.ndarray:
    """Draw ``character`` in ``pose``: uint8 (size, size, 3) composited on white, or (size, size, 4) when ``rgba``.

    With ``rgba`` the alpha channel is the character mask and the colour is un-premultiplied, so compositing it on
    white (SPEC 6.4) gives the RGB image back (up to rounding on anti-aliased edges).
    """
    head, sketch, draws = _prepare(character, pose, size)
    pixels = sketch.project(head)
    canvas = _Canvas(np.full((size, size, 3), 255, dtype=np.uint8), np.zeros((size, size), np.uint8) if rgba else None)
    for draw in draws:
        draw(canvas, pixels)
    if canvas.mask is None:
        return canvas.pixels
    return _straight_rgba(canvas.pixels, canvas.mask)


def _straight_rgba(on_white: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Colour-over-white plus coverage to straight RGBA: c = (rgb - 255 (1 - a)) / a where 0 < a."""
    alpha = mask[..., None].astype(np.float32) / 255
    straight = (on_white - 255 * (1 - alpha)) / np.maximum(alpha, 1e-6)
    rgb = np.where(alpha > 0, np.clip(straight + 0.5, 0, 255), 255).astype(np.uint8)
    return np.concatenate([rgb, mask[..., None]], axis=2)


def part_boxes(
    character: SyntheticCharacter, pose: Pose | np.ndarray | Sequence[float], size: int = 256
) -> dict[str, tuple[int, int, int, int]]:
    """Pixel boxes ``(x0, y0, x1, y1)`` (exclusive ends) of the regions named in ``PARTS`` for this pose.

    Every pixel a morph changes lies in the box of the part it names (in the union of the boxes before and after).
    """
    head, sketch, _ = _prepare(character, pose, size)
    pixels = sketch.project(head)
    margin = 2  # anti-aliased edges and line widths
    boxes = {}
    for tag in PARTS:
        points = np.concatenate([pixels[key] for key in sketch.tags[tag]])
        low = ((points.min(axis=0) >> _SHIFT) - margin).clip(0, size)
        high = ((points.max(axis=0) >> _SHIFT) + margin + 1).clip(0, size)
        boxes[tag] = (int(low[0]), int(low[1]), int(high[0]), int(high[1]))
    return boxes


# --------------------------------------------------------------------------------------------------------------------
# Datasets and grids


def character_for(seed: int, identity: int) -> SyntheticCharacter:
    """The character of ``identity`` in the synthetic dataset made with ``seed``."""
    return SyntheticCharacter.random(np.random.default_rng([seed, identity]))


def poses_for(seed: int, identity: int, count: int) -> np.ndarray:
    """The ``count`` poses (count, 20) of ``identity`` in the synthetic dataset made with ``seed``."""
    return sample_poses(np.random.default_rng([seed, identity, 1]), count)


def _render_identity(job: tuple[int, int, int, int, tuple[int, ...]]) -> tuple[int, str, bytes, list]:
    """Render one identity's basis and missing frames as PNG bytes (runs in worker processes)."""
    seed, identity, count, size, missing = job
    character = character_for(seed, identity)
    poses = poses_for(seed, identity, count)
    basis = encode_png(render(character, Pose.neutral(), size, rgba=True))
    frames = [(index, encode_png(render(character, poses[index], size, rgba=True)), poses[index]) for index in missing]
    return identity, str(HAIR_LENGTHS.index(character.hair_length)), basis, frames


def write_synthetic_dataset(
    root: str | Path,
    *,
    identities: int,
    frames_per_identity: int,
    size: int = 256,
    seed: int = 0,
    test_every: int = 10,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Render a synthetic AnimeCeleb in the official layout (RGBA PNGs, exact pose labels); returns frames written.

    Identity ``i`` is always the same character with the same poses for a given ``seed``, so an interrupted run
    resumes where it stopped and two runs agree. Its cluster is the hair-length style; every ``test_every``-th
    identity goes to the test split (``splits/`` in the root; 0 puts all in train). ``progress(done, total)`` is
    called after each identity.
    """
    if identities < 1 or frames_per_identity < 1:
        raise InputError("identities and frames_per_identity must be at least 1")
    total = identities * frames_per_identity
    with OfficialLayoutWriter(root) as writer:
        test = {i for i in range(identities) if test_every and i % test_every == test_every - 1}
        writer.write_splits(set(range(identities)) - test, test)
        jobs = []
        for identity in range(identities):
            missing = tuple(
                index for index in range(frames_per_identity) if not writer.has(identity, frame_name(identity, index))
            )
            if missing:
                jobs.append((seed, identity, frames_per_identity, size, missing))
        done = total - sum(len(job[-1]) for job in jobs)
        if progress is not None:
            progress(done, total)
        with multiprocessing.Pool(workers) if workers > 1 else contextlib.nullcontext() as pool:
            results = pool.imap(_render_identity, jobs) if pool is not None else map(_render_identity, jobs)
            for identity, cluster, basis, frames in results:
                writer.write_basis(folder_name(frame_name(identity, 0)), basis)
                for index, image, pose in frames:
                    writer.write_frame(identity, cluster, frame_name(identity, index), image, pose)
                done += len(frames)
                if progress is not None:
                    progress(done, total)
    return sum(len(job[-1]) for job in jobs)


def render_grid(
    seed: int = 0, identities: int = 8, size: int = 192, poses: dict[str, Pose] | None = None, *, labels: bool = True
) -> np.ndarray:
    """An RGB grid: one row per character (identities 0.. of ``seed``), one column per named pose, labelled."""
    poses = NAMED_POSES if poses is None else poses
    rows = [
        np.concatenate([render(character_for(seed, identity), pose, size) for pose in poses.values()], axis=1)
        for identity in range(identities)
    ]
    grid = np.concatenate(rows, axis=0)
    if not labels:
        return grid
    band = np.full((max(16, size // 8), grid.shape[1], 3), 255, dtype=np.uint8)
    scale = band.shape[0] / 40
    for column, name in enumerate(poses):
        origin = (column * size + size // 20, int(band.shape[0] * 0.72))
        cv2.putText(band, name, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (60, 60, 60), max(1, round(scale * 2)), _AA)
    return np.concatenate([band, grid], axis=0)
