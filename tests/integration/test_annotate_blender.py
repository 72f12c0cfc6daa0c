"""The annotation tool end to end in Blender: a procedural character (built by ``blender_character.py``, so no
third-party model is needed) rendered with the workbench engine into the official layout.

Checks: the layout and names the loader expects, CSV poses equal to the requested ones, each morph changing pixels
where its feature is, and the SPEC 0.3 angle signs in image terms (+yaw moves the face to the image's left, +pitch
looks down, +roll turns counter-clockwise). Skips when the Blender environment is absent, except on CI, where
``make test`` creates it and a skip would hide a broken setup.
"""

from __future__ import annotations

import csv
import os
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from animeceleb.annotate import AnnotateOptions, annotate_model, blender_python
from animeceleb.errors import AnimeCelebError, InputError
from animeceleb.pose import POSE_NAMES, Pose, stack_poses
from tests.helpers import run_cli

pytestmark = [pytest.mark.blender, pytest.mark.timeout(300)]

SIZE = 96
FOLDER = "Test-Head-glb"  # from the file name Test_Head_glb.glb: "_" is not allowed in folder names
BUILDER = Path(__file__).with_name("blender_character.py")
POSES = {  # requested pose name -> pose; the CSV rows come back in this order
    "neutral": Pose.neutral(),
    "mouth_a": Pose.neutral().replace(mouth_a=1),
    "eye_close_left": Pose.neutral().replace(eye_close_left=1),
    "brows_up": Pose.neutral().replace(brows_up=1),
    "yaw+": Pose.neutral().replace(head_yaw=20),
    "yaw-": Pose.neutral().replace(head_yaw=-20),
    "pitch+": Pose.neutral().replace(head_pitch=20),
    "roll+": Pose.neutral().replace(head_roll=20),
    "mixed": Pose.neutral().replace(mouth_a=0.25, eye_close_right=0.5, head_pitch=-7.5, head_roll=3, head_yaw=12.25),
}


@pytest.fixture(scope="module")
def character(tmp_path_factory) -> dict[str, Path]:
    """The procedural character as .glb and .vrm, and a mapping file for its one unconventional shape key."""
    try:
        python = blender_python()
    except AnimeCelebError as error:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Blender tests (`make test` creates .venv-blender): {error}")
        pytest.skip(f"Blender environment absent: {error}")
    folder = tmp_path_factory.mktemp("character")
    paths = {kind: folder / f"Test_Head_{kind}.{kind[:3]}" for kind in ("glb", "vrm1", "vrm0")}
    command = [str(python), str(BUILDER), str(paths["glb"]), str(paths["vrm1"]), str(paths["vrm0"])]
    built = subprocess.run(command, timeout=120, capture_output=True, text=True)
    assert built.returncode == 0 and paths["vrm0"].is_file(), built.stderr[-3000:]
    paths["map"] = folder / "map.yaml"
    paths["map"].write_text("brows_up: MyBrowRaise\n", encoding="utf-8")
    return paths


@pytest.fixture(scope="module")
def rendered(character, tmp_path_factory) -> Path:
    """The CLI run on the glTF character with the poses above."""
    root = tmp_path_factory.mktemp("dataset")
    poses_file = root.parent / "poses.csv"
    with poses_file.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(POSE_NAMES)
        writer.writerows([pose.values for pose in POSES.values()])
    args = ["annotate", str(character["glb"]), str(root), "--poses", str(poses_file), "--size", str(SIZE)]
    result = run_cli(*args, "--morph-map", str(character["map"]), "--org-id", "7", "--cluster", "2")
    assert result.returncode == 0, result.stderr
    assert "unmapped morphs" in result.stdout and "rendered 10 images (0 already there)" in result.stdout
    return root


def read_rows(root: Path) -> list[list[str]]:
    with (root / "combined_pose.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def image(root: Path, pose_name: str) -> np.ndarray:
    """The RGBA image of one requested pose as int (H, W, 4)."""
    index = list(POSES).index(pose_name)
    return np.asarray(Image.open(root / "rotation" / "2" / FOLDER / f"{FOLDER}_{index:05d}.png"), dtype=int)


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pixels that differ clearly between two renders, (H, W) bool."""
    return np.abs(a - b).max(axis=2) > 40


def eye_pixels(rgba: np.ndarray) -> np.ndarray:
    """The dark blue eyes of the test character, (H, W) bool."""
    red, green, blue, alpha = np.moveaxis(rgba, 2, 0)
    return (blue - red > 50) & (0.299 * red + 0.587 * green + 0.114 * blue < 120) & (alpha > 200)


def centroid(mask: np.ndarray) -> tuple[float, float]:
    """(x, y) mean position of a non-empty mask."""
    assert mask.any()
    ys, xs = np.nonzero(mask)
    return float(xs.mean()), float(ys.mean())


def test_official_layout_and_csv_poses(rendered: Path) -> None:
    rows = read_rows(rendered)
    assert rows[0] == ["org_id", "num_cluster", "png_name", *POSE_NAMES]
    assert [row[:2] for row in rows[1:]] == [["7", "2"]] * len(POSES)
    names = [row[2] for row in rows[1:]]
    folder = names[0].split("_")[0]  # how the loader derives the folder name
    assert folder == FOLDER and names == [f"{FOLDER}_{i:05d}.png" for i in range(len(POSES))]
    for name in names:
        with Image.open(rendered / "rotation" / "2" / folder / name) as png:
            assert png.size == (SIZE, SIZE) and png.mode == "RGBA"
    written = np.array([row[3:] for row in rows[1:]], dtype=np.float32)
    np.testing.assert_array_equal(written, stack_poses(POSES.values()))
    basis = rendered / "basis" / folder / "basis.png"
    np.testing.assert_array_equal(np.asarray(Image.open(basis), dtype=int), image(rendered, "neutral"))
    assert (rendered / "basis" / folder / "contact_sheet.png").is_file()
    corner = image(rendered, "neutral")[0, 0]
    assert corner[3] == 0  # transparent film


def test_morphs_change_pixels_where_their_feature_is(rendered: Path) -> None:
    neutral = image(rendered, "neutral")
    middle = SIZE / 2
    eye_x, eye_y = centroid(eye_pixels(neutral))
    mouth_x, mouth_y = centroid(changed(image(rendered, "mouth_a"), neutral))
    assert abs(mouth_x - middle) < 3 and mouth_y > eye_y + 10  # the mouth opens, centred below the eyes
    wink = changed(image(rendered, "eye_close_left"), neutral)
    wink_x, wink_y = centroid(wink)
    assert wink_x > middle + 5 and abs(wink_y - eye_y) < 5  # the character's left eye is on the image's right
    assert not wink[:, : int(middle)].any()
    brow_x, brow_y = centroid(changed(image(rendered, "brows_up"), neutral))
    assert brow_y < eye_y - 5 and abs(brow_x - eye_x) < 3


def test_angle_signs_in_image_terms(rendered: Path) -> None:
    eye_x, eye_y = centroid(eye_pixels(image(rendered, "neutral")))
    assert centroid(eye_pixels(image(rendered, "yaw+")))[0] < eye_x - 4  # the face turns to the viewer's left
    assert centroid(eye_pixels(image(rendered, "yaw-")))[0] > eye_x + 4
    assert centroid(eye_pixels(image(rendered, "pitch+")))[1] > eye_y + 4  # looks down
    eyes = eye_pixels(image(rendered, "roll+"))
    half = SIZE // 2
    left_eye_y = centroid(eyes[:, :half])[1]
    right_eye_y = centroid(eyes[:, half:])[1]
    assert right_eye_y < left_eye_y - 3  # counter-clockwise: the image-right side goes up


def test_rerun_resumes_and_sampling_is_deterministic(character, tmp_path: Path) -> None:
    options = AnnotateOptions(frames=3, size=64, seed=11, morph_map={"brows_up": "MyBrowRaise"})
    first = annotate_model(character["glb"], tmp_path / "a", options)
    assert (first.rendered, first.reused) == (4, 0)
    stamps = [path.stat().st_mtime_ns for path in first.images]
    again = annotate_model(character["glb"], tmp_path / "a", options)
    assert (again.rendered, again.reused) == (0, 4)
    assert [path.stat().st_mtime_ns for path in again.images] == stamps
    extended = annotate_model(character["glb"], tmp_path / "a", replace(options, frames=4))
    assert (extended.rendered, extended.reused) == (1, 4)
    other = annotate_model(character["glb"], tmp_path / "b", replace(options, frames=4))
    assert read_rows(tmp_path / "a") == read_rows(tmp_path / "b")
    for mine, theirs in zip(extended.images, other.images, strict=True):
        np.testing.assert_array_equal(np.asarray(Image.open(mine)), np.asarray(Image.open(theirs)))
    with pytest.raises(InputError, match="other settings"):
        annotate_model(character["glb"], tmp_path / "a", replace(options, size=32))


@pytest.mark.parametrize(("kind", "blink", "mouth"), [("vrm1", "blinkLeft", "aa"), ("vrm0", "blink_l", "a")])
def test_vrm_expressions_drive_the_face(character, tmp_path: Path, kind: str, blink: str, mouth: str) -> None:
    poses = stack_poses([Pose.neutral(), Pose.neutral().replace(eye_close_left=1)])
    result = annotate_model(character[kind], tmp_path, AnnotateOptions(size=SIZE), poses=poses)
    assert result.mapping.sources["eye_close_left"] == f"automatic: 'expression:{blink}'"
    assert result.mapping.sources["mouth_a"] == f"automatic: 'expression:{mouth}'"
    assert result.head_bone == ("Armature", "head")  # from the VRM humanoid
    neutral, wink = (np.asarray(Image.open(path), dtype=int) for path in result.images)
    assert centroid(changed(wink, neutral))[0] > SIZE / 2 + 5  # the face looks at the camera: left eye on the right


def test_model_problems_are_clear_errors(character, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no bone named 'Skull'; pass one of these with --head-bone: hips, spine"):
        annotate_model(character["glb"], tmp_path, AnnotateOptions(head_bone="Skull"))
    poses = stack_poses([Pose.neutral().replace(mouth_o=1)])
    with pytest.raises(InputError, match="pose 0 sets mouth_o, which the model has no shape key for"):
        annotate_model(character["glb"], tmp_path, poses=poses)
    with pytest.raises(InputError, match="rotating bone 'foot.L' moves no vertex above it"):
        annotate_model(character["glb"], tmp_path, AnnotateOptions(head_bone="foot.L", frames=1, size=16))
