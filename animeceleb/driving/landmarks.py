"""68 facial landmarks -> head angles and expression measurements (``FaceFeatures``).

Landmarks follow the iBUG 300-W / dlib 68-point scheme, (x, y) in pixels. "Left" and "right" name the person's own
sides: the person's left eye (points 42-47) appears on the image's right in an unmirrored camera frame.

Head angles come from a perspective-n-point fit (``cv2.solvePnP``) of the rigid points (nose, eye corners) to a
generic 3D face, decomposed so that the SPEC 0.3 signs hold in image terms: positive yaw = the nose moves toward the
image's left edge, positive pitch = the face looks down, positive roll = counter-clockwise in the image. Lengths are
converted to millimetres of the generic face through the fitted distance, so they do not change with the face's size
in the frame. Eye openness is the eye aspect ratio of Soukupova and Cech (2016).
"""

from __future__ import annotations

import math
from dataclasses import astuple, dataclass

import cv2
import numpy as np

from animeceleb.errors import InputError

NUM_LANDMARKS = 68
RIGHT_EYE = tuple(range(36, 42))  # outer corner, two upper-lid points, inner corner, two lower-lid points
LEFT_EYE = tuple(range(42, 48))  # inner corner, two upper-lid points, outer corner, two lower-lid points
BROWS = tuple(range(17, 27))
MOUTH_CORNERS = (48, 54)
INNER_LIP_PAIRS = ((61, 67), (62, 66), (63, 65))  # upper / lower inner-lip points facing each other

# Generic adult face in millimetres: x toward the person's left (image right when facing the camera), y down,
# z away from the camera; origin between the inner eye corners. Only points that do not move with expressions.
GENERIC_FACE: dict[int, tuple[float, float, float]] = {
    27: (0.0, -1.0, -12.0),  # nose bridge, between the eyes
    28: (0.0, 12.0, -17.0),
    29: (0.0, 24.0, -23.0),
    30: (0.0, 36.0, -32.0),  # nose tip
    31: (-15.0, 43.0, -6.0),  # nostril wings and base
    32: (-7.0, 44.0, -13.0),
    33: (0.0, 47.0, -15.0),
    34: (7.0, 44.0, -13.0),
    35: (15.0, 43.0, -6.0),
    36: (-45.0, 0.0, 12.0),  # right eye, outer corner
    39: (-19.0, 3.0, 0.0),  # right eye, inner corner
    42: (19.0, 3.0, 0.0),  # left eye, inner corner
    45: (45.0, 0.0, 12.0),  # left eye, outer corner
}
_PNP_INDICES = list(GENERIC_FACE)
_PNP_MODEL = np.array([GENERIC_FACE[i] for i in _PNP_INDICES], dtype=np.float64)

# Landmark index of each point's mirror image (left <-> right), for selfie-mirrored driving.
MIRROR_INDEX: tuple[int, ...] = (
    *range(16, -1, -1),  # jaw
    *range(26, 16, -1),  # brows
    27, 28, 29, 30, 35, 34, 33, 32, 31,  # nose
    45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40,  # eyes
    54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55,  # outer lips
    64, 63, 62, 61, 60, 67, 66, 65,  # inner lips
)  # fmt: skip


@dataclass(frozen=True)
class FaceFeatures:
    """What the pose is made from, measured on one face.

    Attributes:
        head_pitch, head_roll, head_yaw: degrees, SPEC 0.3 signs (down, counter-clockwise, toward the image's left).
        eye_open_left, eye_open_right: eye aspect ratio of the person's own left / right eye (about 0.3 open, 0 shut).
        brow_height: mm from the eye line up to the brows (mean of both).
        mouth_open: mm between the inner lips.
        mouth_width: mm from mouth corner to mouth corner.
    """

    head_pitch: float
    head_roll: float
    head_yaw: float
    eye_open_left: float
    eye_open_right: float
    brow_height: float
    mouth_open: float
    mouth_width: float

    def to_array(self) -> np.ndarray:
        """The features as float64 (8,), in field order."""
        return np.array(astuple(self), dtype=np.float64)

    @classmethod
    def from_array(cls, values: np.ndarray) -> FaceFeatures:
        """Inverse of ``to_array``."""
        return cls(*(float(v) for v in values))


def measure_face(landmarks: np.ndarray, frame_size: tuple[int, int], *, mirror: bool = False) -> FaceFeatures:
    """Measure head angles, eyes, brows and mouth from 68 landmarks (68, 2) of a frame of size (height, width).

    ``mirror=True`` measures the horizontally mirrored face (a selfie view): yaw and roll change sign and the eyes
    swap sides.
    """
    points = _check_landmarks(landmarks)
    if mirror:
        points = mirror_landmarks(points, frame_size[1])
    pitch, roll, yaw, mm_per_pixel = estimate_head_pose(points, frame_size)
    down = _eye_line_normal(points)
    eye_mid = (points[list(RIGHT_EYE)].mean(axis=0) + points[list(LEFT_EYE)].mean(axis=0)) / 2
    brow_height = float(-((points[list(BROWS)] - eye_mid) @ down).mean())
    mouth_open = float(np.mean([np.linalg.norm(points[a] - points[b]) for a, b in INNER_LIP_PAIRS]))
    mouth_width = float(np.linalg.norm(points[MOUTH_CORNERS[0]] - points[MOUTH_CORNERS[1]]))
    return FaceFeatures(
        head_pitch=pitch,
        head_roll=roll,
        head_yaw=yaw,
        eye_open_left=eye_aspect_ratio(points[list(LEFT_EYE)]),
        eye_open_right=eye_aspect_ratio(points[list(RIGHT_EYE)]),
        brow_height=brow_height * mm_per_pixel,
        mouth_open=mouth_open * mm_per_pixel,
        mouth_width=mouth_width * mm_per_pixel,
    )


def estimate_head_pose(landmarks: np.ndarray, frame_size: tuple[int, int]) -> tuple[float, float, float, float]:
    """Head (pitch, roll, yaw) in degrees by PnP against ``GENERIC_FACE``, and the face's millimetres per pixel.

    The camera is a pinhole with focal length = frame width and the principal point at the centre. The rotation is
    decomposed as R = Rz(roll) Ry(yaw) Rx(pitch) (roll outermost), so rotating the image about its centre changes
    only the roll, by exactly the rotation angle.
    """
    height, width = frame_size
    focal = float(width)
    camera = np.array([[focal, 0, (width - 1) / 2], [0, focal, (height - 1) / 2], [0, 0, 1]], dtype=np.float64)
    image_points = np.ascontiguousarray(landmarks[_PNP_INDICES], dtype=np.float64)
    found, rotation_vector, translation = cv2.solvePnP(_PNP_MODEL, image_points, camera, None, flags=cv2.SOLVEPNP_SQPNP)
    if not found or translation[2, 0] <= 0:
        raise InputError("these landmarks do not fit a face (head pose estimation failed)")
    rotation, _ = cv2.Rodrigues(rotation_vector)
    yaw = math.degrees(math.asin(float(np.clip(-rotation[2, 0], -1.0, 1.0))))
    pitch = math.degrees(math.atan2(rotation[2, 1], rotation[2, 2]))
    # Rz rotates x toward y, which is clockwise on screen (y points down): counter-clockwise roll is its negative.
    roll = -math.degrees(math.atan2(rotation[1, 0], rotation[0, 0]))
    return pitch, roll, yaw, float(translation[2, 0]) / focal


def eye_aspect_ratio(eye: np.ndarray) -> float:
    """(|p1-p5| + |p2-p4|) / (2 |p0-p3|) for the 6 points of one eye: lid opening relative to eye width."""
    vertical = np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4])
    return float(vertical / (2 * max(np.linalg.norm(eye[0] - eye[3]), 1e-6)))


def mirror_landmarks(landmarks: np.ndarray, width: int) -> np.ndarray:
    """The landmarks of the horizontally flipped frame: x -> width - 1 - x, and left/right points swapped."""
    mirrored = _check_landmarks(landmarks)[list(MIRROR_INDEX)].copy()
    mirrored[:, 0] = width - 1 - mirrored[:, 0]
    return mirrored


def _eye_line_normal(points: np.ndarray) -> np.ndarray:
    """Unit vector perpendicular to the line through the eye centres, pointing down the face."""
    across = points[list(LEFT_EYE)].mean(axis=0) - points[list(RIGHT_EYE)].mean(axis=0)
    across = across / max(np.linalg.norm(across), 1e-6)
    return np.array([-across[1], across[0]])


def _check_landmarks(landmarks: np.ndarray) -> np.ndarray:
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape != (NUM_LANDMARKS, 2) or not np.isfinite(points).all():
        raise InputError(f"expected {NUM_LANDMARKS} finite (x, y) landmarks; got an array of shape {points.shape}")
    return points
