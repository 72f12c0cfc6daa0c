"""The 20-d pose: names, validation with clear errors, and the exact 20 -> 70 and 257 -> 70 conversions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from animeceleb.errors import InputError
from animeceleb.pose import (
    ANGLE_NAMES,
    MORPH_NAMES,
    POSE_DIM,
    POSE_GROUPS,
    POSE_NAMES,
    Pose,
    coeffs_to_motion,
    load_pose_basis,
    mix_motion,
    pose_to_motion,
    stack_poses,
    validate_poses,
)


def test_names_follow_the_project_convention() -> None:
    assert len(MORPH_NAMES) == 17 and POSE_DIM == 20
    assert POSE_NAMES[0] == "eye_close_left" and POSE_NAMES[16] == "mouth_o"
    assert ANGLE_NAMES == ("head_pitch", "head_roll", "head_yaw")
    assert sorted(sum(POSE_GROUPS.values(), ())) == sorted(POSE_NAMES)


def test_shipped_basis_is_the_official_one() -> None:
    basis = load_pose_basis()
    assert basis.shape == (17, 257) and basis.dtype == np.float32
    expression = basis[:, 80:144]
    assert expression[0, 0] == pytest.approx(0.091857, abs=1e-6)
    assert expression[16, 63] == pytest.approx(0.055823, abs=1e-6)
    assert float(expression.sum()) == pytest.approx(-25.2192, abs=1e-3)
    assert not np.any(np.delete(basis, np.s_[80:144], axis=1))


def test_pose_object_by_name() -> None:
    pose = Pose.neutral().replace(mouth_a=1.0, head_yaw=10)
    assert pose["mouth_a"] == 1.0 and pose.angles == (0.0, 0.0, 10.0)
    assert Pose.from_dict(pose.to_dict()) == pose
    assert stack_poses([pose, Pose.neutral()]).shape == (2, 20)


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ([0.0] * 19, "20 values"),
        ([0.0] * 16 + [1.5] + [0.0] * 3, "mouth_o"),
        ([0.0] * 17 + [0.0, float("nan"), 0.0], "head_roll"),
        ([0.0] * 17 + [0.0, 0.0, 120.0], "head_yaw"),
        ([-0.1] + [0.0] * 19, "eye_close_left"),
    ],
)
def test_validation_names_the_field(values: list[float], fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        validate_poses(values)


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="valid names: eye_close_left"):
        Pose.from_dict({"smirk": 1.0})


def test_angles_beyond_trained_range_warn() -> None:
    with pytest.warns(UserWarning, match="trained range"):
        validate_poses([0.0] * 17 + [30.0, 0.0, 0.0])


def test_pose_to_motion_layout() -> None:
    pose = Pose.neutral().replace(eye_close_left=1.0, head_pitch=10, head_roll=20, head_yaw=-5)
    motion = pose_to_motion(stack_poses([pose]))[0]
    torch.testing.assert_close(motion[:64], torch.from_numpy(load_pose_basis()[0, 80:144].copy()))
    # angles are reordered (pitch, yaw, roll) after the degree -> radian conversion; translation is zero
    torch.testing.assert_close(motion[64:67], torch.tensor([10.0, -5.0, 20.0]) * math.pi / 180)
    assert not motion[67:].any()


def test_coeffs_to_motion_and_mixing() -> None:
    coeffs = torch.arange(2 * 257, dtype=torch.float32).view(2, 257)
    motion = coeffs_to_motion(coeffs)
    assert motion.shape == (2, 70)
    torch.testing.assert_close(motion[:, :64], coeffs[:, 80:144])
    torch.testing.assert_close(motion[:, 64:67], coeffs[:, 224:227])
    torch.testing.assert_close(motion[:, 67:], coeffs[:, 254:257])
    other = torch.zeros(2, 70)
    mixed = mix_motion(motion, other)
    torch.testing.assert_close(mixed[:, :67], motion[:, :67])
    assert not mixed[:, 67:].any()
    with pytest.raises(InputError):
        coeffs_to_motion(torch.zeros(2, 70))
