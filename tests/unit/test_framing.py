"""Framing: the canonical numbers match the renderer, crop/inverse round trips within 1 px, paste-back is local."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from animeceleb.data.synthetic import SyntheticCharacter, part_boxes, render
from animeceleb.errors import InputError
from animeceleb.framing import CANONICAL, Framing, HeadBox, PasteBack, auto_head_box, draw_guide, frame_source
from animeceleb.pose import Pose

FRAME = (64, 64)


def characters(count: int) -> list[SyntheticCharacter]:
    return [SyntheticCharacter.random(np.random.default_rng([11, index])) for index in range(count)]


def test_canonical_framing_is_the_renderers() -> None:
    size = 256
    eyes, mouths, boxes = [], [], []
    for character in characters(16):
        parts = part_boxes(character, Pose.neutral(), size)
        eyes.append(sum(parts[eye][1] + parts[eye][3] for eye in ("eye_left", "eye_right")) / 4)
        mouths.append((parts["mouth"][1] + parts["mouth"][3]) / 2)
        box = auto_head_box(render(character, Pose.neutral(), size, rgba=True))
        boxes.append((box.x, box.y, box.scale))
    assert np.median(eyes) / size == pytest.approx(CANONICAL.eye_line, abs=0.01)
    assert np.median(mouths) / size == pytest.approx(CANONICAL.mouth_line, abs=0.01)
    x, y, scale = np.median(boxes, axis=0) / size  # the silhouette band measure finds the renderer's head
    assert (x, y) == pytest.approx(CANONICAL.head_center, abs=0.02)
    assert scale == pytest.approx(CANONICAL.head_radius, rel=0.05)


def test_auto_frame_finds_a_placed_character() -> None:
    character = characters(1)[0]
    head = render(character, Pose.neutral(), 256, rgba=True)
    canvas = np.zeros((600, 800, 4), np.uint8)  # the character at 1.5x, off-centre, on a transparent picture
    canvas[150:534, 350:734] = np.asarray(Image.fromarray(head).resize((384, 384), Image.Resampling.BICUBIC))
    found = auto_head_box(canvas)
    reference = auto_head_box(head)
    assert found.x == pytest.approx(350 + 1.5 * reference.x, abs=3)
    assert found.y == pytest.approx(150 + 1.5 * reference.y, abs=3)
    assert found.scale == pytest.approx(1.5 * reference.scale, rel=0.03)
    framed = frame_source(canvas, None, (256, 256)).crop(canvas)
    assert np.abs(framed[..., 3].astype(int) - head[..., 3]).mean() < 8  # back to the renderer's framing


def test_points_round_trip() -> None:
    framing = Framing.from_box(HeadBox(700.3, 260.8, 90.5), (768, 1024), FRAME)
    points = np.random.default_rng(0).uniform(0, 1000, (50, 2))
    np.testing.assert_allclose(framing.to_source(framing.to_frame(points)), points, atol=1e-9)
    head = framing.to_frame([[700.3, 260.8]])[0]
    np.testing.assert_allclose(head, np.multiply(CANONICAL.head_center, FRAME[::-1]))


def dot_picture(center: tuple[float, float], size: tuple[int, int] = (768, 1024)) -> np.ndarray:
    """A mid-grey picture with a black disc of radius 12 around ``center`` (x, y)."""
    ys, xs = np.mgrid[: size[0], : size[1]] + 0.5
    inside = np.clip(12.5 - np.hypot(xs - center[0], ys - center[1]), 0, 1)
    return np.repeat((128 * (1 - inside))[..., None], 3, axis=2).round().astype(np.uint8)


def centroid(image: np.ndarray) -> np.ndarray:
    weight = (128 - image[..., 0].astype(float)).clip(0)
    ys, xs = np.mgrid[: image.shape[0], : image.shape[1]] + 0.5
    return np.array([(xs * weight).sum(), (ys * weight).sum()]) / weight.sum()


def test_image_round_trip_within_a_pixel() -> None:
    dot = (690.0, 300.0)
    picture = dot_picture(dot)
    framing = Framing.from_box(HeadBox(680.0, 310.0, 100.0), picture.shape[:2], (256, 256))
    crop = framing.crop(picture)
    np.testing.assert_allclose(framing.to_source([centroid(crop)])[0], dot, atol=1.0)
    pasted = PasteBack(picture, framing)(crop)
    assert pasted.shape == picture.shape
    np.testing.assert_allclose(centroid(pasted), dot, atol=1.0)


@pytest.mark.parametrize("channels", [3, 4])
def test_paste_back_changes_only_the_masked_area(channels: int) -> None:
    rng = np.random.default_rng(1)
    picture = rng.integers(0, 256, (768, 1024, channels), dtype=np.uint8)
    framing = Framing.from_box(HeadBox(850.0, 120.0, 60.0), picture.shape[:2], FRAME)  # frame crosses the edges
    paste = PasteBack(picture, framing)
    frame = rng.integers(0, 256, (*FRAME, channels), dtype=np.uint8)
    result = paste(frame)
    assert result.shape == picture.shape
    left, top, right, bottom = paste.window
    outside = np.ones(picture.shape[:2], bool)
    outside[top:bottom, left:right] = ~paste.changed
    np.testing.assert_array_equal(result[outside], picture[outside])
    assert (result[~outside] != picture[~outside]).any()


def test_guide_and_errors() -> None:
    frame = np.full((*FRAME, 3), 255, np.uint8)
    guide = draw_guide(frame)
    assert guide.shape == frame.shape and (guide != 255).any() and (frame == 255).all()
    with pytest.raises(InputError, match="x,y,scale"):
        HeadBox.parse("10,20")
    with pytest.raises(InputError, match="positive scale"):
        HeadBox(1, 2, 0)
    with pytest.raises(InputError, match="RGBA"):
        auto_head_box(frame)
    with pytest.raises(InputError, match="fully opaque"):
        auto_head_box(np.full((*FRAME, 4), 255, np.uint8))
    with pytest.raises(InputError, match="outside"):
        Framing.from_box(HeadBox(2000, 10, 50), (768, 1024), FRAME)
    assert HeadBox.parse("10.5, 20,30") == HeadBox(10.5, 20, 30)
