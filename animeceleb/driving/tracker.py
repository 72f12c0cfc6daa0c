"""68 facial landmarks per video frame, fast enough for live driving on a CPU.

A face is first found with dlib's HOG detector on a downscaled frame. Afterwards the face is tracked: the detector
only searches a small window around the previous frame's landmarks, downscaled so the face is about 95 pixels wide
(about 2 ms instead of 15-40 ms for a whole frame), and the landmarks are fitted in the box it finds. When the window
holds no face (the face left, or a cut), the whole frame is searched again; a frame without a face gives ``None``.
Landmarks come from one of two backends, both offline:

- ``dlib`` (default): dlib's 68-point shape predictor, the model file shipped in the ``face-recognition-models``
  package (located through the installed package, never downloaded).
- ``face-alignment`` / ``face-alignment-3d``: the FAN networks of the ``face-alignment`` package (2D, or the 2D
  projection of its 3D landmarks). Their weights must already be in the torch hub cache; nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Protocol

import cv2
import numpy as np

from animeceleb.errors import CheckpointError, InputError

if TYPE_CHECKING:
    import dlib

logger = logging.getLogger(__name__)

BACKENDS: tuple[str, ...] = ("dlib", "face-alignment", "face-alignment-3d")
DLIB_MODEL_FILE = "shape_predictor_68_face_landmarks.dat"
FAN_NETWORKS = {"face-alignment": "2DFAN-4", "face-alignment-3d": "3DFAN-4"}  # keys of face_alignment's models_urls

WINDOW_MARGIN = 0.3  # the tracking window extends this fraction of the face size beyond the previous landmarks
WINDOW_FACE_PIXELS = 95  # the window is downscaled so the face is about this wide (the HOG window is 80 px)


class Landmarker(Protocol):
    """Fits 68 landmarks (68, 2) inside a face box (left, top, right, bottom) of an RGB frame and its grey copy."""

    def __call__(self, frame: np.ndarray, gray: np.ndarray, box: np.ndarray) -> np.ndarray: ...


class FaceTracker:
    """Finds and follows one face (the largest) through consecutive frames: ``points = tracker.track(frame)``.

    Args:
        backend: one of ``BACKENDS``.
        detect_width: frames are downscaled to this width to find a face (small faces fall back to full size);
            ``None`` searches at full resolution.
        use_tracking: search near the previous landmarks; ``False`` searches every whole frame (slower; for
            unrelated images).
        device: torch device of the face-alignment networks (``cpu``, ``cuda``).
    """

    def __init__(
        self, backend: str = "dlib", *, detect_width: int | None = 320, use_tracking: bool = True, device: str = "cpu"
    ) -> None:
        if backend not in BACKENDS:
            raise InputError(f"unknown landmark backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
        if detect_width is not None and detect_width < 80:
            raise InputError(f"detect_width must be at least 80 pixels (the detector's window); got {detect_width}")
        self.backend = backend
        self.detect_width = detect_width
        self.use_tracking = use_tracking
        self._detector = _dlib().get_frontal_face_detector()
        self._landmarker: Landmarker = DlibLandmarker() if backend == "dlib" else FanLandmarker(backend, device)
        self._previous: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the followed face (call between unrelated videos)."""
        self._previous = None

    def track(self, frame: np.ndarray) -> np.ndarray | None:
        """Landmarks (68, 2) float32 of the face in an RGB uint8 frame (H, W, 3), or ``None`` when there is none."""
        frame = _check_frame(frame)
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        box = None
        if self._previous is not None and self.use_tracking:
            box = self._detect_near(gray, self._previous)
            if box is None:
                logger.debug("face lost near its last position; searching the whole frame")
        if box is None:
            box = self._detect(gray)
        self._previous = None if box is None else self._landmarker(frame, gray, box).astype(np.float32)
        return self._previous

    def _detect(self, gray: np.ndarray) -> np.ndarray | None:
        """The largest face box in the frame: first on the downscaled frame, then at full size for small faces."""
        width = gray.shape[1]
        if self.detect_width is not None and width > self.detect_width:
            scale = self.detect_width / width
            small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            box = _largest_face(self._detector, small)
            if box is not None:
                return box / scale
        return _largest_face(self._detector, gray)

    def _detect_near(self, gray: np.ndarray, landmarks: np.ndarray) -> np.ndarray | None:
        """The face box in a window around the landmarks, searched at about ``WINDOW_FACE_PIXELS`` face width."""
        (left, top), (right, bottom) = landmarks.min(axis=0), landmarks.max(axis=0)
        size = max(right - left, bottom - top, 1.0)
        height, width = gray.shape
        left, top = int(max(left - WINDOW_MARGIN * size, 0)), int(max(top - WINDOW_MARGIN * size, 0))
        right, bottom = int(min(right + WINDOW_MARGIN * size, width)), int(min(bottom + WINDOW_MARGIN * size, height))
        if right - left < 16 or bottom - top < 16:
            return None
        scale = min(1.0, WINDOW_FACE_PIXELS / size)
        window = cv2.resize(gray[top:bottom, left:right], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        found = _largest_face(self._detector, window)
        return None if found is None else found / scale + np.array([left, top, left, top])


def _largest_face(detector: dlib.fhog_object_detector, gray: np.ndarray) -> np.ndarray | None:
    boxes = detector(np.ascontiguousarray(gray), 0)
    if len(boxes) == 0:
        return None
    best = max(boxes, key=lambda box: box.area())
    return np.array([best.left(), best.top(), best.right(), best.bottom()], dtype=np.float64)


def _dlib() -> ModuleType:
    """dlib, imported on first use: only face tracking needs it, so training and evaluation run where it is missing."""
    try:
        import dlib
    except ImportError as error:
        raise CheckpointError(
            "face tracking uses dlib's face detector, and dlib is not installed: pip install dlib-bin==20.0.1.post1"
        ) from error
    return dlib


def _check_frame(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise InputError(f"frames must be RGB uint8 arrays (H, W, 3); got {frame.dtype} {frame.shape}")
    return frame


def dlib_model_path() -> Path:
    """The 68-point shape predictor file inside the installed ``face-recognition-models`` package."""
    # find_spec locates the package without importing it (its __init__ needs pkg_resources, gone from setuptools).
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise CheckpointError(
            "the dlib landmark model comes from the face-recognition-models package, which is not installed: "
            "pip install face-recognition-models==0.3.0"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / DLIB_MODEL_FILE
    if not path.is_file():
        raise CheckpointError(f"{DLIB_MODEL_FILE} is missing from the face-recognition-models package at {path}")
    return path


@lru_cache(maxsize=1)
def _shape_predictor() -> dlib.shape_predictor:
    """The 100 MB model loads in about a second: once per process."""
    return _dlib().shape_predictor(str(dlib_model_path()))


class DlibLandmarker:
    """dlib's 68-point shape predictor (Kazemi and Sullivan 2014), on the grey frame."""

    def __init__(self) -> None:
        self._predictor = _shape_predictor()
        self._rectangle = _dlib().rectangle

    def __call__(self, frame: np.ndarray, gray: np.ndarray, box: np.ndarray) -> np.ndarray:
        rectangle = self._rectangle(*(int(round(v)) for v in box))
        shape = self._predictor(gray, rectangle)
        return np.array([(part.x, part.y) for part in shape.parts()], dtype=np.float32)


class FanLandmarker:
    """The FAN landmark network of ``face-alignment`` (Bulat and Tzimiropoulos 2017) on a given face box."""

    def __init__(self, backend: str, device: str) -> None:
        import face_alignment  # torch-based and slow to import: only for this backend

        network = FAN_NETWORKS[backend]
        weights = fan_weights_path(network)
        if not weights.is_file():
            url = face_alignment.api.models_urls[network]
            raise CheckpointError(
                f"the {backend} backend needs the {network} weights in the torch hub cache, at {weights}; nothing is "
                f"downloaded at run time. On a machine with internet, download {url} and copy it to that path (or "
                f"set TORCH_HOME to a folder holding hub/checkpoints/{weights.name}), or use --backend dlib"
            )
        types = face_alignment.LandmarksType
        kind = types.TWO_D if backend == "face-alignment" else types.TWO_HALF_D  # 3D: its 2D projection
        # The "folder" detector is a no-op: boxes come from our detector, so no detector weights are ever fetched.
        self._model = face_alignment.FaceAlignment(
            kind, device=device, face_detector="folder", flip_input=False, compile=False
        )

    def __call__(self, frame: np.ndarray, gray: np.ndarray, box: np.ndarray) -> np.ndarray:
        landmarks = self._model.get_landmarks_from_image(frame, detected_faces=[box.tolist()])
        return np.asarray(landmarks[0][:, :2], dtype=np.float32)


def fan_weights_path(network: str) -> Path:
    """Where ``face-alignment`` looks for a network's weights: ``<torch hub dir>/checkpoints/<file of its URL>``."""
    import face_alignment
    import torch

    url = face_alignment.api.models_urls[network]
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)
