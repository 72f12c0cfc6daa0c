"""Random poses like the dataset's, for the procedural renderer, synthetic training pairs and the annotation tool.

The recipe, as this project reads SPEC 0.3: each semantic group (eyes, brows, mouth) is active with probability 0.6
and then sets one of its morphs to a uniform weight (optionally a second eye morph too, e.g. a wink on half-lidded
eyes); each head angle is uniform in +-ANGLE_RANGE degrees. Every pose uses a fixed number of draws, so the first
``k`` poses of a generator do not depend on how many are asked for: asking for more frames later extends a run.

``sample_strong_poses`` draws the rare end of that distribution on purpose (closed eyes, wide-open mouths), for
training that must learn to draw them; ``change_expression`` changes one morph of a pose and keeps the head still, so
that a training pair shows that expression change alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from animeceleb.errors import InputError
from animeceleb.pose import ANGLE_RANGE, ANGLES, MORPH_NAMES, POSE_DIM, POSE_GROUPS, pose_index

GROUP_PROBABILITY = 0.6  # chance that a group (eyes, brows, mouth) shows one of its morphs
EYE_PAIR_PROBABILITY = 0.25  # with eye pairs: chance that an active eye group adds a second eye morph
DECIMALS = 4  # values are rounded so that a CSV written with few digits holds exactly the pose that was rendered
_GROUPS = ("eyes", "brows", "mouth")
# The uniform draws of one pose: (active, choice, weight) per group, the same for a second eye morph, the angles.
_EYE_PAIR_DRAWS = slice(9, 12)
_ANGLE_DRAWS = slice(12, 15)
_DRAWS = 15
STRONG_WEIGHT = 0.5  # strong poses: every morph they set is at least this
_BOTH_EYES_DRAW = _DRAWS  # strong poses: one extra draw decides whether both eyes close together


def check_morph_names(morphs: Iterable[str]) -> tuple[str, ...]:
    """``morphs`` as a tuple, or an ``InputError`` naming those that are not among the 17 morphs."""
    morphs = tuple(morphs)
    unknown = sorted(set(morphs) - set(MORPH_NAMES))
    if unknown:
        raise InputError(f"unknown morph names {unknown}; expected names from {', '.join(MORPH_NAMES)}")
    return morphs


def redraw_fractions_ok(strong_expressions: float, expression_changes: float) -> bool:
    """Whether the shares of training pairs redrawn to strong poses and to single expression changes can coexist."""
    return min(strong_expressions, expression_changes) >= 0 and strong_expressions + expression_changes <= 1


def sample_poses(
    rng: np.random.Generator, n: int, *, morphs: Iterable[str] = MORPH_NAMES, eye_pairs: bool = True
) -> np.ndarray:
    """Draw ``n`` poses (n, 20) float32 like the dataset: sparse morph combinations and angles within +-20 degrees.

    Args:
        rng: the random source; pose ``i`` depends only on its state and ``i``.
        n: how many poses.
        morphs: the morphs that may be set (the others stay 0), e.g. those a 3D model has shape keys for.
        eye_pairs: let a quarter of the active eye groups add a second eye morph; False keeps at most one morph
            per group.
    """
    if n < 0:
        raise InputError(f"expected n >= 0; got {n}")
    morphs = check_morph_names(morphs)
    draws = rng.random((n, _DRAWS))  # row-major: row i is the same whatever n is
    poses = _poses_from_draws(draws, set(morphs), GROUP_PROBABILITY, 0.0, eye_pairs)
    return (np.round(poses, DECIMALS) + 0.0).astype(np.float32)  # + 0.0 turns -0.0 into 0.0


def sample_strong_poses(rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw ``n`` poses (n, 20) float32 with a strong expression: every group set, each morph at >= STRONG_WEIGHT.

    Half of them close both eyes together (at one weight, no other eye morph), which the dataset-like poses almost
    never do; angles are drawn as in ``sample_poses``. Pose ``i`` depends only on the generator's state and ``i``.
    """
    if n < 0:
        raise InputError(f"expected n >= 0; got {n}")
    draws = rng.random((n, _DRAWS + 1))
    poses = _poses_from_draws(draws[:, :_DRAWS], set(MORPH_NAMES), 1.0, STRONG_WEIGHT, True)
    both = draws[:, _BOTH_EYES_DRAW] < 0.5
    eyes = [pose_index(name) for name in POSE_GROUPS["eyes"]]
    poses[np.ix_(both, eyes)] = 0.0  # closed eyes alone, not mixed with another eye shape
    closed = STRONG_WEIGHT + (1 - STRONG_WEIGHT) * draws[both, 2]  # the eye group's weight draw
    poses[both, pose_index("eye_close_left")] = poses[both, pose_index("eye_close_right")] = closed
    return (np.round(poses, DECIMALS) + 0.0).astype(np.float32)


def _poses_from_draws(
    draws: np.ndarray, allowed: set[str], group_probability: float, min_weight: float, eye_pairs: bool
) -> np.ndarray:
    """Poses (n, 20) from uniform draws (n, _DRAWS): morph weights in [min_weight, 1], angles in +-ANGLE_RANGE."""
    poses = np.zeros((len(draws), POSE_DIM))
    for number, group in enumerate(_GROUPS):
        columns = np.array([pose_index(name) for name in POSE_GROUPS[group] if name in allowed], dtype=int)
        active, choice, weight = draws[:, 3 * number : 3 * number + 3].T
        active = active < group_probability
        _set_morph(poses, columns, active, choice, min_weight + (1 - min_weight) * weight)
        if group == "eyes" and eye_pairs:
            pair, choice, weight = draws[:, _EYE_PAIR_DRAWS].T
            pair_active = active & (pair < EYE_PAIR_PROBABILITY)
            _set_morph(poses, columns, pair_active, choice, min_weight + (1 - min_weight) * weight)
    poses[:, ANGLES] = (2 * draws[:, _ANGLE_DRAWS] - 1) * ANGLE_RANGE
    return poses


def _set_morph(
    poses: np.ndarray, columns: np.ndarray, active: np.ndarray, choice: np.ndarray, weight: np.ndarray
) -> None:
    """In the ``active`` rows, raise the morph that ``choice`` (in [0, 1)) picks among ``columns`` to ``weight``."""
    if len(columns):
        rows = np.flatnonzero(active)
        chosen = columns[(choice[rows] * len(columns)).astype(int)]
        poses[rows, chosen] = np.maximum(poses[rows, chosen], weight[rows])


def change_expression(rng: np.random.Generator, pose: np.ndarray, morphs: Sequence[str] = MORPH_NAMES) -> np.ndarray:
    """A copy of ``pose`` (20,) with one of ``morphs`` at a weight in [STRONG_WEIGHT, 1] and the rest of its group at 0.

    The angles and the other groups stay as they are, so the pair (pose, result) differs in that one expression.
    """
    if not check_morph_names(morphs):
        raise InputError("change_expression needs at least one morph name to choose from")
    name = morphs[int(rng.integers(len(morphs)))]
    group = next(members for members in POSE_GROUPS.values() if name in members)
    changed = np.array(pose, dtype=np.float32)
    changed[[pose_index(member) for member in group]] = 0.0
    changed[pose_index(name)] = round(STRONG_WEIGHT + (1 - STRONG_WEIGHT) * float(rng.random()), DECIMALS)
    return changed
