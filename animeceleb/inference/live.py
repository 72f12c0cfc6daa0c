"""Live puppeteering: webcam frames -> tracked face -> pose (against a calibrated neutral, smoothed) -> animated head.

``LiveSession`` holds everything one viewer needs (tracker, pose estimator with its neutral face and smoother,
the prepared ``Animator``, a recording), so viewers never share state. It is UI-independent: the app's Live tab,
``benchmarks/bench_live.py`` and tests drive it alike. A frame that arrives while the previous one is still being
processed is dropped (``process`` returns ``None``), not queued, so the latency stays one frame's work.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from animeceleb.driving import (
    DriveOptions,
    FaceFeatures,
    FaceTracker,
    PoseEstimator,
    measure_face,
    write_pose_csv,
    write_video,
)
from animeceleb.errors import InputError
from animeceleb.imaging import composite_on_white
from animeceleb.inference.animator import Animator

logger = logging.getLogger(__name__)

NO_FACE_NOTICE = "no face found: holding the last pose"
CALIBRATION_FACES = 5  # the neutral face is the median of the latest faces, against landmark jitter
CALIBRATION_MAX_AGE_S = 2.0  # ... seen within this many seconds
FPS_WINDOW_S = 2.0  # the frame rate is measured over the frames finished in this many seconds
MAX_RECORD_FRAMES = 1500  # a recording stops growing here (one minute at 25 frames/s; ~300 MB at 256x256)


@dataclass(frozen=True)
class LiveFrame:
    """One processed webcam frame.

    Attributes:
        image: the animated head, uint8 (H, W, 3) at the model's size.
        pose: the pose (20,) float32 that drove it, in ``POSE_NAMES`` order.
        fps: frames processed per second over the last ``FPS_WINDOW_S`` seconds (0 until two frames are done).
        notice: a short message for the viewer (``NO_FACE_NOTICE``), empty when all is well.
        timings: milliseconds spent per stage: ``track``, ``pose``, ``animate``.
    """

    image: np.ndarray
    pose: np.ndarray
    fps: float
    notice: str
    timings: dict[str, float]

    @property
    def has_face(self) -> bool:
        """Whether a face was found in this frame."""
        return not self.notice


@dataclass(frozen=True)
class Recording:
    """A saved live session: the animated frames as an mp4 and the poses as a CSV (one row per frame)."""

    video: Path
    poses: Path
    frames: int
    fps: float


class LiveSession:
    """One viewer's live puppet: ``session.process(frame)`` per webcam frame; ``calibrate()``; record start/stop.

    Args:
        animator: an ``Animator`` prepared with the source image (may be shared: rendering only reads it).
        options: how faces become poses (``relative`` is forced on: the neutral is the calibrated face, or the
            first face seen until ``calibrate`` is called).
        tracker: the face tracker (default: dlib, tracking between frames).
        clock: seconds, increasing; the smoother and the frame rate use it (tests pass a fake one).
        torch_threads: torch threads of the thread that processes frames (``None`` leaves torch's setting). One
            thread is the default: when the cores are busy (other viewers, other jobs), torch's spinning worker
            threads collapse (measured on the 2-core machine: a tiny model 940 ms -> 10 ms per frame). Torch applies
            it to the calling thread and the threads started after it.
    """

    def __init__(
        self,
        animator: Animator,
        *,
        options: DriveOptions | None = None,
        tracker: FaceTracker | None = None,
        clock: Callable[[], float] = time.monotonic,
        torch_threads: int | None = 1,
    ) -> None:
        self.animator = _pose_driven(animator)
        self.options = dataclasses.replace(options or DriveOptions(), relative=True)
        self.tracker = tracker or FaceTracker()
        self.clock = clock
        self.torch_threads = torch_threads
        self.estimator = PoseEstimator(self.options)
        self.calibrated = False
        self.dropped = 0
        self._start = clock()
        self._faces: deque[tuple[float, FaceFeatures]] = deque(maxlen=CALIBRATION_FACES)
        self._finished: deque[float] = deque()
        self._recording: list[tuple[np.ndarray, np.ndarray]] | None = None
        self._record_start = 0.0
        self._lock = threading.Lock()

    def use(self, animator: Animator) -> None:
        """Animate another prepared source (or model) from the next frame on; the calibration is kept."""
        self.animator = _pose_driven(animator)

    def set_smoothing(self, strength: float) -> None:
        """Change the One Euro smoothing strength in [0, 1]; the neutral face is kept."""
        if strength == self.options.smooth:
            return
        options = dataclasses.replace(self.options, smooth=float(strength))  # validates the strength
        with self._lock:
            neutral = self.estimator.neutral
            self.options, self.estimator = options, PoseEstimator(options)
            self.estimator.neutral = neutral

    def process(self, frame: np.ndarray) -> LiveFrame | None:
        """Animate one RGB uint8 webcam frame (H, W, 3); ``None`` if a frame is still being processed (dropped)."""
        if not self._lock.acquire(blocking=False):
            self.dropped += 1
            return None
        try:
            return self._process(frame)
        finally:
            self._lock.release()

    def _process(self, frame: np.ndarray) -> LiveFrame:
        if self.torch_threads is not None and torch.get_num_threads() != self.torch_threads:
            torch.set_num_threads(self.torch_threads)
        started = self.clock()
        points = self.tracker.track(frame)
        tracked = self.clock()
        face = None if points is None else measure_face(points, frame.shape[:2], mirror=self.options.mirror)
        if face is not None:
            self._faces.append((tracked, face))
        pose = self.estimator.update(face, timestamp=tracked - self._start)
        posed = self.clock()
        image = composite_on_white(self.animator(pose[None], batch_size=1)[0])  # a live stream has no alpha
        done = self.clock()
        if self._recording is not None and len(self._recording) < MAX_RECORD_FRAMES:
            self._recording.append((image, pose))
        timings = {"track": tracked - started, "pose": posed - tracked, "animate": done - posed}
        timings = {stage: seconds * 1000 for stage, seconds in timings.items()}
        return LiveFrame(image, pose, self._frame_rate(done), "" if face is not None else NO_FACE_NOTICE, timings)

    def _frame_rate(self, now: float) -> float:
        self._finished.append(now)
        while now - self._finished[0] > FPS_WINDOW_S:
            self._finished.popleft()
        if len(self._finished) < 2:
            return 0.0
        return (len(self._finished) - 1) / (now - self._finished[0])

    def calibrate(self) -> None:
        """Take the current face (median of the latest few) as neutral: the head angles and expressions become 0."""
        with self._lock:
            now = self.clock()
            recent = [face for seen, face in self._faces if now - seen <= CALIBRATION_MAX_AGE_S]
            if not recent:
                raise InputError("no face seen in the last seconds: start the camera, face it, then calibrate")
            self.estimator.calibrate(recent)
            self.calibrated = True

    @property
    def recording(self) -> bool:
        """Whether frames are being recorded."""
        return self._recording is not None

    @property
    def recorded_frames(self) -> int:
        """How many frames the current recording holds (0 when not recording)."""
        return len(self._recording or [])

    def start_recording(self) -> None:
        """Keep every processed frame and pose from now on (up to ``MAX_RECORD_FRAMES``), dropping any previous take."""
        with self._lock:
            self._recording = []
            self._record_start = self.clock()

    def stop_recording(self, folder: str | Path) -> Recording:
        """Stop recording and save it in ``folder`` as ``live_<n>.mp4`` and ``live_<n>.csv``, at the frame rate
        the frames actually arrived at."""
        with self._lock:
            recording, self._recording = self._recording, None
            seconds = self.clock() - self._record_start
        if recording is None:
            raise InputError("not recording: press Record first")
        if not recording:
            raise InputError("nothing was recorded: no frame arrived while recording (is the camera streaming?)")
        fps = len(recording) / seconds if seconds > 0 else 1.0
        fps = float(np.clip(fps, 1.0, 60.0))
        folder = Path(folder)
        name = f"live_{time.strftime('%Y%m%d-%H%M%S')}_{id(self) % 10_000:04d}"
        frames, poses = zip(*recording, strict=True)
        video = write_video(folder / f"{name}.mp4", frames, fps)
        table = write_pose_csv(folder / f"{name}.csv", np.stack(poses))
        logger.info("saved a live recording of %d frames at %.1f fps to %s", len(frames), fps, video)
        return Recording(video, table, len(frames), fps)


def _pose_driven(animator: Animator) -> Animator:
    if animator.drives_with_frames:
        raise InputError("the live puppet is driven by poses; choose a pose-driven model (Animo or PIRenderer)")
    return animator
