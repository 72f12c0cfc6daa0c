"""Face driving on a real face (skimage's astronaut): tracked landmarks, head-angle signs, missing faces, the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from animeceleb.cli import main
from animeceleb.driving import DriveOptions, FaceTracker, drive_frames, drive_video, measure_face, read_pose_csv
from animeceleb.errors import InputError
from animeceleb.pose import POSE_NAMES, pose_index
from tests.helpers import run_cli
from tests.integration.driving_clips import astronaut_frame, blank, flipped, rotated, save_clip

pytestmark = pytest.mark.timeout(120)

ROLL, YAW, PITCH = pose_index("head_roll"), pose_index("head_yaw"), pose_index("head_pitch")
STILL = DriveOptions(smooth=0.0, calibration_frames=4)  # unsmoothed, neutral = the 4 upright frames


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("driving_clips")
    face = astronaut_frame()
    return {
        "roll": save_clip(folder / "roll.mp4", [face] * 4 + [rotated(face, 10)] * 4 + [rotated(face, -10)] * 4),
        "gap": save_clip(folder / "gap.mp4", [face] * 3 + [blank(face)] * 3 + [face] * 2),
        "no_face": save_clip(folder / "no_face.mp4", [blank(face)] * 5),
    }


def test_in_plane_rotation_is_measured_as_roll_within_2_degrees(clips: dict[str, Path]) -> None:
    result = drive_video(clips["roll"], options=STILL)
    assert result.poses.shape == (12, 20) and result.missing == ()
    assert np.abs(result.poses[:4, ROLL]).max() < 1.0
    assert np.abs(result.poses[4:8, ROLL] - 10.0).max() < 2.0  # counter-clockwise = positive (SPEC 0.3)
    assert np.abs(result.poses[8:, ROLL] + 10.0).max() < 2.0
    assert np.abs(result.poses[:, [YAW, PITCH]]).max() < 2.0  # rotating the image does not turn the head


def test_horizontal_flip_flips_the_yaw_and_roll_signs() -> None:
    face = astronaut_frame()
    tracker = FaceTracker(use_tracking=False)
    original = measure_face(tracker.track(face), face.shape[:2])
    mirror = measure_face(tracker.track(flipped(face)), face.shape[:2])
    assert abs(original.head_yaw) > 0.5 and np.sign(mirror.head_yaw) == -np.sign(original.head_yaw)
    assert mirror.head_yaw == pytest.approx(-original.head_yaw, abs=1.0)
    assert mirror.head_roll == pytest.approx(-original.head_roll, abs=1.0)
    assert mirror.head_pitch == pytest.approx(original.head_pitch, abs=1.0)
    # The person's left eye is the image-right eye; after the flip it is the other one.
    assert mirror.eye_open_left == pytest.approx(original.eye_open_right, abs=0.03)


def test_mirror_option_undoes_a_flipped_video() -> None:
    face = astronaut_frame()
    frames = [face] * 3 + [rotated(face, 8)] * 2
    absolute = DriveOptions(relative=False, smooth=0.0)
    plain = drive_frames(frames, 25.0, options=absolute).poses
    mirrored = drive_frames(
        [flipped(frame) for frame in frames], 25.0, options=DriveOptions(relative=False, smooth=0.0, mirror=True)
    ).poses
    assert np.abs(plain[:, [ROLL, YAW, PITCH]] - mirrored[:, [ROLL, YAW, PITCH]]).max() < 1.5


def test_tracking_follows_the_face_like_detection_in_every_frame() -> None:
    face = astronaut_frame()
    frames = [rotated(face, angle) for angle in (0, 2, 4, 6, 8, 6, 4)]
    tracked, detected = FaceTracker(), FaceTracker(use_tracking=False)
    for frame in frames:
        difference = np.abs(tracked.track(frame) - detected.track(frame)).mean()
        assert difference < 3.0  # pixels, on a face about 180 pixels wide


def test_frames_without_a_face_hold_the_pose_and_are_reported(clips: dict[str, Path]) -> None:
    result = drive_video(clips["gap"], options=STILL)
    assert result.missing == (3, 4, 5)
    assert np.array_equal(result.poses[3], result.poses[2]) and np.array_equal(result.poses[5], result.poses[2])
    assert np.isnan(result.landmarks[3]).all() and not np.isnan(result.landmarks[6]).any()


def test_a_video_without_a_face_is_a_clear_error(clips: dict[str, Path]) -> None:
    with pytest.raises(InputError, match="no face found in any of the 5 frames"):
        drive_video(clips["no_face"])


def test_a_corrupt_video_is_a_clear_error(tmp_path: Path, clips: dict[str, Path]) -> None:
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(clips["roll"].read_bytes()[:3000])
    with pytest.raises(InputError, match="truncated.mp4"):
        drive_video(truncated)


def test_drive_cli_writes_named_columns_and_reports_missing_frames(tmp_path: Path, clips: dict[str, Path]) -> None:
    out = tmp_path / "poses.csv"
    result = run_cli("drive", str(clips["gap"]), "--out", str(out), "--smooth", "0.3", "--gain", "mouth_a=1.5")
    assert result.returncode == 0, result.stderr
    assert "wrote 8 poses (25 fps)" in result.stdout
    assert "no face in 3 frames (previous pose held): 3-5" in result.stdout
    assert out.read_text().splitlines()[0].split(",") == list(POSE_NAMES)
    assert read_pose_csv(out).shape == (8, 20)


@pytest.mark.parametrize(
    ("make_input", "options", "message"),
    [
        (lambda clips, tmp: clips["no_face"], [], "no face found"),
        (
            lambda clips, tmp: (tmp / "junk.mp4", (tmp / "junk.mp4").write_bytes(b"\x00junk" * 999))[0],
            [],
            "cannot read",
        ),
        (lambda clips, tmp: clips["gap"], ["--gain", "mouth_a"], "--gain takes NAME=VALUE"),
        (lambda clips, tmp: clips["gap"], ["--gain", "mouth=2"], "unknown pose value 'mouth'"),
    ],
)
def test_drive_cli_fails_with_one_clear_line(
    tmp_path: Path, clips: dict[str, Path], capsys: pytest.CaptureFixture[str], make_input, options, message: str
) -> None:
    """In-process (the same ``main`` as ``python -m animeceleb``): exit code 2, one line, no traceback, no file."""
    out = tmp_path / "poses.csv"
    assert main(["drive", str(make_input(clips, tmp_path)), "--out", str(out), *options]) == 2
    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr and stderr.strip().splitlines()[-1].startswith("error: ")
    assert message in stderr
    assert not out.exists()
