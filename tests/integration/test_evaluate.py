"""``evaluate`` on tiny models of all three kinds: the JSON report, the copy-source baseline and the grids."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from animeceleb.evaluate import evaluate
from animeceleb.evaluate.grid import GAP, HEADER
from animeceleb.evaluate.metrics import image_metrics
from animeceleb.evaluate.run import COPY_SOURCE, is_pose_change
from animeceleb.evaluate.synthetic_checks import EXPRESSIONS, SWEEP_POSES, SWEEP_TILE, changed_region_l1
from animeceleb.models import FOMM, Animo, AnimoConfig, FOMMConfig, PIRenderer, PIRendererConfig
from tests.helpers import run_cli

pytestmark = pytest.mark.timeout(300)

SIZE = 32
TINY = {"image_size": (SIZE, SIZE), "descriptor_nc": 8, "adain_hidden": 8, "warp_base_nc": 4, "warp_max_nc": 8}
TINY_EDIT = {"edit_base_nc": 4, "edit_max_nc": 8}
TINY_FOMM = FOMMConfig(
    image_size=(SIZE, SIZE),
    num_kp=3,
    kp_block_expansion=4,
    kp_max_features=8,
    kp_num_blocks=2,
    kp_scale_factor=0.5,
    generator_block_expansion=4,
    generator_max_features=8,
    num_bottleneck_blocks=1,
    dense_motion_block_expansion=4,
    dense_motion_max_features=8,
    dense_motion_num_blocks=2,
    dense_motion_scale_factor=0.5,
)


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    models = {
        "animo": Animo(AnimoConfig(**TINY, **TINY_EDIT, domains=("anime",))),
        "pirender": PIRenderer(PIRendererConfig(**TINY, **TINY_EDIT)),
        "fomm": FOMM(TINY_FOMM),
    }
    for name, model in models.items():
        model.save_pretrained(root / name)
    return {name: str(root / name) for name in models}


def test_report_has_every_key_and_the_grids_every_column(model_dirs, tmp_path):
    report = evaluate(list(model_dirs.values()), "synthetic", tmp_path, num_pairs=10, batch_size=4, grid_rows=3)

    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved == json.loads(json.dumps(report))
    assert set(saved) >= {"data", "split", "num_pairs", "image_size", "mean_pose_change", "models", "metrics"}
    assert saved["num_pairs"] == 10 and saved["image_size"] == [SIZE, SIZE]
    assert set(saved["metrics"]) == {COPY_SOURCE, "animo", "pirender", "fomm"}
    for values in saved["metrics"].values():
        assert set(values) == {"l1", "psnr", "ssim"} and 0 < values["l1"] < 1 and -1 <= values["ssim"] <= 1
    assert {saved["models"][name]["model_type"] for name in model_dirs} == {"animo", "pirenderer", "fomm"}
    assert saved["l1_vs_copy_source"]["animo"] == pytest.approx(
        saved["metrics"]["animo"]["l1"] / saved["metrics"][COPY_SOURCE]["l1"]
    )
    grid = np.asarray(Image.open(tmp_path / "grid.png"))
    assert grid.shape == (HEADER + 3 * (SIZE + GAP), 5 * (SIZE + GAP) - GAP, 3)  # source, GT, 3 models
    sweep = np.asarray(Image.open(tmp_path / "sweep_animo.png"))
    assert sweep.shape[1] == (1 + 2 * len(SWEEP_POSES)) * (SWEEP_TILE + GAP) - GAP
    assert (tmp_path / "sweep_pirender.png").is_file() and not (tmp_path / "sweep_fomm.png").exists()
    scores = saved["expressions_vs_copy_source"]
    assert set(scores) == set(model_dirs) and all(set(values) == set(EXPRESSIONS) for values in scores.values())
    assert all(0 < score < 10 for values in scores.values() for score in values.values())


def test_cli_prints_the_metrics(model_dirs, tmp_path):
    result = run_cli(
        "evaluate", "--model", model_dirs["pirender"], "--data", "synthetic", "--num-pairs", "4", "--out", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout[result.stdout.index("{") :])["metrics"][COPY_SOURCE]["l1"] > 0
    result = run_cli("evaluate", "--model", str(tmp_path / "nothing"), "--data", "synthetic", "--out", str(tmp_path))
    assert result.returncode == 2 and "model folder" in result.stderr


def test_metrics_of_a_perfect_and_a_wrong_prediction():
    target = torch.rand(2, 3, 32, 32)
    perfect = image_metrics(target, target)
    assert perfect["l1"].tolist() == [0.0, 0.0] and perfect["ssim"].min() > 0.999 and perfect["psnr"].min() > 60
    wrong = image_metrics(1 - target, target)
    assert wrong["l1"].min() > 0.2 and wrong["ssim"].max() < 0.5


def test_changed_region_l1_counts_only_the_pixels_that_change():
    source = torch.zeros(1, 3, 16, 16)
    truth = source.clone()
    truth[..., 4:8, 4:8] = 0.6  # the change: 16 pixels
    assert changed_region_l1(truth, truth, source) == 0
    assert changed_region_l1(source, truth, source) == pytest.approx(0.6)
    half_drawn = truth.clone()
    half_drawn[..., 4:6, 4:8] = 0.0
    elsewhere_wrong = truth.clone()
    elsewhere_wrong[..., 12:, 12:] = 1.0  # outside the change: not scored
    assert changed_region_l1(half_drawn, truth, source) == pytest.approx(0.3)
    assert changed_region_l1(elsewhere_wrong, truth, source) == 0


def test_pose_change_needs_a_visible_difference():
    neutral = np.zeros(20, np.float32)
    assert not is_pose_change(neutral, neutral + 0.01)
    turned, mouth = neutral.copy(), neutral.copy()
    turned[19], mouth[12] = 10.0, 0.5
    assert is_pose_change(neutral, turned) and is_pose_change(neutral, mouth)
