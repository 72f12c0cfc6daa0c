"""The One Euro filter (Casiez, Roussel and Vogel, CHI 2012): an adaptive low-pass filter for noisy live signals.

Slow motion is smoothed strongly (cut-off ``min_cutoff``) to remove landmark jitter; fast motion raises the cut-off
(``+ beta * |speed|``) so blinks and head turns are not delayed.
"""

from __future__ import annotations

import math

import numpy as np

from animeceleb.errors import InputError


class OneEuroFilter:
    """Filters a stream of vectors, one call per sample: ``smoothed = filter(value, timestamp)``.

    Args:
        min_cutoff: cut-off frequency (Hz) when the signal is still; lower = smoother, more lag.
        beta: how fast the cut-off rises with the signal's speed (per unit of value per second); 0 = fixed cut-off.
        d_cutoff: cut-off frequency (Hz) of the speed estimate.
    """

    def __init__(self, *, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0) -> None:
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise InputError(f"need min_cutoff > 0, d_cutoff > 0, beta >= 0; got {min_cutoff}, {d_cutoff}, {beta}")
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.d_cutoff = d_cutoff
        self.reset()

    def reset(self) -> None:
        """Forget the past; the next sample is passed through unchanged."""
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None
        self._time = 0.0

    def __call__(self, value: np.ndarray, timestamp: float) -> np.ndarray:
        """Filter one sample taken at ``timestamp`` seconds (strictly increasing)."""
        value = np.asarray(value, dtype=np.float64)
        if self._value is None:
            self._value, self._speed, self._time = value, np.zeros_like(value), timestamp
            return value.copy()
        elapsed = timestamp - self._time
        if elapsed <= 0:
            raise ValueError(f"timestamps must increase; got {timestamp} after {self._time}")
        speed = (value - self._value) / elapsed
        self._speed = _low_pass(self._speed, speed, _alpha(self.d_cutoff, elapsed))
        cutoff = self.min_cutoff + self.beta * np.abs(self._speed)
        self._value = _low_pass(self._value, value, _alpha(cutoff, elapsed))
        self._time = timestamp
        return self._value.copy()


def _alpha(cutoff: float | np.ndarray, elapsed: float) -> float | np.ndarray:
    """Smoothing factor of an exponential filter with this cut-off frequency, for one step of ``elapsed`` seconds."""
    time_constant = 1.0 / (2 * math.pi * cutoff)
    return 1.0 / (1.0 + time_constant / elapsed)


def _low_pass(previous: np.ndarray, value: np.ndarray, alpha: float | np.ndarray) -> np.ndarray:
    return previous + alpha * (value - previous)


def filter_for_strength(strength: float) -> OneEuroFilter | None:
    """A filter for a smoothing strength in [0, 1] (the CLI's ``--smooth``): 0 = none, 0.5 = 1 Hz, 1 = 0.1 Hz.

    The cut-off falls log-linearly from 10 Hz to 0.1 Hz; ``beta`` is per unit of value (a full morph or
    ``ANGLE_RANGE`` degrees, see ``pose_estimation``), so a blink or a quick turn still passes.
    """
    if not 0.0 <= strength <= 1.0:
        raise InputError(f"smoothing strength must lie in [0, 1]; got {strength}")
    if strength == 0.0:
        return None
    return OneEuroFilter(min_cutoff=10.0 ** (1.0 - 2.0 * strength), beta=0.5, d_cutoff=1.0)
