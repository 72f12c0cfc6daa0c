"""Landmarks -> head angles and features -> pose: the SPEC 0.3 signs in image terms, eyes, brows, mouth, options."""

from __future__ import annotations

import math
from dataclasses import replace

import cv2
import numpy as np
import pytest

from animeceleb.driving.landmarks import (
    GENERIC_FACE,
    LEFT_EYE,
    RIGHT_EYE,
    estimate_head_pose,
    eye_aspect_ratio,
    measure_face,
    mirror_landmarks,
)
from animeceleb.driving.pose_estimation import (
    ABSOLUTE_NEUTRAL,
    DriveOptions,
    PoseEstimator,
    features_to_pose,
    mouth_shape_weights,
)
from animeceleb.errors import InputError
from animeceleb.pose import POSE_NAMES, pose_index, validate_poses

FRAME = (480, 640)  # height, width
FOCAL = 640.0


def project_generic_face(rotation: np.ndarray, distance: float = 500.0) -> np.ndarray:
    """68 landmarks (zeros except the rigid points) of the generic face rotated by ``rotation``, seen by the camera."""
    points = np.zeros((68, 2))
    for index, xyz in GENERIC_FACE.items():
        x, y, z = rotation @ np.asarray(xyz) + [0.0, 0.0, distance]
        points[index] = (FOCAL * x / z + (FRAME[1] - 1) / 2, FOCAL * y / z + (FRAME[0] - 1) / 2)
    return points


def rotation_about(axis: str, degrees: float) -> np.ndarray:
    vector = {"x": [1, 0, 0], "y": [0, 1, 0], "z": [0, 0, 1]}[axis]
    return cv2.Rodrigues(np.radians(degrees) * np.asarray(vector, dtype=np.float64))[0]


def head_angles(points: np.ndarray) -> dict[str, float]:
    pitch, roll, yaw, _ = estimate_head_pose(points, FRAME)
    return {"head_pitch": pitch, "head_roll": roll, "head_yaw": yaw}


NOSE_TIP = 30


def test_frontal_face_has_zero_angles() -> None:
    angles = head_angles(project_generic_face(np.eye(3)))
    assert all(abs(value) < 1e-3 for value in angles.values()), angles


@pytest.mark.parametrize("degrees", [-15.0, 8.0])
def test_yaw_is_positive_when_the_nose_moves_to_the_image_left(degrees: float) -> None:
    frontal, turned = project_generic_face(np.eye(3)), project_generic_face(rotation_about("y", degrees))
    nose_moved_left = turned[NOSE_TIP, 0] < frontal[NOSE_TIP, 0]
    angles = head_angles(turned)
    assert (angles["head_yaw"] > 0) == nose_moved_left
    assert angles["head_yaw"] == pytest.approx(degrees, abs=0.05)
    assert abs(angles["head_pitch"]) < 0.05 and abs(angles["head_roll"]) < 0.05


@pytest.mark.parametrize("degrees", [-12.0, 10.0])
def test_pitch_is_positive_when_the_face_looks_down(degrees: float) -> None:
    frontal, tilted = project_generic_face(np.eye(3)), project_generic_face(rotation_about("x", degrees))
    nose_moved_down = tilted[NOSE_TIP, 1] > frontal[NOSE_TIP, 1]
    angles = head_angles(tilted)
    assert (angles["head_pitch"] > 0) == nose_moved_down
    assert angles["head_pitch"] == pytest.approx(degrees, abs=0.05)


@pytest.mark.parametrize("degrees", [-10.0, 10.0, 25.0])
def test_roll_is_the_counter_clockwise_rotation_in_the_image(degrees: float) -> None:
    """Rotating the image points counter-clockwise on screen (y points down) by d degrees gives roll = +d."""
    points = project_generic_face(rotation_about("y", 6.0) @ rotation_about("x", 4.0))
    centre = np.array([(FRAME[1] - 1) / 2, (FRAME[0] - 1) / 2])
    counter_clockwise = cv2.getRotationMatrix2D(tuple(centre), degrees, 1.0)  # OpenCV: positive = counter-clockwise
    rotated = points @ counter_clockwise[:, :2].T + counter_clockwise[:, 2]
    before, after = head_angles(points), head_angles(rotated)
    assert after["head_roll"] - before["head_roll"] == pytest.approx(degrees, abs=1e-3)
    assert after["head_yaw"] == pytest.approx(before["head_yaw"], abs=1e-3)


def test_mirroring_flips_yaw_and_roll_but_not_pitch() -> None:
    points = project_generic_face(rotation_about("z", 7.0) @ rotation_about("y", 12.0) @ rotation_about("x", 5.0))
    mirrored = mirror_landmarks(points, FRAME[1])
    before, after = head_angles(points), head_angles(mirrored)
    assert after["head_yaw"] == pytest.approx(-before["head_yaw"], abs=1e-3)
    assert after["head_roll"] == pytest.approx(-before["head_roll"], abs=1e-3)
    assert after["head_pitch"] == pytest.approx(before["head_pitch"], abs=1e-3)
    assert np.allclose(mirror_landmarks(mirrored, FRAME[1]), points)


def test_eye_aspect_ratio_of_an_open_and_a_shut_eye() -> None:
    open_eye = np.array([[0, 0], [10, -4], [20, -4], [30, 0], [20, 4], [10, 4]], dtype=float)
    shut_eye = open_eye * [1, 0.1]
    assert eye_aspect_ratio(open_eye) == pytest.approx(8 / 30)
    assert eye_aspect_ratio(shut_eye) == pytest.approx(0.8 / 30)


def test_measure_face_sees_a_closed_left_eye_on_the_image_right() -> None:
    """The person's left eye (points 42-47) is on the image's right: closing it lowers ``eye_open_left`` only."""
    points = project_generic_face(np.eye(3))
    for eye, centre_x in ((RIGHT_EYE, 290.0), (LEFT_EYE, 350.0)):
        points[list(eye)] = np.array([[-15, 0], [-5, -4], [5, -4], [15, 0], [5, 4], [-5, 4]]) + [centre_x, 240.0]
    assert points[list(LEFT_EYE), 0].mean() > FRAME[1] / 2
    open_face = measure_face(points, FRAME)
    points[[43, 44, 46, 47], 1] = 240.0  # left eyelids meet
    winking = measure_face(points, FRAME)
    assert winking.eye_open_left < 0.05 < open_face.eye_open_left
    assert winking.eye_open_right == pytest.approx(open_face.eye_open_right)
    mirrored = measure_face(points, FRAME, mirror=True)
    assert mirrored.eye_open_right < 0.05 and mirrored.eye_open_left == pytest.approx(open_face.eye_open_right)


def test_bad_landmarks_are_refused() -> None:
    with pytest.raises(InputError, match="68"):
        measure_face(np.zeros((5, 2)), FRAME)


# features -> pose


def pose_of(options: DriveOptions | None = None, **changes: float) -> dict[str, float]:
    options = options or DriveOptions()
    pose = features_to_pose(replace(ABSOLUTE_NEUTRAL, **changes), ABSOLUTE_NEUTRAL, options)
    validate_poses(pose)
    return dict(zip(POSE_NAMES, pose, strict=True))


def test_the_neutral_face_gives_the_neutral_pose() -> None:
    assert max(abs(value) for value in pose_of().values()) < 1e-6


def test_closing_the_left_eye_winks_the_characters_left_eye() -> None:
    pose = pose_of(eye_open_left=0.03)
    assert pose["eye_close_left"] == 1.0 and pose["eye_close_right"] == 0.0
    assert pose_of(eye_open_left=0.27)["eye_close_left"] == 0.0  # landmark jitter stays in the dead zone


def test_wide_eyes_and_brows() -> None:
    assert pose_of(eye_open_left=0.45, eye_open_right=0.45)["eyes_wide"] == 1.0
    assert pose_of(brow_height=ABSOLUTE_NEUTRAL.brow_height + 6)["brows_up"] == 1.0
    lowered = pose_of(brow_height=ABSOLUTE_NEUTRAL.brow_height - 2.5)
    assert 0 < lowered["brows_down"] < 1 and lowered["brows_up"] == 0


@pytest.mark.parametrize(
    ("opening_mm", "width_change_mm", "expected"),
    [
        (20, 1, "mouth_a"),
        (6, 8, "mouth_i"),
        (5, -8, "mouth_u"),
        (10, 7, "mouth_e"),
        (12, -7, "mouth_o"),
        (0, 9, "mouth_smile"),
    ],
)
def test_mouth_shapes(opening_mm: float, width_change_mm: float, expected: str) -> None:
    pose = pose_of(
        mouth_open=ABSOLUTE_NEUTRAL.mouth_open + opening_mm, mouth_width=ABSOLUTE_NEUTRAL.mouth_width + width_change_mm
    )
    mouth = {name: value for name, value in pose.items() if name.startswith("mouth_")}
    assert max(mouth, key=mouth.get) == expected, mouth
    assert mouth[expected] > 0.5


def test_mouth_weights_sum_to_one() -> None:
    for opening, spread in [(0, 0), (0.4, 0.3), (2.0, -3.0)]:
        assert sum(mouth_shape_weights(opening, spread).values()) == pytest.approx(1.0)


def test_relative_angles_and_gains_and_angle_limit() -> None:
    neutral = replace(ABSOLUTE_NEUTRAL, head_yaw=5.0, head_pitch=-3.0)
    turned = replace(neutral, head_yaw=13.0, head_pitch=2.0)
    relative = dict(zip(POSE_NAMES, features_to_pose(turned, neutral, DriveOptions()), strict=True))
    assert relative["head_yaw"] == pytest.approx(8.0) and relative["head_pitch"] == pytest.approx(5.0)
    absolute = dict(zip(POSE_NAMES, features_to_pose(turned, neutral, DriveOptions(relative=False)), strict=True))
    assert absolute["head_yaw"] == pytest.approx(13.0)
    boosted = features_to_pose(turned, neutral, DriveOptions(gains={"head_yaw": 2.0}, angle_limit=12.0))
    assert boosted[pose_index("head_yaw")] == pytest.approx(12.0)  # 16 degrees clipped to the limit
    assert boosted[pose_index("head_pitch")] == pytest.approx(5.0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"gains": {"head_yw": 2.0}}, "head_yaw"),
        ({"gains": {"head_yaw": -1.0}}, ">= 0"),
        ({"smooth": 1.5}, "smooth"),
        ({"angle_limit": 200.0}, "angle_limit"),
        ({"calibration_frames": 0}, "calibration_frames"),
    ],
)
def test_bad_options_are_refused_with_a_clear_message(changes: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        DriveOptions(**changes)


def test_estimator_calibrates_holds_missing_frames_and_smooths() -> None:
    estimator = PoseEstimator(DriveOptions(smooth=0.0), fps=25)
    neutral = replace(ABSOLUTE_NEUTRAL, head_roll=4.0)
    estimator.calibrate([neutral, replace(neutral, head_roll=5.0), replace(neutral, head_roll=3.0)])
    assert estimator.neutral.head_roll == pytest.approx(4.0)  # the median
    tilted = estimator.update(replace(neutral, head_roll=14.0))
    assert tilted[pose_index("head_roll")] == pytest.approx(10.0)
    assert np.array_equal(estimator.update(None), tilted)  # no face: the last pose is held

    smoothed = PoseEstimator(DriveOptions(smooth=0.9), fps=25)
    smoothed.calibrate([neutral])
    smoothed.update(neutral)
    first_step = smoothed.update(replace(neutral, head_roll=14.0))[pose_index("head_roll")]
    assert 0 < first_step < 5  # a steady filter moves only part of the way at once


def test_live_estimator_takes_the_first_face_as_neutral() -> None:
    estimator = PoseEstimator(DriveOptions(smooth=0.0))
    first = replace(ABSOLUTE_NEUTRAL, head_yaw=-7.0, mouth_width=60.0)
    assert np.abs(estimator.update(first)).max() < 1e-6
    assert estimator.update(replace(first, head_yaw=-2.0))[pose_index("head_yaw")] == pytest.approx(5.0)


def test_absolute_mode_keeps_measured_angles() -> None:
    estimator = PoseEstimator(DriveOptions(relative=False, smooth=0.0))
    pose = estimator.update(replace(ABSOLUTE_NEUTRAL, head_yaw=-7.0))
    assert pose[pose_index("head_yaw")] == pytest.approx(-7.0)
    assert math.isclose(float(np.abs(np.delete(pose, pose_index("head_yaw"))).max()), 0.0, abs_tol=1e-6)
