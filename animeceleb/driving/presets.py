"""Motion presets: short generated pose sequences (blink, nod, shake, talk, wink, smile) to animate without a video.

Each preset is a smooth function of time, so any frame rate and length can be asked for; motions repeat to fill the
length. Values stay inside the trained ranges (morphs in [0, 1], angles within +-ANGLE_RANGE).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from animeceleb.errors import InputError
from animeceleb.pose import POSE_DIM, pose_index, validate_poses

BLINK_PERIOD = 1.5  # seconds between blinks
BLINK_LENGTH = 0.25  # seconds an eye takes to close and reopen
NOD_PERIOD, NOD_DEGREES = 1.2, 12.0
SHAKE_PERIOD, SHAKE_DEGREES = 1.0, 15.0
SYLLABLE_LENGTH = 0.3  # seconds per vowel while talking
TALK_VOWELS = ("mouth_a", "mouth_i", "mouth_u", "mouth_e", "mouth_o")
RAMP_LENGTH = 0.4  # seconds to go into and out of a smile or a wink


def _pulse(t: np.ndarray, centre: float, length: float) -> np.ndarray:
    """A raised-cosine bump: 0 outside ``centre +- length/2``, 1 at ``centre``."""
    phase = np.clip((t - centre) / length, -0.5, 0.5)
    return 0.5 * (1.0 + np.cos(2 * np.pi * phase))


def _repeating_pulse(t: np.ndarray, period: float, length: float) -> np.ndarray:
    """One bump in the middle of every ``period``."""
    return _pulse(np.mod(t, period), period / 2, length)


def _hold(t: np.ndarray, seconds: float) -> np.ndarray:
    """0 -> 1 over ``RAMP_LENGTH`` at the start, held, and back to 0 at the end (smoothstep ramps)."""
    rise = np.clip(np.minimum(t, seconds - t) / RAMP_LENGTH, 0.0, 1.0)
    return rise * rise * (3 - 2 * rise)


def _blink(poses: np.ndarray, t: np.ndarray, seconds: float) -> None:
    closing = _repeating_pulse(t, BLINK_PERIOD, BLINK_LENGTH)
    poses[:, pose_index("eye_close_left")] = closing
    poses[:, pose_index("eye_close_right")] = closing


def _wink(poses: np.ndarray, t: np.ndarray, seconds: float) -> None:
    held = _hold(t, seconds)
    poses[:, pose_index("eye_close_left")] = held  # the character's own left eye
    poses[:, pose_index("mouth_smile")] = 0.6 * held


def _nod(poses: np.ndarray, t: np.ndarray, seconds: float) -> None:
    poses[:, pose_index("head_pitch")] = NOD_DEGREES * np.sin(2 * np.pi * t / NOD_PERIOD)


def _shake(poses: np.ndarray, t: np.ndarray, seconds: float) -> None:
    poses[:, pose_index("head_yaw")] = SHAKE_DEGREES * np.sin(2 * np.pi * t / SHAKE_PERIOD)


def _talk(poses: np.ndarray, t: np.ndarray, seconds: float) -> None:
    syllable = np.floor(t / SYLLABLE_LENGTH).astype(int)
    opening = _repeating_pulse(t, SYLLABLE_LENGTH, SYLLABLE_LENGTH)
    for number, vowel in enumerate(TALK_VOWELS):
        poses[:, pose_index(vowel)] = np.where(syllable % len(TALK_VOWELS) == number, opening, 0.0)


def _smile(poses: np.ndarray, t: np.ndarray, seconds: float) -> None:
    held = _hold(t, seconds)
    poses[:, pose_index("mouth_smile")] = held
    poses[:, pose_index("eyes_smile")] = held


_PRESETS: dict[str, Callable[[np.ndarray, np.ndarray, float], None]] = {
    "blink": _blink,
    "nod": _nod,
    "shake": _shake,
    "talk": _talk,
    "wink": _wink,
    "smile": _smile,
}
PRESETS: tuple[str, ...] = tuple(_PRESETS)


def preset_poses(name: str, *, fps: float = 25.0, seconds: float = 3.0) -> np.ndarray:
    """The poses (N, 20) float32 of a preset, N = round(fps x seconds), starting from the neutral pose."""
    if name not in _PRESETS:
        raise InputError(f"unknown motion preset {name!r}; choose one of: {', '.join(PRESETS)}")
    if fps <= 0 or seconds <= 0:
        raise InputError(f"fps and seconds must be positive; got {fps}, {seconds}")
    count = max(1, round(fps * seconds))
    t = np.arange(count) / fps
    poses = np.zeros((count, POSE_DIM))
    _PRESETS[name](poses, t, seconds)
    return validate_poses(poses)
