"""The AnimeCeleb loader on a tiny official-layout root built here (SPEC 6.1), parquet round trip, writer, pairs."""

from __future__ import annotations

import csv
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
from PIL import Image

from animeceleb.data import (
    AnimeCelebPairs,
    OfficialLayoutWriter,
    SyntheticPairs,
    export_parquet,
    load_animeceleb,
)
from animeceleb.errors import InputError
from animeceleb.evaluate.datasets import open_pairs
from animeceleb.pose import MORPH_NAMES, POSE_GROUPS, POSE_NAMES

# identity -> (cluster, folder, frames). Official split: 0 and 1 are train ids, 9 a test id, 17 in neither list.
IDENTITIES = {0: ("3", "amy", 3), 9: ("12", "bob", 2), 17: ("3", "cat", 1), 1: ("12", "dan", 2)}
HEADER = ["org_id", "num_cluster", "png_name", *POSE_NAMES]


def _rgba(rng: np.random.Generator) -> np.ndarray:
    image = rng.integers(0, 256, (8, 8, 4), dtype=np.uint8)
    image[0, 0, 3], image[0, 1, 3], image[0, 2, 3] = 0, 255, 128  # transparent, opaque and half
    return image


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An official-layout root written by hand: CSV with header, RGBA PNGs, basis images."""
    root = tmp_path_factory.mktemp("animeceleb")
    rng = np.random.default_rng(0)
    rows = []
    for identity, (cluster, folder, frames) in IDENTITIES.items():
        for index in range(frames):
            name = f"{folder}_{index:03d}.png"
            path = root / "rotation" / cluster / folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(_rgba(rng), "RGBA").save(path)
            pose = [f"{v:.6f}" for v in rng.uniform(0, 1, 17)] + [f"{v:.4f}" for v in rng.uniform(-20, 20, 3)]
            rows.append([str(identity), cluster, name, *pose])
        (root / "basis" / folder).mkdir(parents=True)
        Image.fromarray(_rgba(rng), "RGBA").save(root / "basis" / folder / "basis.png")
    with (root / "combined_pose.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *rows])
    return root


def _csv_rows(root: Path) -> list[list[str]]:
    with (root / "combined_pose.csv").open(newline="") as handle:
        return list(csv.reader(handle))[1:]


def _composite(path: Path) -> np.ndarray:
    rgba = np.asarray(Image.open(path)).astype(np.float32)
    alpha = rgba[..., 3:] / np.float32(255)
    return (rgba[..., :3] * alpha + (1 - alpha) * 255).astype(np.uint8)


def test_columns_and_rows_match_the_csv(root: Path) -> None:
    train = load_animeceleb(root)
    assert isinstance(train, datasets.Dataset)
    assert {"image", "identity", "cluster", "png_name", "pose", *POSE_NAMES} == set(train.column_names)
    rows = [row for row in _csv_rows(root) if row[0] in ("0", "1")]
    assert len(train) == len(rows) == 5
    for item, row in zip(train, rows, strict=True):
        assert (item["identity"], item["cluster"], item["png_name"]) == (int(row[0]), row[1], row[2])
        expected = np.asarray(row[3:], dtype=np.float32)
        assert np.array_equal(np.asarray(item["pose"], dtype=np.float32), expected)
        assert [item[name] for name in POSE_NAMES] == item["pose"]
        image = item["image"]
        assert isinstance(image, Image.Image) and image.mode == "RGB"
        folder = row[2].split("_")[0]
        assert np.array_equal(np.asarray(image), _composite(root / "rotation" / row[1] / folder / row[2]))


def test_splits_follow_the_official_identity_lists(root: Path) -> None:
    splits = load_animeceleb(root, split=None)
    assert isinstance(splits, datasets.DatasetDict)
    assert {name: sorted(set(part["identity"])) for name, part in splits.items()} == {
        "train": [0, 1],
        "test": [9],
        "other": [17],
    }
    assert len(load_animeceleb(root, split="all")) == 8
    assert set(load_animeceleb(root, split="test")["identity"]) == {9}


def test_split_lists_can_be_given(root: Path, tmp_path: Path) -> None:
    (tmp_path / "train_list.txt").write_text("9\n17\n")
    (tmp_path / "test_list.txt").write_text("0\n")
    splits = load_animeceleb(root, None, split_lists=tmp_path)
    assert sorted(set(splits["train"]["identity"])) == [9, 17] and set(splits["other"]["identity"]) == {1}


def test_basis_and_alpha_options(root: Path) -> None:
    item = load_animeceleb(root, "test", with_basis=True)[0]
    assert np.array_equal(np.asarray(item["basis_image"]), _composite(root / "basis" / "bob" / "basis.png"))
    raw = load_animeceleb(root, "test", composite=False)[0]["image"]
    assert raw.mode == "RGBA"
    assert np.array_equal(np.asarray(raw), np.asarray(Image.open(root / "rotation/12/bob/bob_000.png")))


def test_layout_to_parquet_to_loader_gives_identical_rows(root: Path, tmp_path: Path) -> None:
    export_parquet(root, tmp_path / "pq", with_basis=True, rows_per_shard=2)
    assert sorted(path.name for path in (tmp_path / "pq" / "data").iterdir())[:2] == [
        "other-00000-of-00001.parquet",
        "test-00000-of-00001.parquet",
    ]
    original = load_animeceleb(root, None, with_basis=True)
    exported = load_animeceleb(tmp_path / "pq", None, cache_dir=tmp_path / "cache")
    assert set(exported) == set(original)
    for split in original:
        assert exported[split].features == original[split].features
        assert len(exported[split]) == len(original[split])
        for ours, theirs in zip(original[split], exported[split], strict=True):
            for key, value in ours.items():
                if isinstance(value, Image.Image):
                    assert np.array_equal(np.asarray(value), np.asarray(theirs[key])), key
                else:
                    assert value == theirs[key], key


def test_parquet_streams(root: Path, tmp_path: Path) -> None:
    export_parquet(root, tmp_path / "pq")
    stream = load_animeceleb(tmp_path / "pq", "train", streaming=True)
    assert isinstance(stream, datasets.IterableDataset)
    first = next(iter(stream))
    assert first["image"].mode == "RGB" and first["png_name"] == "amy_000.png" and len(first["pose"]) == 20


# -- Errors ----------------------------------------------------------------------------------------------------------


def _root_with_rows(root: Path, tmp_path: Path, rows: list[list[str]]) -> Path:
    """A root sharing the fixture's images, with its own CSV."""
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "rotation").symlink_to(root / "rotation", target_is_directory=True)
    with (copy / "combined_pose.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *rows])
    return copy


def test_missing_csv_is_explained(tmp_path: Path) -> None:
    (tmp_path / "rotation").mkdir()
    with pytest.raises(InputError, match="no combined_pose.csv"):
        load_animeceleb(tmp_path)


def test_missing_image_names_the_csv_line(root: Path, tmp_path: Path) -> None:
    rows = _csv_rows(root)
    rows[2][2] = "amy_999.png"
    with pytest.raises(InputError, match=r"line 4: its image rotation/3/amy/amy_999.png does not exist"):
        load_animeceleb(_root_with_rows(root, tmp_path, rows))


@pytest.mark.parametrize(
    ("line", "edit", "message"),
    [
        (3, lambda row: row[:-1], "expected 23 fields, got 22"),
        (5, lambda row: [*row[:5], "abc", *row[6:]], "pose value eyes_smile 'abc' is not a number"),
        (2, lambda row: ["x", *row[1:]], "org_id 'x' is not an integer"),
        (4, lambda row: [*row[:21], "nan", *row[22:]], "head_roll is nan"),
        (6, lambda row: [*row[:3], "", *row[4:]], "line 6"),
    ],
)
def test_malformed_rows_name_their_line(root: Path, tmp_path: Path, line: int, edit, message: str) -> None:
    rows = _csv_rows(root)
    rows[line - 2] = edit(rows[line - 2])
    with pytest.raises(InputError, match=f"line {line}") as caught:
        load_animeceleb(_root_with_rows(root, tmp_path, rows))
    assert message in str(caught.value)


def test_bad_header_and_arguments(root: Path, tmp_path: Path) -> None:
    (tmp_path / "combined_pose.csv").write_text("a,b,c\n1,2,3\n")
    with pytest.raises(InputError, match="line 1: expected a header"):
        load_animeceleb(tmp_path)
    with pytest.raises(InputError, match="unknown split 'val'"):
        load_animeceleb(root, "val")
    with pytest.raises(InputError, match="not a dataset folder"):
        load_animeceleb(root / "combined_pose.csv")
    with pytest.raises(InputError, match="no combined_pose.csv"):
        load_animeceleb(root / "rotation")


# -- Writer ----------------------------------------------------------------------------------------------------------


def test_writer_output_loads_and_resumes(tmp_path: Path) -> None:
    image = np.zeros((8, 8, 4), dtype=np.uint8)
    pose = np.linspace(0, 1, 20).astype(np.float32)
    (tmp_path / "cached.json").write_text("{}")
    with OfficialLayoutWriter(tmp_path) as writer:
        writer.write_frame(5, 2, "eve_0.png", image, pose)
        writer.write_frame(5, 2, "eve_1.png", image, pose * 0.5)
        writer.write_splits([5], [])
        with pytest.raises(InputError, match="start with its folder name 'eve'"):
            writer.write_frame(5, 2, "zoe_2.png", image, pose)
        with pytest.raises(InputError, match="identity 5 is in cluster 2; got 3"):
            writer.write_frame(5, 3, "eve_2.png", image, pose)
    assert not (tmp_path / "cached.json").exists()  # the official loader's cache would be stale
    with (tmp_path / "combined_pose.csv").open("a") as handle:
        handle.write("5,2,eve_2.png,0.5,0.")  # an interrupted row
    with OfficialLayoutWriter(tmp_path) as writer:
        assert writer.has(5, "eve_1.png") and not writer.has(5, "eve_2.png")
        writer.write_frame(5, 2, "eve_2.png", Image.fromarray(image), pose)
    dataset = load_animeceleb(tmp_path)
    assert dataset["png_name"] == ["eve_0.png", "eve_1.png", "eve_2.png"]
    assert np.array_equal(np.asarray(dataset[1]["pose"], dtype=np.float32), pose * 0.5)
    assert np.array_equal(np.asarray(dataset[0]["image"]), np.full((8, 8, 3), 255, dtype=np.uint8))


# -- Pairs -----------------------------------------------------------------------------------------------------------


def test_pairs_sample_two_frames_of_one_identity(root: Path) -> None:
    train = load_animeceleb(root)
    pairs = AnimeCelebPairs(train, seed=3, num_repeats=4)
    assert len(pairs) == 8 and pairs.identities == [0, 1]
    poses = np.asarray(train["pose"], dtype=np.float32)
    images = [torch.from_numpy(np.asarray(item["image"], dtype=np.float32) / 255).permute(2, 0, 1) for item in train]
    for index in range(len(pairs)):
        item = pairs[index]
        rows = [
            int(np.flatnonzero((poses == item[key].numpy()).all(axis=1))[0]) for key in ("source_pose", "driving_pose")
        ]
        assert rows[0] <= rows[1]  # sorted: the earlier frame is the source
        assert {train[row]["identity"] for row in rows} == {item["identity"]} == {pairs.identities[index % 2]}
        assert torch.equal(item["source"], images[rows[0]]) and torch.equal(item["driving"], images[rows[1]])
        assert item["source"].dtype == torch.float32 and item["source"].shape == (3, 8, 8)


def test_pairs_are_reproducible_per_seed_and_epoch(root: Path) -> None:
    def draws(seed: int, epoch: int) -> list[tuple[float, float]]:
        pairs = AnimeCelebPairs(load_animeceleb(root), seed=seed, num_repeats=20)
        pairs.set_epoch(epoch)
        return [(float(pairs[i]["source_pose"][0]), float(pairs[i]["driving_pose"][0])) for i in range(len(pairs))]

    assert draws(1, 0) == draws(1, 0)
    assert draws(1, 0) != draws(2, 0) and draws(1, 0) != draws(1, 1)


def test_jitter_is_shared_by_the_pair_and_time_flip_keeps_poses(root: Path) -> None:
    single = load_animeceleb(root, "other")  # identity 17 has one frame: source and driving are the same image
    plain = AnimeCelebPairs(single, seed=0)[0]
    for index in range(6):
        item = AnimeCelebPairs(single, seed=index, use_jitter=True, use_time_flip=True)[0]
        assert torch.equal(item["source"], item["driving"])
        assert not torch.equal(item["source"], plain["source"])
    flipped = [AnimeCelebPairs(load_animeceleb(root), seed=s, use_time_flip=True)[0] for s in range(12)]
    reference = AnimeCelebPairs(load_animeceleb(root), seed=0)
    images = {tuple(reference.poses[r].tolist()): r for r in range(len(reference.poses))}
    swapped = 0
    for item in flipped:
        source_row = images[tuple(item["source_pose"].tolist())]
        source_image = np.asarray(reference.dataset[source_row]["image"], dtype=np.float32) / 255
        swapped += not np.array_equal(item["source"].permute(1, 2, 0).numpy(), source_image)
    assert 0 < swapped < 12  # the images (not the poses) are swapped about half of the time


def test_synthetic_pairs_have_the_same_format() -> None:
    pairs = SyntheticPairs(num_identities=5, length=7, size=64, seed=1, use_jitter=True)
    batch = next(iter(torch.utils.data.DataLoader(pairs, batch_size=3)))
    assert batch["source"].shape == (3, 3, 64, 64) and batch["source_pose"].shape == (3, 20)
    assert batch["identity"].tolist() == [0, 1, 2] and len(pairs) == 7
    assert float(batch["source"].min()) >= 0 and float(batch["driving"].max()) <= 1
    assert torch.equal(pairs[4]["source"], pairs[4]["source"])
    assert not torch.equal(pairs[4]["source"], pairs[4]["driving"])


def test_strong_expressions_redraw_a_fraction_of_the_driving_poses() -> None:
    plain = SyntheticPairs(num_identities=5, length=40, size=32, seed=1)
    strong = SyntheticPairs(num_identities=5, length=40, size=32, seed=1, strong_expressions=0.5)
    assert torch.equal(SyntheticPairs(num_identities=5, length=40, size=32, seed=1)[3]["driving"], plain[3]["driving"])
    redrawn = 0
    for index in range(len(plain)):
        ours, theirs = strong[index], plain[index]
        assert torch.equal(ours["source_pose"], theirs["source_pose"])  # the source pose is drawn as before
        if not torch.equal(ours["driving_pose"], theirs["driving_pose"]):
            redrawn += 1
            assert ours["driving_pose"][:17][ours["driving_pose"][:17] > 0].min() >= 0.5
            assert not torch.equal(ours["driving"], theirs["driving"])  # rendered in the new pose
    assert 10 < redrawn < 30
    with pytest.raises(InputError, match="strong_expressions"):
        SyntheticPairs(strong_expressions=1.5)


def test_expression_changes_keep_the_head_still_and_change_one_chosen_morph() -> None:
    options = {"num_identities": 5, "length": 40, "size": 32, "seed": 1, "strong_expressions": 0.25}
    strong = SyntheticPairs(**options)
    mixed = SyntheticPairs(**options, expression_changes=0.5, expression_morphs=("mouth_a", "mouth_o"))
    mouth = [MORPH_NAMES.index(name) for name in POSE_GROUPS["mouth"]]
    chosen = [MORPH_NAMES.index("mouth_a"), MORPH_NAMES.index("mouth_o")]
    changed = 0
    for index in range(len(mixed)):
        ours, theirs = mixed[index], strong[index]
        assert torch.equal(ours["source_pose"], theirs["source_pose"])
        if torch.equal(ours["driving_pose"], theirs["driving_pose"]):
            continue  # a strong or a dataset-like driving pose, drawn as without expression_changes
        changed += 1
        source, driving = ours["source_pose"].clone(), ours["driving_pose"]
        assert driving[mouth].count_nonzero() == 1 and driving[chosen].max() >= 0.5
        source[mouth] = driving[mouth]
        assert torch.equal(source, driving)  # the head and the other groups stay as in the source
    assert 10 < changed < 30
    with pytest.raises(InputError, match="expression_changes"):
        SyntheticPairs(strong_expressions=0.6, expression_changes=0.6)
    with pytest.raises(InputError, match="morph names"):
        SyntheticPairs(expression_changes=0.5, expression_morphs=("mouth_wide",))


def test_pose_redraws_need_synthetic_data(root: Path) -> None:
    with pytest.raises(InputError, match="synthetic data only"):
        open_pairs(str(root), "train", strong_expressions=0.3)
    with pytest.raises(InputError, match="synthetic data only"):
        open_pairs(str(root), "train", expression_changes=0.3)


def test_animo_sampling_never_draws_the_last_identity(root: Path) -> None:
    pairs = AnimeCelebPairs(load_animeceleb(root, "all"), seed=0, num_repeats=10, use_animo_sampling=True)
    assert pairs.identities == [0, 9, 17, 1]
    assert {pairs[index]["identity"] for index in range(len(pairs))} == {0, 9, 17}
