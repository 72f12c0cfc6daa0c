"""Open the (source, driving) pairs named by a ``--data`` argument: a dataset folder, a Hub id, or ``synthetic``."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from animeceleb.data import AnimeCelebPairs, SyntheticPairs, load_animeceleb
from animeceleb.errors import InputError
from animeceleb.pose import MORPH_NAMES

SYNTHETIC = "synthetic"
# Characters of the synthetic test split come from this seed, the training stream from the training seed: the
# renderer's style space is continuous, so test characters are never seen in training.
SYNTHETIC_TEST_SEED = 1_000_003


def open_pairs(
    data: str,
    split: str,
    *,
    seed: int = 0,
    size: int = 256,
    length: int | None = None,
    num_identities: int = 10_000,
    use_jitter: bool = False,
    use_time_flip: bool = False,
    num_repeats: int = 1,
    strong_expressions: float = 0.0,
    expression_changes: float = 0.0,
    expression_morphs: Sequence[str] = MORPH_NAMES,
) -> torch.utils.data.Dataset:
    """Pairs of ``split`` ("train" or "test") from ``data``; each item is a dict of source/driving images and poses.

    For ``synthetic`` the train split renders ``num_identities`` characters of ``seed`` and the test split characters
    of ``SYNTHETIC_TEST_SEED`` (``length`` items, one character each); otherwise ``data`` goes to ``load_animeceleb``
    and ``size``/``length`` are unused (the stored images and one pair per identity and repeat). Only synthetic
    pairs can be driven to ``strong_expressions`` or ``expression_changes`` (see ``SyntheticPairs``).
    """
    if split not in ("train", "test"):
        raise InputError(f"unknown split {split!r}; choose train or test")
    if data == SYNTHETIC:
        if split == "train" and seed == SYNTHETIC_TEST_SEED:
            raise InputError(f"seed {SYNTHETIC_TEST_SEED} is reserved for the synthetic test characters")
        if split == "test":
            seed, num_identities = SYNTHETIC_TEST_SEED, length or num_identities
        return SyntheticPairs(
            num_identities=num_identities,
            length=length,
            size=size,
            seed=seed,
            use_jitter=use_jitter,
            strong_expressions=strong_expressions,
            expression_changes=expression_changes,
            expression_morphs=expression_morphs,
        )
    if strong_expressions or expression_changes:
        raise InputError(
            "strong_expressions and expression_changes draw new poses, so they work with synthetic data only; set them "
            "to 0"
        )
    dataset = load_animeceleb(data, split=split)
    return AnimeCelebPairs(
        dataset, seed=seed, num_repeats=num_repeats, use_jitter=use_jitter, use_time_flip=use_time_flip
    )
