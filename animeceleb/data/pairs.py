"""Training pairs: two frames of the same identity, as the official recipe samples them (SPEC 6.3, 6.5).

Both sources return the same item, so training code can use either:
``{"source", "driving"}``: float32 (3, H, W) in [0, 1]; ``{"source_pose", "driving_pose"}``: float32 (20,);
``"identity"``: int.

- `AnimeCelebPairs` draws from a `load_animeceleb` dataset (real or rendered data on disk).
- `SyntheticPairs` renders pairs on the fly with the procedural renderer (nothing on disk).

Sampling is reproducible: item ``i`` of epoch ``e`` depends only on ``(seed, e, i)``, whatever the number of workers.
"""

from __future__ import annotations

from collections.abc import Sequence

import datasets
import numpy as np
import torch
from PIL import Image

from animeceleb.data.sampling import (
    change_expression,
    check_morph_names,
    redraw_fractions_ok,
    sample_poses,
    sample_strong_poses,
)
from animeceleb.data.synthetic import character_for, render
from animeceleb.data.transforms import ColorJitter, composite_image_on_white, to_tensor
from animeceleb.errors import InputError
from animeceleb.pose import MORPH_NAMES, POSE_NAMES


def make_pair_item(
    source: Image.Image,
    driving: Image.Image,
    source_pose: np.ndarray,
    driving_pose: np.ndarray,
    identity: int,
    rng: np.random.Generator,
    *,
    use_jitter: bool = False,
    use_time_flip: bool = False,
) -> dict[str, torch.Tensor | int]:
    """One training item from two RGB images and their poses, with the official augmentation if asked.

    Colour jitter draws one set of factors for the pair; a time flip (probability 1/2) swaps the images but not the
    poses, as the official code does (SPEC 6.5).
    """
    if use_jitter:
        jitter = ColorJitter.sample(rng)
        source, driving = jitter(source), jitter(driving)
    if use_time_flip and rng.random() < 0.5:
        source, driving = driving, source
    return {
        "source": to_tensor(source),
        "driving": to_tensor(driving),
        "source_pose": torch.from_numpy(np.asarray(source_pose, dtype=np.float32).copy()),
        "driving_pose": torch.from_numpy(np.asarray(driving_pose, dtype=np.float32).copy()),
        "identity": int(identity),
    }


class _EpochSeeded(torch.utils.data.Dataset):
    """Per-item random generators derived from (seed, epoch, index)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw different pairs in each epoch (call before iterating)."""
        self.epoch = epoch

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, index])


class AnimeCelebPairs(_EpochSeeded):
    """Same-identity (source, driving) pairs from an AnimeCeleb ``datasets.Dataset`` (official AnimeCelebDataset).

    Item ``k`` belongs to the ``k``-th identity (modulo their number; ``num_repeats`` passes make one epoch, 75 in
    the official configs). Two frame indices are drawn uniformly with replacement and sorted: the earlier frame is
    the source, the later the driving frame, and they may coincide. With ``use_animo_sampling`` the identity is
    instead drawn at random in [0, N - 1) as Animo's combined dataset does, which never uses the last identity
    (SPEC 6.3, 9.1 item 13).
    """

    def __init__(
        self,
        dataset: datasets.Dataset,
        *,
        seed: int = 0,
        num_repeats: int = 1,
        use_jitter: bool = False,
        use_time_flip: bool = False,
        use_animo_sampling: bool = False,
    ) -> None:
        super().__init__(seed)
        if not isinstance(dataset, datasets.Dataset):
            raise InputError(f"expected a datasets.Dataset from load_animeceleb (one split); got {type(dataset)}")
        missing = {"image", "identity", *POSE_NAMES} - set(dataset.column_names)
        if missing:
            raise InputError(f"the dataset lacks the columns {sorted(missing)}; load it with load_animeceleb")
        if len(dataset) == 0:
            raise InputError("the dataset is empty")
        self.dataset = dataset
        self.num_repeats = num_repeats
        self.use_jitter = use_jitter
        self.use_time_flip = use_time_flip
        self.use_animo_sampling = use_animo_sampling
        columns = dataset.select_columns(["identity", *POSE_NAMES]).with_format("numpy")[:]
        self.poses = np.stack([columns[name] for name in POSE_NAMES], axis=1).astype(np.float32)  # (rows, 20)
        rows_of: dict[int, list[int]] = {}  # identity -> its rows in dataset order; identities in order of appearance
        for row, identity in enumerate(columns["identity"].tolist()):
            rows_of.setdefault(identity, []).append(row)
        self.identities = list(rows_of)
        self.frames = [np.array(rows) for rows in rows_of.values()]

    def __len__(self) -> int:
        return len(self.frames) * self.num_repeats

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | int]:
        rng = self._rng(index)
        count = len(self.frames)
        which = int(rng.integers(0, max(count - 1, 1))) if self.use_animo_sampling else index % count
        frames = self.frames[which]
        first, second = np.sort(rng.integers(0, len(frames), 2))
        source_row, driving_row = int(frames[first]), int(frames[second])
        source, driving = (composite_image_on_white(self.dataset[row]["image"]) for row in (source_row, driving_row))
        return make_pair_item(
            source,
            driving,
            self.poses[source_row],
            self.poses[driving_row],
            int(self.identities[which]),
            rng,
            use_jitter=self.use_jitter,
            use_time_flip=self.use_time_flip,
        )


class SyntheticPairs(_EpochSeeded):
    """Same-character (source, driving) pairs rendered on the fly by `animeceleb.data.synthetic`.

    Item ``k`` shows character ``k % num_identities`` of ``seed`` (the same characters as
    ``render-synthetic --seed``) in two poses drawn like the dataset's; ``length`` items make one epoch. With
    ``strong_expressions`` > 0, that fraction of the items drives the character to a strong expression instead
    (``sample_strong_poses``): closed eyes and open mouths, rare in the dataset-like poses. With
    ``expression_changes`` > 0, that fraction keeps the head still and changes one morph of ``expression_morphs``
    (default: any) to a strong weight (``change_expression``), so the pair shows that expression change alone.
    """

    def __init__(
        self,
        *,
        num_identities: int = 10_000,
        length: int | None = None,
        size: int = 256,
        seed: int = 0,
        use_jitter: bool = False,
        strong_expressions: float = 0.0,
        expression_changes: float = 0.0,
        expression_morphs: Sequence[str] = MORPH_NAMES,
    ) -> None:
        super().__init__(seed)
        if num_identities < 1 or size < 16 or not redraw_fractions_ok(strong_expressions, expression_changes):
            raise InputError(
                "num_identities must be at least 1, size at least 16, and strong_expressions and expression_changes "
                "fractions that sum to at most 1"
            )
        self.num_identities = num_identities
        self.length = num_identities if length is None else length
        self.size = size
        self.use_jitter = use_jitter
        self.strong_expressions = strong_expressions
        self.expression_changes = expression_changes
        self.expression_morphs = check_morph_names(expression_morphs)
        if expression_changes and not self.expression_morphs:
            raise InputError("expression_changes needs at least one name in expression_morphs")

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | int]:
        rng = self._rng(index)
        identity = index % self.num_identities
        character = character_for(self.seed, identity)
        poses = sample_poses(rng, 2)
        if self.strong_expressions or self.expression_changes:  # no draw when both are off: the same stream
            kind = rng.random()
            if kind < self.strong_expressions:
                poses[1] = sample_strong_poses(rng, 1)[0]
            elif kind < self.strong_expressions + self.expression_changes:
                poses[1] = change_expression(rng, poses[0], self.expression_morphs)
        source, driving = (Image.fromarray(render(character, pose, self.size)) for pose in poses)
        return make_pair_item(source, driving, poses[0], poses[1], identity, rng, use_jitter=self.use_jitter)
