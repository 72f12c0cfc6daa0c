"""One Euro filter, motion presets, pose CSV files and Deep3DFaceRecon .mat input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from animeceleb.driving.command import format_frame_ranges
from animeceleb.driving.mat import COEFF_KEYS, load_coeffs, load_vox_motion
from animeceleb.driving.pose_csv import read_pose_csv, write_pose_csv
from animeceleb.driving.presets import PRESETS, preset_poses
from animeceleb.driving.smoothing import OneEuroFilter, filter_for_strength
from animeceleb.errors import InputError
from animeceleb.pose import ANGLE_RANGE, COEFF_DIM, POSE_NAMES, coeffs_to_motion, pose_index

FPS = 30.0


def run_filter(one_euro: OneEuroFilter, signal: np.ndarray) -> np.ndarray:
    return np.array([one_euro(np.array([value]), index / FPS)[0] for index, value in enumerate(signal)])


def test_one_euro_passes_the_first_sample_and_keeps_a_constant() -> None:
    out = run_filter(OneEuroFilter(min_cutoff=1.0, beta=0.5), np.full(50, 3.25))
    assert np.allclose(out, 3.25)


def test_one_euro_removes_jitter() -> None:
    noise = np.random.default_rng(0).normal(0, 1.0, 300)
    out = run_filter(OneEuroFilter(min_cutoff=1.0, beta=0.0), 5.0 + noise)
    assert out[50:].std() < 0.35 * noise[50:].std()
    assert abs(out[50:].mean() - 5.0) < 0.2


def test_one_euro_beta_reduces_lag_on_fast_motion() -> None:
    ramp = np.concatenate([np.zeros(10), np.linspace(0, 10, 15), np.full(10, 10.0)])  # a quick 0 -> 10 move
    steady = run_filter(OneEuroFilter(min_cutoff=0.5, beta=0.0), ramp)
    adaptive = run_filter(OneEuroFilter(min_cutoff=0.5, beta=1.0), ramp)
    assert np.abs(adaptive - ramp).max() < 0.5 * np.abs(steady - ramp).max()


def test_one_euro_filters_vectors_per_channel_and_checks_time() -> None:
    one_euro = OneEuroFilter(min_cutoff=1.0)
    one_euro(np.array([0.0, 1.0]), 0.0)
    out = one_euro(np.array([1.0, 1.0]), 0.1)
    assert 0 < out[0] < 1 and out[1] == 1.0
    with pytest.raises(ValueError, match="increase"):
        one_euro(np.array([1.0, 1.0]), 0.1)


def test_smoothing_strength() -> None:
    assert filter_for_strength(0.0) is None
    assert filter_for_strength(0.5).min_cutoff == pytest.approx(1.0)
    assert filter_for_strength(1.0).min_cutoff < filter_for_strength(0.2).min_cutoff
    with pytest.raises(InputError):
        filter_for_strength(2.0)


@pytest.mark.parametrize("name", PRESETS)
def test_presets_have_the_asked_length_and_valid_ranges(name: str) -> None:
    poses = preset_poses(name, fps=25, seconds=2.4)
    assert poses.shape == (60, 20) and poses.dtype == np.float32
    assert poses[:, :17].min() >= 0 and poses[:, :17].max() <= 1
    assert np.abs(poses[:, 17:]).max() <= ANGLE_RANGE
    assert np.abs(poses[0]).max() < 0.05  # starts from the neutral pose
    assert np.abs(poses).max() > 0.5  # and moves


@pytest.mark.parametrize(
    ("name", "channels"),
    [
        ("blink", ["eye_close_left", "eye_close_right"]),
        ("wink", ["eye_close_left"]),
        ("nod", ["head_pitch"]),
        ("shake", ["head_yaw"]),
        ("talk", ["mouth_a", "mouth_i", "mouth_u", "mouth_e", "mouth_o"]),
        ("smile", ["mouth_smile", "eyes_smile"]),
    ],
)
def test_presets_move_their_channels(name: str, channels: list[str]) -> None:
    poses = preset_poses(name, fps=30, seconds=3.0)
    for channel in channels:
        peak = np.abs(poses[:, pose_index(channel)]).max()
        assert peak > (10 if channel.startswith("head_") else 0.9), (channel, peak)
    if name == "wink":
        assert poses[:, pose_index("eye_close_right")].max() == 0


def test_unknown_preset_lists_the_valid_ones() -> None:
    with pytest.raises(InputError, match="blink.*smile"):
        preset_poses("dance")


def test_pose_csv_round_trip(tmp_path: Path) -> None:
    poses = preset_poses("talk", fps=10, seconds=1.0)
    path = write_pose_csv(tmp_path / "poses.csv", poses)
    lines = path.read_text().splitlines()
    assert lines[0].split(",") == list(POSE_NAMES) and len(lines) == 11
    assert np.allclose(read_pose_csv(path), poses, atol=1e-5)


def test_pose_csv_columns_in_any_order(tmp_path: Path) -> None:
    names = list(reversed(POSE_NAMES))
    path = tmp_path / "reordered.csv"
    path.write_text(",".join(names) + "\n" + ",".join("5" if name == "head_yaw" else "0" for name in names) + "\n")
    assert read_pose_csv(path)[0, pose_index("head_yaw")] == 5.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("eye_close_left,head_yaw\n0,1\n", "missing: eye_close_right"),
        (",".join(POSE_NAMES) + ",extra\n", "unknown: extra"),
        (",".join(POSE_NAMES) + "\n", "no poses"),
        (",".join(POSE_NAMES) + "\n" + ",".join(["0"] * 19) + ",x\n", "line 2"),
        (",".join(POSE_NAMES) + "\n" + ",".join(["0"] * 19) + ",95\n", "head_yaw"),
    ],
)
def test_bad_pose_csv_is_refused_with_a_clear_message(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_pose_csv(path)


def test_frame_ranges() -> None:
    assert format_frame_ranges((0, 1, 2, 7, 9, 10)) == "0-2, 7, 9-10"


def write_coeff_mat(path: Path, coeffs: np.ndarray) -> None:
    """Save (N, 257) coefficients the way Deep3DFaceRecon does: one 1 x k (or N x k) array per key."""
    parts, start = {}, 0
    for key, size in COEFF_KEYS:
        parts[key] = coeffs[:, start : start + size]
        start += size
    scipy.io.savemat(path, parts)


def test_mat_folder_gives_vox_motion_in_natural_frame_order(tmp_path: Path) -> None:
    coeffs = np.random.default_rng(1).normal(size=(12, COEFF_DIM)).astype(np.float32)
    for index in range(12):
        write_coeff_mat(tmp_path / f"frame_{index}.mat", coeffs[index : index + 1])
    assert np.array_equal(load_coeffs(tmp_path), coeffs)  # frame_10 after frame_9, not after frame_1
    motion = load_vox_motion(tmp_path)
    assert motion.shape == (12, 70) and motion.dtype == np.float32
    assert np.array_equal(motion, coeffs_to_motion(coeffs).numpy())
    assert np.array_equal(motion[:, 64:67], coeffs[:, 224:227])  # the angles, SPEC 2.3


def test_one_mat_with_a_row_per_frame(tmp_path: Path) -> None:
    coeffs = np.random.default_rng(2).normal(size=(3, COEFF_DIM)).astype(np.float32)
    write_coeff_mat(tmp_path / "clip.mat", coeffs)
    assert np.array_equal(load_coeffs(tmp_path / "clip.mat"), coeffs)


def test_bad_mat_files_are_refused(tmp_path: Path) -> None:
    scipy.io.savemat(tmp_path / "partial.mat", {"exp": np.zeros((1, 64)), "angle": np.zeros((1, 3))})
    with pytest.raises(InputError, match="lacks id"):
        load_coeffs(tmp_path / "partial.mat")
    (tmp_path / "garbage.mat").write_bytes(b"not a mat file" * 20)
    with pytest.raises(InputError, match="cannot read"):
        load_coeffs(tmp_path / "garbage.mat")
    scipy.io.savemat(tmp_path / "short.mat", {key: np.zeros((1, 2)) for key, _ in COEFF_KEYS})
    with pytest.raises(InputError, match="1x80"):
        load_coeffs(tmp_path / "short.mat")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no .mat files"):
        load_coeffs(tmp_path / "empty")
