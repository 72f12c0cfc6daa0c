"""AnimeCeleb as a Hugging Face ``datasets`` object, from the official layout, a parquet folder or the Hub.

`load_animeceleb` reads the official on-disk layout (SPEC 6.1: ``combined_pose.csv``, ``rotation/...`` images,
optional ``basis/...`` images) and the official identity split shipped in the package, or the parquet form that
`export_parquet` writes (images embedded; the same schema, also usable from the Hub and in streaming mode). Columns:

- ``image``: a lazy ``datasets.Image``; indexing returns it composited on white exactly as SPEC 6.4 says
- ``identity`` (``org_id``), ``cluster`` (``num_cluster``), ``png_name``
- the 20 pose values by name (``eye_close_left`` ... ``head_yaw``) and ``pose``, the same 20 values as one list
- ``basis_image`` (only with ``with_basis=True``): the identity's neutral image
"""

from __future__ import annotations

import csv
import logging
import math
import os
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import NoReturn

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from datasets.table import InMemoryTable, embed_table_storage

from animeceleb.data.layout import CSV_HEADER, CSV_NAME, SPLITS_DIR, basis_path, folder_name, image_path
from animeceleb.data.transforms import composite_on_white
from animeceleb.errors import InputError
from animeceleb.pose import POSE_DIM, POSE_NAMES

logger = logging.getLogger(__name__)

SPLITS = ("train", "test")  # the official split; identities listed in neither go to "other"
OTHER_SPLIT = "other"
AnyDataset = datasets.Dataset | datasets.DatasetDict | datasets.IterableDataset | datasets.IterableDatasetDict
_SHARD_NAME = re.compile(r"^(?P<split>\w+?)-\d{5}-of-\d{5}\.parquet$")


def animeceleb_features(with_basis: bool = False) -> datasets.Features:
    """The schema of every form of the dataset (layout, parquet, Hub)."""
    columns = {
        "image": datasets.Image(),
        "identity": datasets.Value("int64"),
        "cluster": datasets.Value("string"),
        "png_name": datasets.Value("string"),
    }
    if with_basis:
        columns["basis_image"] = datasets.Image()
    columns.update({name: datasets.Value("float32") for name in POSE_NAMES})
    columns["pose"] = datasets.List(datasets.Value("float32"), length=POSE_DIM)
    return datasets.Features(columns)


def load_animeceleb(
    root_or_repo_id: str | Path,
    split: str | None = "train",
    *,
    with_basis: bool = False,
    composite: bool = True,
    verify_files: bool = True,
    split_lists: str | Path | None = None,
    streaming: bool = False,
    cache_dir: str | Path | None = None,
) -> AnyDataset:
    """Load AnimeCeleb in one line: ``load_animeceleb("/data/combined_default", split="train")``.

    Args:
        root_or_repo_id: a folder in the official layout, a folder of parquet shards written by `export_parquet`,
            or a Hub dataset id with that schema.
        split: "train" or "test" (the official identity split), "other" (identities in neither list), "all"
            (every row), or None for a ``DatasetDict`` of the splits.
        with_basis: add the ``basis_image`` column (official layout: ``basis/<folder>/basis.png`` must exist).
        composite: composite RGBA images on white when accessed (SPEC 6.4); False keeps the alpha channel.
        verify_files: check up front that every image listed in the CSV exists (official layout only).
        split_lists: a folder with ``train_list.txt`` and ``test_list.txt``; by default ``<root>/splits`` if it
            exists (written by the synthetic renderer), else the official lists shipped in the package.
        streaming: return an ``IterableDataset`` (read lazily; for the parquet and Hub forms nothing is copied).
        cache_dir: where ``datasets`` caches parquet and Hub data.

    Raises:
        InputError: missing CSV or image, a malformed CSV row (with its line number), an unknown split, or a
            source that is neither a dataset folder nor a reachable Hub dataset.
    """
    if split is not None and split not in (*SPLITS, OTHER_SPLIT, "all"):
        raise InputError(f"unknown split {split!r}; valid: train, test, other, all, or None for all splits")
    path = Path(root_or_repo_id).expanduser()
    if path.is_dir():
        if (path / CSV_NAME).exists():
            loaded = _load_layout(path, split, with_basis, verify_files, split_lists, streaming)
        elif _parquet_shards(path):
            loaded = _load_parquet(path, split, streaming, cache_dir)
        else:
            raise InputError(
                f"{path} has no {CSV_NAME} (the official AnimeCeleb layout: {CSV_NAME}, rotation/<cluster>/<folder>/"
                "<png>) and no parquet shards (<split>-00000-of-00001.parquet)"
            )
    elif path.exists() or not re.fullmatch(r"[\w.-]+/[\w.-]+", str(root_or_repo_id)):
        raise InputError(f"{root_or_repo_id} is not a dataset folder (and not a Hub dataset id 'owner/name')")
    else:
        loaded = _load_hub(str(root_or_repo_id), split, streaming, cache_dir)
    return _with_composite(loaded) if composite else loaded


# -- Official layout -------------------------------------------------------------------------------------------------


def read_pose_csv(root: str | Path) -> pa.Table:
    """The CSV of an official root as an Arrow table (org_id, num_cluster, png_name, 20 float32 poses, line).

    Columns are read by position (only ``org_id`` is named in the official data). Raises ``InputError`` naming the
    file and line of the first malformed row (wrong field count, non-numeric or missing value, empty png name).
    """
    csv_path = Path(root) / CSV_NAME
    if not csv_path.is_file():
        raise InputError(f"missing {csv_path}: an AnimeCeleb root holds {CSV_NAME} with one row per image")
    with csv_path.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    if len(header) < len(CSV_HEADER) or header[0] != "org_id":
        raise InputError(
            f"{csv_path}, line 1: expected a header of at least {len(CSV_HEADER)} columns starting with org_id "
            f"(org_id, num_cluster, png_name, 20 pose values); got {header[:4]}..."
        )
    names = [*CSV_HEADER, *(f"extra_{i}" for i in range(len(header) - len(CSV_HEADER)))]
    types = {"org_id": pa.int64(), "num_cluster": pa.string(), "png_name": pa.string()}
    types.update({name: pa.float32() for name in POSE_NAMES})
    try:
        table = pa_csv.read_csv(
            csv_path,
            read_options=pa_csv.ReadOptions(column_names=names, skip_rows=1),
            convert_options=pa_csv.ConvertOptions(column_types=types, include_columns=list(CSV_HEADER)),
        )
    except pa.ArrowInvalid as error:
        _raise_bad_row(csv_path, len(header), str(error))
    bad = _first_invalid_row(table)
    if bad is not None:
        _raise_bad_row(csv_path, len(header), f"row {bad + 1} has a missing, empty or non-finite value")
    return table.append_column("line", pa.array(np.arange(2, table.num_rows + 2), pa.int64()))


def _first_invalid_row(table: pa.Table) -> int | None:
    invalid = np.zeros(table.num_rows, dtype=bool)
    for name in CSV_HEADER:
        column = table.column(name)
        invalid |= column.is_null().to_numpy(zero_copy_only=False)
        if name in POSE_NAMES:
            invalid |= ~np.isfinite(column.fill_null(0.0).to_numpy())
    invalid |= table.column("png_name").fill_null("").to_numpy(zero_copy_only=False) == ""
    rows = np.flatnonzero(invalid)
    return int(rows[0]) if len(rows) else None


def _raise_bad_row(csv_path: Path, width: int, detail: str) -> NoReturn:
    """Find the first malformed line with the slow exact reader and raise an error naming it."""
    with csv_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        for row in reader:
            problem = _row_problem(row, width)
            if problem:
                raise InputError(f"{csv_path}, line {reader.line_num}: {problem}: {','.join(row)[:200]}")
    raise InputError(f"{csv_path}: cannot be read as the AnimeCeleb pose CSV ({detail})")


def _row_problem(row: list[str], width: int) -> str | None:
    if len(row) != width:
        return f"expected {width} fields, got {len(row)}"
    try:
        int(row[0])
    except ValueError:
        return f"org_id {row[0]!r} is not an integer"
    if not row[1] or not row[2]:
        return "num_cluster and png_name must not be empty"
    for name, text in zip(POSE_NAMES, row[3 : 3 + POSE_DIM], strict=True):
        try:
            value = float(text)
        except ValueError:
            return f"pose value {name} {text!r} is not a number"
        if not math.isfinite(value):
            return f"pose value {name} is {text}"
    return None


def _read_split_lists(root: Path, split_lists: str | Path | None) -> dict[str, set[int]]:
    """Identity sets of the train and test splits: given lists, the root's own, or the official ones."""
    folder = Path(split_lists) if split_lists is not None else root / SPLITS_DIR
    lists = {}
    for split in SPLITS:
        name = f"{split}_list.txt"
        if split_lists is None and not folder.is_dir():
            text = resources.files("animeceleb.assets").joinpath("splits", name).read_text()
        elif (folder / name).is_file():
            text = (folder / name).read_text()
        else:
            raise InputError(f"missing split list {folder / name}")
        lists[split] = {int(line) for line in text.split()}
    return lists


def _load_layout(
    root: Path, split: str | None, with_basis: bool, verify_files: bool, split_lists: str | Path | None, streaming: bool
) -> AnyDataset:
    rows = read_pose_csv(root)
    identity = rows.column("org_id").to_numpy()
    cluster = rows.column("num_cluster").to_pylist()
    png_name = rows.column("png_name").to_pylist()
    # An identity's folder comes from its first row's png name (SPEC 6.1).
    first = {}
    for index, key in enumerate(identity.tolist()):
        first.setdefault(key, index)
    folders = {key: folder_name(png_name[index]) for key, index in first.items()}
    folder = [folders[key] for key in identity.tolist()]
    paths = [str(image_path(root, c, f, p)) for c, f, p in zip(cluster, folder, png_name, strict=True)]
    if verify_files:
        _verify_files(root, paths, rows.column("line").to_numpy())
    columns: dict[str, pa.Array] = {
        "image": _image_column(paths),
        "identity": rows.column("org_id").combine_chunks(),
        "cluster": rows.column("num_cluster").combine_chunks(),
        "png_name": rows.column("png_name").combine_chunks(),
    }
    if with_basis:
        basis = {key: basis_path(root, value) for key, value in folders.items()}
        missing = sorted(str(path) for path in basis.values() if not path.is_file())
        if missing:
            raise InputError(f"with_basis=True but {len(missing)} basis images are missing, e.g. {missing[0]}")
        columns["basis_image"] = _image_column([str(basis[key]) for key in identity.tolist()])
    poses = [rows.column(name).combine_chunks() for name in POSE_NAMES]
    columns.update(zip(POSE_NAMES, poses, strict=True))
    flat = np.stack([pose.to_numpy() for pose in poses], axis=1).reshape(-1)
    columns["pose"] = pa.FixedSizeListArray.from_arrays(pa.array(flat, pa.float32()), POSE_DIM)
    features = animeceleb_features(with_basis)
    table = pa.Table.from_arrays(list(columns.values()), schema=features.arrow_schema)

    lists = _read_split_lists(root, split_lists)
    membership = {name: np.isin(identity, sorted(ids)) for name, ids in lists.items()}
    membership[OTHER_SPLIT] = ~(membership["train"] | membership["test"])

    def make(mask: np.ndarray | None) -> datasets.Dataset | datasets.IterableDataset:
        part = table if mask is None else table.filter(pa.array(mask))
        dataset = datasets.Dataset(InMemoryTable(part), info=datasets.DatasetInfo(features=features))
        return dataset.to_iterable_dataset() if streaming else dataset

    if split == "all":
        return make(None)
    if split is not None:
        return make(membership[split])
    parts = {name: make(mask) for name, mask in membership.items() if name != OTHER_SPLIT or mask.any()}
    return datasets.IterableDatasetDict(parts) if streaming else datasets.DatasetDict(parts)


def _image_column(paths: Sequence[str]) -> pa.StructArray:
    """A ``datasets.Image`` column referring to files (decoded lazily)."""
    return pa.StructArray.from_arrays(
        [pa.nulls(len(paths), pa.binary()), pa.array(paths, pa.string())], ["bytes", "path"]
    )


def _verify_files(root: Path, paths: list[str], lines: np.ndarray) -> None:
    """Raise for the first CSV row whose image is missing (one directory listing per folder)."""
    listings: dict[str, set[str]] = {}
    for path, line in zip(paths, lines.tolist(), strict=True):
        directory, name = os.path.split(path)
        if directory not in listings:
            listings[directory] = set(os.listdir(directory)) if os.path.isdir(directory) else set()
        if name not in listings[directory]:
            relative = os.path.relpath(path, root)
            raise InputError(f"{root / CSV_NAME}, line {line}: its image {relative} does not exist")


# -- Parquet and Hub forms -------------------------------------------------------------------------------------------


def _parquet_shards(folder: Path) -> dict[str, list[str]]:
    """Parquet shards of a folder (or its ``data/``) grouped by split: ``<split>-00000-of-00003.parquet``."""
    shards: dict[str, list[str]] = {}
    for directory in (folder / "data", folder):
        for path in sorted(directory.glob("*.parquet")):
            match = _SHARD_NAME.match(path.name)
            if match is None:
                raise InputError(f"parquet file {path} is not named <split>-00000-of-00001.parquet")
            shards.setdefault(match["split"], []).append(str(path))
        if shards:
            break
    return shards


def _load_parquet(folder: Path, split: str | None, streaming: bool, cache_dir: str | Path | None) -> AnyDataset:
    shards = _parquet_shards(folder)
    if split == "all":
        shards = {"all": [path for paths in shards.values() for path in paths]}
    elif split is not None and split not in shards:
        raise InputError(f"{folder} has no split {split!r}; it has {sorted(shards)}")
    elif split is not None:
        shards = {split: shards[split]}
    loaded = datasets.load_dataset(
        "parquet", data_files=shards, streaming=streaming, cache_dir=None if cache_dir is None else str(cache_dir)
    )
    return loaded if split is None else loaded[next(iter(shards))]


def _load_hub(repo_id: str, split: str | None, streaming: bool, cache_dir: str | Path | None) -> AnyDataset:
    try:
        loaded = datasets.load_dataset(
            repo_id, streaming=streaming, cache_dir=None if cache_dir is None else str(cache_dir)
        )
    except Exception as error:  # network, missing repo, wrong format: all mean "this id cannot be used"
        raise InputError(f"{repo_id} is not a local folder and could not be loaded from the Hub: {error}") from None
    if split == "all":
        if streaming:
            return datasets.interleave_datasets(list(loaded.values()), stopping_strategy="all_exhausted")
        return datasets.concatenate_datasets(list(loaded.values()))
    if split is not None and split not in loaded:
        raise InputError(f"Hub dataset {repo_id} has no split {split!r}; it has {sorted(loaded)}")
    return loaded if split is None else loaded[split]


# -- Access transform and export -------------------------------------------------------------------------------------


def _composite_batch(batch: dict) -> dict:
    for key in ("image", "basis_image"):
        if key in batch:
            batch[key] = [None if image is None else composite_on_white(image) for image in batch[key]]
    return batch


def _with_composite(loaded: AnyDataset) -> AnyDataset:
    """Composite images on white whenever rows are accessed (the stored images keep their alpha)."""
    if isinstance(loaded, datasets.DatasetDict | datasets.IterableDatasetDict):
        return type(loaded)({name: _with_composite(part) for name, part in loaded.items()})
    if isinstance(loaded, datasets.IterableDataset):
        return loaded.map(_composite_batch, batched=True, batch_size=16, features=loaded.features)
    return loaded.with_transform(_composite_batch)


def export_parquet(
    source: str | Path, out_dir: str | Path, *, with_basis: bool = False, rows_per_shard: int = 5000
) -> list[Path]:
    """Write every split of ``source`` as parquet shards with embedded images: ``out/data/<split>-0000i-of-0000n``.

    ``load_animeceleb(out_dir)`` (or the Hub, after uploading the folder) gives back the same rows.
    """
    loaded = load_animeceleb(source, None, with_basis=with_basis, composite=False)
    data_dir = Path(out_dir) / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    schema = animeceleb_features(with_basis).arrow_schema  # its metadata lets `datasets` restore the features
    written = []
    for split, dataset in loaded.items():
        rows = dataset.with_format("arrow")
        count = max(1, math.ceil(len(rows) / rows_per_shard))
        for index in range(count):
            path = data_dir / f"{split}-{index:05d}-of-{count:05d}.parquet"
            stop = min(len(rows), (index + 1) * rows_per_shard)
            with pq.ParquetWriter(path, schema) as writer:
                for start in range(index * rows_per_shard, stop, _EMBED_BATCH):
                    writer.write_table(embed_table_storage(rows[start : min(stop, start + _EMBED_BATCH)]).cast(schema))
            written.append(path)
            logger.info("wrote %s", path)
    return written


_EMBED_BATCH = 256  # rows whose image bytes are read into memory at once while exporting


def push_to_hub(source: str | Path, repo_id: str, *, with_basis: bool = False, private: bool = False) -> None:
    """Upload every split of ``source`` to the Hub dataset ``repo_id`` (needs network access and a token)."""
    loaded = load_animeceleb(source, None, with_basis=with_basis, composite=False)
    try:
        loaded.push_to_hub(repo_id, private=private)
    except Exception as error:  # offline, no token, no rights: report it as a usage problem
        raise InputError(f"could not push to the Hub dataset {repo_id}: {error}") from None
