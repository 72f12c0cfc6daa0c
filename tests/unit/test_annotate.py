"""Annotation tool, main-environment side (no Blender): morph mapping, pose sampling, the official layout, errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from animeceleb.annotate import (
    ModelInfo,
    ShapeKeyBind,
    blender_python,
    choose_head_bone,
    load_morph_map,
    load_poses,
    resolve_morph_map,
)
from animeceleb.annotate.annotator import FRAME_DIGITS
from animeceleb.annotate.blender import BLENDER_PYTHON_ENV
from animeceleb.annotate.contact_sheet import write_contact_sheet
from animeceleb.cli import main
from animeceleb.data import layout
from animeceleb.data.sampling import sample_poses
from animeceleb.errors import AnimeCelebError, InputError
from animeceleb.pose import ANGLE_RANGE, MORPH_NAMES, POSE_DIM, POSE_GROUPS, POSE_NAMES, pose_index

VROID = ["Fcl_EYE_Close_L", "Fcl_EYE_Close_R", "Fcl_EYE_Joy", "Fcl_BRW_Angry", "Fcl_MTH_A", "Fcl_MTH_O", "Fcl_MTH_Fun"]
MMD = ["まばたき", "ｳｨﾝｸ", "ウィンク右", "笑い", "困る", "あ", "い", "う", "え", "お", "ω"]
ARKIT = ["blendShape1.eyeBlinkLeft", "eyeBlinkRight", "browInnerUp", "browOuterUpLeft", "jawOpen", "mouthFunnel"]


def keys_of(mapping, morph: str) -> list[tuple[str, float]]:
    return [(bind.key, bind.weight) for bind in mapping.bindings[morph]]


def test_vroid_names_map_automatically() -> None:
    mapping = resolve_morph_map({"Face": VROID, "Body": ["Fcl_MTH_A"]})
    assert keys_of(mapping, "eye_close_left") == [("Fcl_EYE_Close_L", 1.0)]
    assert keys_of(mapping, "eyes_smile") == [("Fcl_EYE_Joy", 1.0)]
    assert keys_of(mapping, "brows_angry") == [("Fcl_BRW_Angry", 1.0)]
    assert keys_of(mapping, "mouth_smile") == [("Fcl_MTH_Fun", 1.0)]
    assert {bind.mesh for bind in mapping.bindings["mouth_a"]} == {"Face", "Body"}  # every mesh with the key
    assert "mouth_i" in mapping.unmapped and "mouth_i" not in mapping.bindings


def test_mmd_japanese_names_map_including_half_width_katakana() -> None:
    mapping = resolve_morph_map({"Model": MMD})
    assert keys_of(mapping, "eye_close_left") == [("ｳｨﾝｸ", 1.0)]
    assert keys_of(mapping, "eye_close_right") == [("ウィンク右", 1.0)]
    assert keys_of(mapping, "eyes_smile") == [("笑い", 1.0)]
    assert keys_of(mapping, "brows_sad") == [("困る", 1.0)]
    assert keys_of(mapping, "mouth_cat") == [("ω", 1.0)]
    assert [keys_of(mapping, f"mouth_{v}")[0][0] for v in "aiueo"] == list("あいうえお")


def test_arkit_names_map_and_combinations_need_every_part() -> None:
    mapping = resolve_morph_map({"Face": ARKIT})
    assert keys_of(mapping, "eye_close_left") == [("blendShape1.eyeBlinkLeft", 1.0)]  # prefix ignored
    assert keys_of(mapping, "eyes_half") == [("blendShape1.eyeBlinkLeft", 0.5), ("eyeBlinkRight", 0.5)]
    assert keys_of(mapping, "mouth_a") == [("jawOpen", 1.0)]
    assert keys_of(mapping, "mouth_o") == [("mouthFunnel", 1.0)]
    assert "brows_up" in mapping.unmapped  # browOuterUpRight is missing, so the three-key combination is not used
    assert keys_of(mapping, "brows_sad") == [("browInnerUp", 1.0)]


def test_vrm_expressions_come_before_raw_shape_keys() -> None:
    expressions = {"aa": [["Face", "Fcl_MTH_A", 0.8]], "blink_l": [["Face", "Fcl_EYE_Close_L", 1.0]]}
    mapping = resolve_morph_map({"Face": VROID}, expressions)
    assert mapping.bindings["mouth_a"] == (ShapeKeyBind("Face", "Fcl_MTH_A", 0.8),)
    assert mapping.sources["mouth_a"] == "automatic: 'expression:aa'"
    assert mapping.sources["eye_close_left"] == "automatic: 'expression:blink_l'"  # the VRM 0.x preset name


def test_own_names_win_and_overrides_replace_or_remove() -> None:
    shape_keys = {"Face": ["mouth_a", "Fcl_MTH_A", "Fcl_MTH_O", "Brow Up", "Smile_L", "Smile_R"]}
    overrides = {"brows_up": "brow-up", "mouth_o": None, "mouth_smile": {"Smile_L": 0.5, "Smile_R": 0.5}}
    mapping = resolve_morph_map(shape_keys, overrides=overrides)
    assert keys_of(mapping, "mouth_a") == [("mouth_a", 1.0)]
    assert keys_of(mapping, "brows_up") == [("Brow Up", 1.0)]
    assert keys_of(mapping, "mouth_smile") == [("Smile_L", 0.5), ("Smile_R", 0.5)]
    assert "mouth_o" in mapping.unmapped
    assert mapping.mapped == ("brows_up", "mouth_smile", "mouth_a")
    assert mapping.to_json()["mouth_smile"] == [["Face", "Smile_L", 0.5], ["Face", "Smile_R", 0.5]]


def test_override_naming_a_missing_key_lists_the_keys() -> None:
    with pytest.raises(InputError, match=r"brows_up -> 'Nope'.*Fcl_MTH_A"):
        resolve_morph_map({"Face": VROID}, overrides={"brows_up": "Nope"})


def test_mapping_files(tmp_path: Path) -> None:
    yaml_file = tmp_path / "map.yaml"
    yaml_file.write_text("brows_up: MyBrow\nmouth_o: null\nmouth_i: [I_L, I_R]\n", encoding="utf-8")
    assert load_morph_map(yaml_file) == {"brows_up": "MyBrow", "mouth_o": None, "mouth_i": ["I_L", "I_R"]}
    json_file = tmp_path / "map.json"
    json_file.write_text(json.dumps({"mouth_smile": {"Smile": 0.7}}), encoding="utf-8")
    assert load_morph_map(json_file) == {"mouth_smile": {"Smile": 0.7}}
    json_file.write_text(json.dumps({"smile": "Smile"}), encoding="utf-8")
    with pytest.raises(InputError, match="unknown morph 'smile'; valid names: eye_close_left"):
        load_morph_map(json_file)
    with pytest.raises(InputError, match="cannot read"):
        load_morph_map(tmp_path / "missing.yaml")


def test_sampling_is_deterministic_extendable_and_uses_only_mapped_morphs() -> None:
    morphs = ("eye_close_left", "eyes_wide", "brows_up", "mouth_a", "mouth_o")

    def sample(count: int, seed: int) -> np.ndarray:  # as the annotation tool samples
        return sample_poses(np.random.default_rng(seed), count, morphs=morphs, eye_pairs=False)

    poses = sample(200, seed=3)
    assert poses.shape == (200, POSE_DIM)
    np.testing.assert_array_equal(poses, sample(200, seed=3))
    np.testing.assert_array_equal(poses[:50], sample(50, seed=3))  # more frames extend a run
    assert not np.array_equal(poses, sample(200, seed=4))
    unmapped = [pose_index(name) for name in MORPH_NAMES if name not in morphs]
    assert not poses[:, unmapped].any()
    for group in ("eyes", "brows", "mouth"):
        columns = [pose_index(name) for name in POSE_GROUPS[group]]
        assert (np.count_nonzero(poses[:, columns], axis=1) <= 1).all()  # at most one morph per group
        assert np.count_nonzero(poses[:, columns]) > 50  # and groups are often active
    morph_values = poses[:, : len(MORPH_NAMES)]
    assert morph_values.min() >= 0 and morph_values.max() <= 1
    angles = poses[:, len(MORPH_NAMES) :]
    assert np.abs(angles).max() <= ANGLE_RANGE and angles.min() < -15 and angles.max() > 15
    np.testing.assert_array_equal(poses, np.round(poses, 4))  # exactly representable in the CSV text


def test_load_poses_from_csv_and_json(tmp_path: Path) -> None:
    csv_file = tmp_path / "poses.csv"
    csv_file.write_text("mouth_a,head_yaw\n1,20\n0.5,-3.25\n", encoding="utf-8")
    poses = load_poses(csv_file)
    assert poses.shape == (2, POSE_DIM) and poses.dtype == np.float64
    assert poses[1, pose_index("head_yaw")] == -3.25 and poses[0, pose_index("mouth_a")] == 1.0
    assert np.count_nonzero(poses) == 4
    json_file = tmp_path / "poses.json"
    json_file.write_text(json.dumps([{"eye_close_left": 1}, [0.0] * 19 + [5.0]]), encoding="utf-8")
    assert load_poses(json_file)[1, -1] == 5.0
    csv_file.write_text("mouth_a\n2\n", encoding="utf-8")
    with pytest.raises(InputError, match="mouth_a"):
        load_poses(csv_file)
    csv_file.write_text("smile\n1\n", encoding="utf-8")
    with pytest.raises(InputError, match="unknown pose value 'smile'"):
        load_poses(csv_file)


def test_folder_and_png_names_survive_the_loaders_split() -> None:
    assert layout.folder_name_for("My_Char (v2)") == "My-Char-v2"
    assert layout.folder_name_for("ミク") == "character"
    name = layout.frame_name("My-Char-v2", 7, digits=FRAME_DIGITS)
    assert name == "My-Char-v2_00007.png" and name.split("_")[0] == "My-Char-v2"


def test_csv_rows_replace_one_identity_and_keep_the_others(tmp_path: Path) -> None:
    first = np.random.default_rng(0).random((3, POSE_DIM))
    layout.write_identity_rows(tmp_path, 5, 1, ["b_0.png", "b_1.png", "b_2.png"], first)
    layout.write_identity_rows(tmp_path, 2, 0, ["a_0.png"], np.full((1, POSE_DIM), 0.1))
    (tmp_path / "cached.json").write_text("{}", encoding="utf-8")
    path = layout.write_identity_rows(tmp_path, 5, 1, ["b_0.png", "b_1.png"], first[:2])
    assert not (tmp_path / "cached.json").exists()  # the loader's identity tree is stale
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["org_id", "num_cluster", "png_name", *POSE_NAMES]
    assert [row[:3] for row in rows[1:]] == [["2", "0", "a_0.png"], ["5", "1", "b_0.png"], ["5", "1", "b_1.png"]]
    np.testing.assert_array_equal(np.array([row[3:] for row in rows[2:]], dtype=np.float64), first[:2])
    with pytest.raises(InputError, match="expected 1 poses"):
        layout.write_identity_rows(tmp_path, 1, 0, ["x_0.png"], first)


def test_head_bone_choice() -> None:
    info = ModelInfo("gltf", {"Armature": ("Hips", "Neck", "J_Bip_C_Head", "J_Bip_C_HeadTop_End")}, None, {}, {})
    assert choose_head_bone(info) == ("Armature", "J_Bip_C_Head")
    mixamo = ModelInfo("gltf", {"Rig": ("mixamorig:Neck", "mixamorig:Head", "mixamorig:HeadTop_End")}, None, {}, {})
    assert choose_head_bone(mixamo) == ("Rig", "mixamorig:Head")
    assert choose_head_bone(ModelInfo("gltf", {"Rig": ("首", "頭")}, None, {}, {})) == ("Rig", "頭")
    vrm = ModelInfo("vrm", {"Armature": ("head", "skull")}, ("Armature", "skull"), {}, {})
    assert choose_head_bone(vrm) == ("Armature", "skull")
    assert choose_head_bone(vrm, "head") == ("Armature", "head")
    with pytest.raises(InputError, match="no head bone found; pass one of these with --head-bone: Hips, Neck"):
        choose_head_bone(ModelInfo("gltf", {"Armature": ("Hips", "Neck")}, None, {}, {}))
    with pytest.raises(InputError, match="no bone named 'Skull'"):
        choose_head_bone(info, "Skull")


def test_contact_sheet_grid(tmp_path: Path) -> None:
    paths = []
    for index in range(6):
        path = tmp_path / f"{index}.png"
        Image.new("RGBA", (40, 40), (255, 0, 0, 255 if index % 2 else 0)).save(path)
        paths.append(path)
    sheet = write_contact_sheet(paths, tmp_path / "sheet.png", columns=4, cell=32)
    with Image.open(sheet) as image:
        assert image.size == (128, 64) and image.mode == "RGB"
        assert image.getpixel((0, 0)) == (255, 255, 255)  # transparent tiles show white
        assert image.getpixel((40, 10)) == (255, 0, 0)


def test_missing_blender_environment_names_the_make_target(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv(BLENDER_PYTHON_ENV, str(tmp_path / "no-python"))
    with pytest.raises(AnimeCelebError, match="make blender-env"):
        blender_python()
    model = tmp_path / "character.glb"
    model.write_bytes(b"glTF")
    assert main(["annotate", str(model), str(tmp_path / "out")]) == 2
    message = capsys.readouterr().err
    assert message.startswith("error: the Blender environment is missing") and "make blender-env" in message


def test_cli_refuses_other_model_formats(tmp_path: Path, capsys) -> None:
    model = tmp_path / "character.fbx"
    model.write_bytes(b"x")
    assert main(["annotate", str(model), str(tmp_path / "out")]) == 2
    assert "expected a .vrm, .glb, .gltf model file" in capsys.readouterr().err
