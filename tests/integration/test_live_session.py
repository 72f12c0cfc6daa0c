"""LiveSession on real webcam-like frames (the astronaut): pose against the calibrated neutral, no-face hold, dropped
frames, recording to mp4 + CSV, and sessions that do not share state."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from animeceleb.driving import DriveOptions, FaceTracker, probe_video, read_pose_csv
from animeceleb.errors import InputError
from animeceleb.inference import Animator, LiveSession
from animeceleb.inference.live import NO_FACE_NOTICE
from animeceleb.models import FOMM, Animo, AnimoConfig, FOMMConfig
from animeceleb.pose import pose_index
from tests.helpers import TINY_FOMM, TINY_NETS
from tests.integration.driving_clips import astronaut_frame, blank, rotated

pytestmark = pytest.mark.timeout(120)

ROLL = pose_index("head_roll")
STILL = DriveOptions(smooth=0.0)  # no smoothing: each pose is its own frame's


@pytest.fixture(scope="module")
def animator() -> Animator:
    torch.manual_seed(0)
    animator = Animator(Animo(AnimoConfig(**TINY_NETS, image_size=(64, 64), domains=("anime",))))
    animator.prepare(np.full((64, 64, 3), 200, np.uint8))
    return animator


def session_for(animator: Animator, options: DriveOptions = STILL) -> LiveSession:
    return LiveSession(animator, options=options)


def test_roll_is_measured_against_the_first_face_then_the_calibrated_one(animator: Animator) -> None:
    session = session_for(animator)
    face = astronaut_frame()
    first = session.process(face)
    assert first.image.shape == (64, 64, 3) and first.image.dtype == np.uint8
    assert first.pose.shape == (20,) and first.has_face
    assert first.pose[ROLL] == pytest.approx(0.0, abs=0.5)
    assert session.process(rotated(face, 10)).pose[ROLL] == pytest.approx(10.0, abs=2.0)

    session.calibrate()  # the neutral is now the tilted face
    assert session.calibrated
    assert session.process(face).pose[ROLL] == pytest.approx(-5.0, abs=2.0)  # neutral: the median of 0 and 10 degrees
    for _ in range(4):
        session.process(rotated(face, 10))
    session.calibrate()
    assert session.process(face).pose[ROLL] == pytest.approx(-10.0, abs=2.0)
    assert session.process(face).fps > 0


def test_mirrored_frames_report_the_unmirrored_roll(animator: Animator) -> None:
    session = session_for(animator, DriveOptions(smooth=0.0, mirror=True))
    face = astronaut_frame()
    session.process(np.ascontiguousarray(face[:, ::-1]))
    tilted = session.process(np.ascontiguousarray(rotated(face, 10)[:, ::-1]))
    assert tilted.pose[ROLL] == pytest.approx(10.0, abs=2.0)


def test_no_face_holds_the_last_pose_with_a_notice(animator: Animator) -> None:
    session = session_for(animator)
    face = astronaut_frame()
    session.process(face)
    tilted = session.process(rotated(face, 10))
    lost = session.process(blank(face))
    assert lost.notice == NO_FACE_NOTICE and not lost.has_face
    np.testing.assert_array_equal(lost.pose, tilted.pose)
    np.testing.assert_array_equal(lost.image, tilted.image)


def test_calibrating_before_any_face_is_an_input_error(animator: Animator) -> None:
    session = session_for(animator)
    session.process(blank(astronaut_frame()))
    with pytest.raises(InputError, match="no face"):
        session.calibrate()


class GatedTracker(FaceTracker):
    """The real tracker, which waits for a gate before tracking: keeps a frame "in processing" on demand."""

    def __init__(self) -> None:
        super().__init__()
        self.entered, self.gate = threading.Event(), threading.Event()

    def track(self, frame: np.ndarray) -> np.ndarray | None:
        self.entered.set()
        self.gate.wait(timeout=30)
        return super().track(frame)


def test_a_frame_arriving_during_processing_is_dropped_not_queued(animator: Animator) -> None:
    tracker = GatedTracker()
    session = LiveSession(animator, options=STILL, tracker=tracker)
    results = []
    worker = threading.Thread(target=lambda: results.append(session.process(astronaut_frame())))
    worker.start()
    assert tracker.entered.wait(timeout=30)
    assert session.process(astronaut_frame()) is None
    assert session.dropped == 1
    tracker.gate.set()
    worker.join(timeout=30)
    assert results and results[0] is not None and results[0].has_face


def test_recording_saves_the_frames_as_mp4_and_the_poses_as_csv(animator: Animator, tmp_path: Path) -> None:
    session = session_for(animator)
    face = astronaut_frame()
    session.process(face)  # before the recording: not saved
    session.start_recording()
    poses = [session.process(rotated(face, angle)).pose for angle in (0, 5, 10)]
    assert session.recording and session.recorded_frames == 3
    recording = session.stop_recording(tmp_path)
    assert not session.recording
    assert recording.frames == 3 and recording.video.suffix == ".mp4" and recording.poses.suffix == ".csv"
    info = probe_video(recording.video)
    assert (info.width, info.height) == (64, 64) and info.frame_count == 3
    np.testing.assert_allclose(read_pose_csv(recording.poses), np.stack(poses), atol=1e-4)
    with pytest.raises(InputError, match="not recording"):
        session.stop_recording(tmp_path)


def test_sessions_do_not_share_calibration_or_smoothing(animator: Animator) -> None:
    face = astronaut_frame()
    first, second = session_for(animator), session_for(animator)
    for session in (first, second):
        session.process(face)
    for _ in range(3):
        first.process(rotated(face, 10))
    first.calibrate()
    first.set_smoothing(0.9)
    assert not second.calibrated and second.options.smooth == 0.0
    assert second.process(rotated(face, 10)).pose[ROLL] == pytest.approx(10.0, abs=2.0)
    assert first.process(rotated(face, 10)).pose[ROLL] == pytest.approx(0.0, abs=2.0)


def test_a_frame_driven_model_is_refused() -> None:
    fomm = Animator(FOMM(FOMMConfig(**TINY_FOMM, image_size=(64, 64))))
    with pytest.raises(InputError, match="driven by poses"):
        LiveSession(fomm)
