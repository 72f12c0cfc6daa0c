"""The app's model registry and prepared-source cache (no Gradio, no server)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch

from animeceleb.errors import CheckpointError
from animeceleb.inference import registry as models
from animeceleb.inference.registry import ModelRegistry, SourceCache
from animeceleb.models import Animo, PIRenderer
from tests.tiny_models import TINY_IMAGE_SIZE, save_tiny_models


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return save_tiny_models(tmp_path_factory.mktemp("models"))


def test_default_comes_from_the_environment(tiny: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANIMECELEB_MODEL", str(tiny["pirenderer"]))
    loaded = ModelRegistry().get("")
    assert isinstance(loaded.model, PIRenderer) and loaded.label == "pirenderer" and not loaded.notice
    assert loaded.image_size == TINY_IMAGE_SIZE


def test_missing_embedded_default_falls_back_with_a_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANIMECELEB_MODEL", raising=False)
    monkeypatch.setattr(models, "EMBEDDED_DEFAULT", models.CHECKPOINT_DIR / "not-trained-yet")
    loaded = ModelRegistry().get("default")
    assert isinstance(loaded.model, Animo) and loaded.label == "animo_compact (random)"
    assert "No trained weights yet in checkpoints/not-trained-yet/" in loaded.notice


def test_unloadable_default_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config.json").write_text("{}")
    monkeypatch.setenv("ANIMECELEB_MODEL", str(tmp_path))
    notice = ModelRegistry().get("default").notice
    assert f"The default model {tmp_path} could not be loaded" in notice and "randomly initialised" in notice


def test_other_keys_raise_instead_of_falling_back(tmp_path: Path) -> None:
    registry = ModelRegistry()
    with pytest.raises(CheckpointError, match="not a model folder"):
        registry.get(str(tmp_path))
    with pytest.raises(CheckpointError, match="unknown preset in 'random:nope'"):
        registry.get("random:nope")


def test_random_presets_are_deterministic() -> None:
    first = ModelRegistry().get("random:pirenderer_compact").model
    second = ModelRegistry().get("random:pirenderer_compact").model
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_each_model_loads_once_even_under_concurrency(tiny: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real_load = models.load_model

    def slow_load(key: str):  # noqa: ANN202
        calls.append(key)
        time.sleep(0.2)  # wide window for a second load to slip in
        return real_load(key)

    monkeypatch.setattr(models, "load_model", slow_load)
    registry = ModelRegistry()
    with ThreadPoolExecutor(8) as pool:
        loaded = list(pool.map(registry.get, [str(tiny["animo"])] * 8))
    assert calls == [str(tiny["animo"])] and all(item is loaded[0] for item in loaded)
    assert str(tiny["animo"]) in registry.choices() and registry.choices()[0] == "default"


def test_source_cache_reuses_prepared_sources(tiny: dict[str, Path]) -> None:
    loaded = ModelRegistry().get(str(tiny["animo"]))
    cache = SourceCache(capacity=2)
    red, blue, green = (
        np.full((*TINY_IMAGE_SIZE, 3), color, np.uint8) for color in ((255, 0, 0), (0, 0, 255), (0, 255, 0))
    )
    first = cache.animator(loaded, red)
    assert cache.animator(loaded, red.copy()) is first  # by content, not identity
    assert cache.animator(loaded, blue) is not first
    cache.animator(loaded, green)  # evicts red, the least recently used
    assert cache.animator(loaded, red) is not first


def test_source_cache_is_safe_for_concurrent_renders(tiny: dict[str, Path]) -> None:
    loaded = ModelRegistry().get(str(tiny["animo"]))
    cache = SourceCache()
    source = np.random.default_rng(0).integers(0, 255, (*TINY_IMAGE_SIZE, 3), dtype=np.uint8)
    poses = np.zeros((8, 20), np.float32)
    poses[:, 12] = np.linspace(0, 1, 8)
    expected = cache.animator(loaded, source)(poses, batch_size=1)
    barrier = threading.Barrier(8)

    def render(index: int) -> np.ndarray:
        barrier.wait()
        return cache.animator(loaded, source)(poses[index : index + 1])[0]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(render, range(8)))
    np.testing.assert_array_equal(np.stack(results), expected)
