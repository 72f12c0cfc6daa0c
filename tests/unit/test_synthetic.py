"""The procedural renderer: determinism, pose sampling, morph locality and rotation signs (SPEC 0.3)."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

from animeceleb.data.sampling import STRONG_WEIGHT, change_expression, sample_poses, sample_strong_poses
from animeceleb.data.synthetic import (
    NAMED_POSES,
    PARTS,
    SyntheticCharacter,
    character_for,
    part_boxes,
    render,
    render_grid,
)
from animeceleb.errors import InputError
from animeceleb.pose import ANGLE_RANGE, MORPH_NAMES, POSE_GROUPS, Pose

SIZE = 128
CHARACTERS = [character_for(7, identity) for identity in range(4)]

# The part of the face each morph may change (SPEC 0.3 table).
MORPH_PARTS = {
    "eye_close_left": ("eye_left",),
    "eye_close_right": ("eye_right",),
    **{name: ("eye_left", "eye_right") for name in ("eyes_smile", "eyes_wide", "eyes_half")},
    **{name: ("brows",) for name in POSE_GROUPS["brows"]},
    **{name: ("mouth",) for name in POSE_GROUPS["mouth"]},
}


def test_every_morph_has_a_part() -> None:
    assert set(MORPH_PARTS) == set(MORPH_NAMES)
    assert {part for parts in MORPH_PARTS.values() for part in parts} == set(PARTS)


def test_same_seed_same_character_and_image() -> None:
    first = SyntheticCharacter.random(np.random.default_rng(3))
    second = SyntheticCharacter.random(np.random.default_rng(3))
    assert first == second
    pose = NAMED_POSES["happy"]
    assert np.array_equal(render(first, pose, SIZE), render(second, pose, SIZE))
    other = SyntheticCharacter.random(np.random.default_rng(4))
    assert other != first
    assert not np.array_equal(render(other, pose, SIZE), render(first, pose, SIZE))


def test_characters_vary() -> None:
    characters = [character_for(0, identity) for identity in range(40)]
    for field in ("hair", "skin", "iris", "hair_length", "bangs", "accessory", "eye_height"):
        assert len({getattr(c, field) for c in characters}) > 2, field


def test_character_dict_round_trip() -> None:
    character = CHARACTERS[0]
    assert SyntheticCharacter.from_dict(character.to_dict()) == character
    with pytest.raises(InputError, match="unknown \\['wings'\\]"):
        SyntheticCharacter.from_dict({**character.to_dict(), "wings": True})


def test_render_output_and_white_background() -> None:
    image = render(CHARACTERS[0], Pose.neutral(), SIZE)
    assert image.shape == (SIZE, SIZE, 3) and image.dtype == np.uint8
    assert (image[0, 0] == 255).all() and (image[:4].reshape(-1, 3) == 255).mean() > 0.5
    assert (image != 255).any(axis=2).mean() > 0.3  # a character fills a good part of the frame


def test_rgba_alpha_is_the_mask_and_composites_back() -> None:
    character = CHARACTERS[1]
    pose = NAMED_POSES["turn_talk"]
    rgb = render(character, pose, SIZE).astype(np.float32)
    rgba = render(character, pose, SIZE, rgba=True).astype(np.float32)
    alpha = rgba[..., 3:] / 255
    assert rgba.shape == (SIZE, SIZE, 4)
    assert alpha[0, 0, 0] == 0 and alpha[SIZE // 2, SIZE // 2, 0] == 1  # background / face
    composited = rgba[..., :3] * alpha + 255 * (1 - alpha)
    assert np.abs(composited - rgb).max() <= 1.5


@pytest.mark.parametrize("character", CHARACTERS, ids=lambda c: f"{c.hair_length}-{c.bangs}")
@pytest.mark.parametrize("morph", MORPH_NAMES)
def test_each_morph_changes_only_its_part(character: SyntheticCharacter, morph: str) -> None:
    base = Pose.neutral().replace(head_yaw=6.0, head_pitch=-4.0)  # also off-centre
    posed = base.replace(**{morph: 1.0})
    before = render(character, base, SIZE, rgba=True)
    after = render(character, posed, SIZE, rgba=True)
    changed = np.abs(before.astype(int) - after.astype(int)).max(axis=2) > 0
    assert changed.sum() >= 15, f"{morph} barely changes the image ({changed.sum()} pixels)"
    assert np.array_equal(before[..., 3], after[..., 3]), "a morph must not change the silhouette"
    allowed = np.zeros_like(changed)
    for boxes in (part_boxes(character, base, SIZE), part_boxes(character, posed, SIZE)):
        for part in MORPH_PARTS[morph]:
            x0, y0, x1, y1 = boxes[part]
            allowed[y0:y1, x0:x1] = True
    outside = changed & ~allowed
    assert not outside.any(), f"{morph} changes {outside.sum()} pixels outside {MORPH_PARTS[morph]}"


def test_parts_sit_where_a_face_has_them() -> None:
    """Independent of the boxes: brows above eyes above mouth; the character's left eye on the image's right."""
    boxes = part_boxes(CHARACTERS[0], Pose.neutral(), SIZE)
    center = {name: ((x0 + x1) / 2, (y0 + y1) / 2) for name, (x0, y0, x1, y1) in boxes.items()}
    assert center["brows"][1] < center["eye_left"][1] < center["mouth"][1]
    assert center["eye_right"][0] < SIZE / 2 < center["eye_left"][0]
    wink = render(CHARACTERS[0], Pose.from_dict({"eye_close_left": 1}), SIZE).astype(int)
    changed = np.abs(wink - render(CHARACTERS[0], Pose.neutral(), SIZE).astype(int)).max(axis=2) > 0
    assert changed[:, SIZE // 2 :].sum() > 0 and changed[:, : SIZE // 2].sum() == 0


def _centroid(image: np.ndarray, color: tuple[int, int, int]) -> np.ndarray:
    """Mean (x, y) of the pixels of exactly ``color``."""
    ys, xs = np.nonzero((image == np.array(color)).all(axis=2))
    assert len(xs) > 5, "marker colour not found"
    return np.array([xs.mean(), ys.mean()])


def _eyes_center(image: np.ndarray) -> np.ndarray:
    """Mean of the two irises' centroids (each eye counts once, however foreshortened)."""
    ys, xs = np.nonzero((image == np.array(MARKED.iris)).all(axis=2))
    split = xs.mean()
    return np.mean([[xs[side].mean(), ys[side].mean()] for side in (xs < split, xs >= split)], axis=0)


MARKED = dataclasses.replace(CHARACTERS[2], iris=(0, 255, 0))  # an iris colour found nowhere else
OPEN_MOUTH = Pose.from_dict({"mouth_a": 1.0})
MOUTH = (150, 50, 60)  # the renderer's mouth interior
ROTATION_SIZE = 160


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_yaw_sign_moves_the_face_toward_the_image_left(sign: float) -> None:
    front = render(MARKED, OPEN_MOUTH, ROTATION_SIZE)
    turned = render(MARKED, OPEN_MOUTH.replace(head_yaw=sign * 20), ROTATION_SIZE)
    shift = _centroid(turned, MOUTH) - _centroid(front, MOUTH)
    assert sign * shift[0] < -3  # positive yaw: the mouth (and nose) move left
    assert sign * (_eyes_center(turned) - _eyes_center(front))[0] < -3


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_pitch_sign_moves_the_face_down(sign: float) -> None:
    front = render(MARKED, OPEN_MOUTH, ROTATION_SIZE)
    pitched = render(MARKED, OPEN_MOUTH.replace(head_pitch=sign * 20), ROTATION_SIZE)
    assert sign * (_centroid(pitched, MOUTH) - _centroid(front, MOUTH))[1] > 2  # positive pitch: looks down
    assert sign * (_eyes_center(pitched) - _eyes_center(front))[1] > 2


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_roll_sign_is_counter_clockwise(sign: float) -> None:
    rolled = render(MARKED, OPEN_MOUTH.replace(head_roll=sign * 20), ROTATION_SIZE)
    green = (rolled == np.array(MARKED.iris)).all(axis=2)
    ys, xs = np.nonzero(green)
    left_eye_y = ys[xs > ROTATION_SIZE / 2].mean()  # the character's left eye, on the image's right
    right_eye_y = ys[xs < ROTATION_SIZE / 2].mean()
    assert sign * (right_eye_y - left_eye_y) > 3  # counter-clockwise: the image-right eye rises
    front = render(MARKED, OPEN_MOUTH, ROTATION_SIZE)
    assert sign * (_centroid(rolled, MOUTH) - _centroid(front, MOUTH))[0] > 1  # below the pivot: moves right


def test_rotation_is_3d_not_an_image_rotation() -> None:
    """Under yaw the near parts (mouth, eyes) move more than the back of the head."""
    front = render(MARKED, OPEN_MOUTH, ROTATION_SIZE, rgba=True)
    turned = render(MARKED, OPEN_MOUTH.replace(head_yaw=20), ROTATION_SIZE, rgba=True)
    mouth_shift = (_centroid(turned[..., :3], MOUTH) - _centroid(front[..., :3], MOUTH))[0]
    rows = slice(int(ROTATION_SIZE * 0.1), int(ROTATION_SIZE * 0.3))  # the crown of the hair, above the face
    outline_shift = np.nonzero(turned[rows, :, 3] > 128)[1].mean() - np.nonzero(front[rows, :, 3] > 128)[1].mean()
    assert mouth_shift < -3 and abs(outline_shift) < abs(mouth_shift) / 2


def test_sample_poses_like_the_dataset() -> None:
    poses = sample_poses(np.random.default_rng(0), 2000)
    assert poses.shape == (2000, 20) and poses.dtype == np.float32
    assert np.array_equal(poses, sample_poses(np.random.default_rng(0), 2000))
    morphs, angles = poses[:, :17], poses[:, 17:]
    assert morphs.min() >= 0 and morphs.max() <= 1
    assert np.abs(angles).max() <= ANGLE_RANGE and angles.std(axis=0).min() > 8
    assert (morphs > 0).sum(axis=1).max() <= 4  # sparse: at most two eye morphs, one brow, one mouth
    assert 0.03 < (morphs == 0).all(axis=1).mean() < 0.12  # no group active: 0.4 ** 3
    assert (morphs > 0).any(axis=0).all()  # every morph occurs


def test_strong_poses_close_both_eyes_and_set_every_group() -> None:
    poses = sample_strong_poses(np.random.default_rng(0), 2000)
    assert np.array_equal(poses[:50], sample_strong_poses(np.random.default_rng(0), 50))  # extends like sample_poses
    morphs, angles = poses[:, :17], poses[:, 17:]
    assert np.abs(angles).max() <= ANGLE_RANGE and morphs.max() <= 1
    assert morphs[morphs > 0].min() >= STRONG_WEIGHT
    for group in ("eyes", "brows", "mouth"):  # every group shows an expression
        columns = [MORPH_NAMES.index(name) for name in POSE_GROUPS[group]]
        assert (morphs[:, columns] > 0).any(axis=1).all()
    both_closed = (morphs[:, 0] > 0) & (morphs[:, 0] == morphs[:, 1])
    assert 0.45 < both_closed.mean() < 0.55  # versus ~0.2% of the dataset-like poses
    assert (morphs[both_closed, 2:5] == 0).all()  # closed eyes are not mixed with another eye shape
    dataset_like = sample_poses(np.random.default_rng(0), 2000)
    assert (dataset_like[:, [0, 1]].min(axis=1) >= STRONG_WEIGHT).mean() < 0.02


def test_bad_arguments() -> None:
    with pytest.raises(InputError, match="at least 16"):
        render(CHARACTERS[0], Pose.neutral(), 8)
    with pytest.raises(InputError, match="eye_close_left"):
        render(CHARACTERS[0], np.full(20, 2.0), SIZE)
    with pytest.raises(InputError, match="20 values"):
        render(CHARACTERS[0], np.zeros(7), SIZE)


def test_grid_has_a_cell_per_character_and_pose() -> None:
    grid = render_grid(seed=1, identities=2, size=64)
    label = grid.shape[0] - 2 * 64
    assert grid.shape == (label + 128, 64 * len(NAMED_POSES), 3) and 0 < label < 64


def test_random_characters_render_at_any_size() -> None:
    rng = np.random.default_rng(11)
    poses = sample_poses(rng, 60)
    poses[::7, 17:] = rng.uniform(-35, 35, (len(poses[::7]), 3))  # beyond the sampling range: accepted with a warning
    for index, pose in enumerate(poses):
        size = int(rng.integers(16, 97))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = render(SyntheticCharacter.random(rng), pose, size, rgba=bool(index % 2))
        assert image.shape[:2] == (size, size)
        if image.shape[2] == 4:
            assert 0.2 < (image[..., 3] > 0).mean() < 0.95


def test_change_expression_sets_one_chosen_morph_and_keeps_the_rest() -> None:
    pose = np.array(Pose.from_dict({"eyes_half": 0.4, "brows_up": 0.7, "mouth_smile": 0.3, "head_yaw": 5.0}).values)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(50):
        changed = change_expression(rng, pose, ("eye_close_left", "mouth_o"))
        name = "eye_close_left" if changed[MORPH_NAMES.index("eye_close_left")] else "mouth_o"
        group = [MORPH_NAMES.index(member) for member in POSE_GROUPS["eyes" if name == "eye_close_left" else "mouth"]]
        assert set(np.flatnonzero(changed != pose)) <= set(group)  # the angles and the other groups are untouched
        assert np.flatnonzero(changed[group]).tolist() == [group.index(MORPH_NAMES.index(name))]
        assert STRONG_WEIGHT <= changed[MORPH_NAMES.index(name)] <= 1
        seen.add(name)
    assert seen == {"eye_close_left", "mouth_o"}
    with pytest.raises(InputError, match="morph names"):
        change_expression(rng, pose, ("head_yaw",))
    with pytest.raises(InputError, match="at least one"):
        change_expression(rng, pose, ())
