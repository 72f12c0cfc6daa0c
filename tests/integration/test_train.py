"""Training smoke tests on tiny synthetic pairs (32x32 images, tiny nets): loss, checkpoints, resume, CLI."""

from __future__ import annotations

import csv
import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import yaml
from accelerate.utils import set_seed

from animeceleb.errors import CheckpointError, InputError
from animeceleb.evaluate.datasets import open_pairs
from animeceleb.models import create_model, load_model
from animeceleb.train import TrainConfig, build_model, load_train_config, train
from animeceleb.train.allocator import INSTALL_HINT, find_tcmalloc
from animeceleb.train.losses import ReconstructionLoss
from animeceleb.train.objectives import build_objective
from animeceleb.train.state import STATE_JSON, STATE_TENSORS, latest_checkpoint
from tests.helpers import run_cli

pytestmark = pytest.mark.timeout(300)

TINY_ANIMO = {
    "preset": "animo_compact",
    "architecture": {
        "image_size": [32, 32],
        "descriptor_nc": 16,
        "adain_hidden": 16,
        "warp_base_nc": 4,
        "warp_max_nc": 16,
        "edit_base_nc": 4,
        "edit_max_nc": 16,
    },
    "image_size": 32,
    "batch_size": 2,
    "epoch_steps": 4,
    "epochs": 4,
    "warp_epochs": 1,
    "lr": 2e-3,
    "lr_milestones": [3],
    "checkpoint_every": 8,
    "log_every": 1,
    "sample_rows": 2,
    "loss_scales": 2,
    "channels_last": True,  # as the shipped compact config trains
}
TINY_FOMM = {
    "preset": "fomm_compact",
    "architecture": {
        "image_size": [32, 32],
        "num_kp": 3,
        "kp_block_expansion": 4,
        "kp_max_features": 8,
        "kp_num_blocks": 2,
        "generator_block_expansion": 4,
        "generator_max_features": 8,
        "num_bottleneck_blocks": 1,
        "dense_motion_block_expansion": 4,
        "dense_motion_max_features": 8,
        "dense_motion_num_blocks": 2,
        "dense_motion_scale_factor": 0.5,
        "kp_scale_factor": 0.5,
    },
    "image_size": 32,
    "batch_size": 2,
    "epoch_steps": 2,
    "epochs": 1,
    "checkpoint_every": 2,
    "sample_rows": 2,
    "loss_scales": 2,
}


def tiny_config(kind: str, values: dict, **changes) -> TrainConfig:
    return replace(load_train_config(kind), **{**values, **changes})


def fixed_batch(size: int = 32) -> dict[str, torch.Tensor]:
    pairs = open_pairs("synthetic", "test", size=size, length=4)
    return torch.utils.data.default_collate([pairs[index] for index in range(4)])


def objective_loss(model, config: TrainConfig, batch: dict[str, torch.Tensor]) -> float:
    objective = build_objective(model, ReconstructionLoss(config.loss_scales), config)
    with torch.no_grad():
        return float(objective(batch, with_image=True)["loss"])


def test_training_lowers_the_loss_and_writes_loadable_checkpoints(tmp_path):
    config = tiny_config("animo", TINY_ANIMO)
    set_seed(config.seed)
    initial = build_model("animo", config)  # the same initial weights train() starts from
    batch = fixed_batch()
    last = train("animo", config, "synthetic", tmp_path / "run", progress=False)

    assert last == latest_checkpoint(tmp_path / "run") and last.name == "checkpoint-0000016"
    trained = load_model(last)
    assert objective_loss(trained, config, batch) < 0.8 * objective_loss(initial, config, batch)
    assert {"config.json", "model.safetensors", STATE_JSON, STATE_TENSORS, "samples.png"} <= {
        path.name for path in last.iterdir()
    }
    rows = list(csv.DictReader((tmp_path / "run" / "log.csv").open()))
    assert [int(row["step"]) for row in rows] == list(range(1, 17))
    assert {row["stage"] for row in rows[:4]} == {"warp"} and {row["stage"] for row in rows[4:]} == {"edit"}
    assert rows[0]["final"] == "" and float(rows[-1]["final"]) > 0
    assert float(rows[-1]["lr"]) == pytest.approx(config.lr * config.lr_gamma)  # decayed after epoch 3


def test_resume_continues_the_step_count_and_the_schedule(tmp_path):
    short = tiny_config("animo", TINY_ANIMO, epochs=2, checkpoint_every=4)
    train("animo", short, "synthetic", tmp_path, progress=False)
    with pytest.raises(InputError, match="--resume"):
        train("animo", short, "synthetic", tmp_path, progress=False)

    longer = replace(short, epochs=4, lr_milestones=(2,))  # the schedule comes from the config, even on resume
    state_file = tmp_path / "checkpoint-0000008" / STATE_JSON
    saved = state_file.read_text()
    state = json.loads(saved)
    del state["scheduler"]["lr_lambdas"]  # a scheduler state of another kind, as earlier versions wrote
    state_file.write_text(json.dumps(state))
    with pytest.raises(CheckpointError, match="init_weights: .*checkpoint-0000008"):
        train("animo", longer, "synthetic", tmp_path, resume=True, progress=False)
    state_file.write_text(saved)

    last = train("animo", longer, "synthetic", tmp_path, resume=True, progress=False)

    state = json.loads((last / STATE_JSON).read_text())
    assert last.name == "checkpoint-0000016" and state["step"] == 16
    assert state["scheduler"]["last_epoch"] == 16
    rows = list(csv.DictReader((tmp_path / "log.csv").open()))
    assert [int(row["step"]) for row in rows] == list(range(1, 17))
    assert float(state["wall_seconds"]) >= float(rows[7]["wall_seconds"])
    assert float(rows[7]["lr"]) == short.lr and float(rows[8]["lr"]) == pytest.approx(short.lr * short.lr_gamma)


def test_frozen_modules_keep_their_weights_while_the_rest_trains(tmp_path):
    config = tiny_config("animo", TINY_ANIMO, epochs=2, warp_epochs=0, frozen_modules=["renderers.anime.warping_net"])
    set_seed(config.seed)
    initial = build_model("animo", config).state_dict()
    trained = load_model(train("animo", config, "synthetic", tmp_path / "run", progress=False)).state_dict()

    changed = {name for name, value in trained.items() if not torch.equal(value, initial[name])}
    assert changed and all(not name.startswith("renderers.anime.warping_net.") for name in changed)
    assert any(name.startswith("mapping_net.") for name in changed)  # trained through the frozen warp
    assert any(name.startswith("renderers.anime.editing_net.") for name in changed)
    with pytest.raises(InputError, match="renderers.anime.warping_net"):
        train("animo", replace(config, frozen_modules=("warping_net",)), "synthetic", tmp_path / "bad", progress=False)


def test_fomm_trains_with_equivariance_terms(tmp_path):
    config = tiny_config("fomm", TINY_FOMM)
    last = train("fomm", config, "synthetic", tmp_path, progress=False)
    rows = list(csv.DictReader((tmp_path / "log.csv").open()))
    assert float(rows[-1]["equivariance"]) > 0 and float(rows[-1]["final"]) > 0
    assert load_model(last).model_type == "fomm"


def train_cli(config_path: Path, out: Path, kind: str = "pirender") -> subprocess.CompletedProcess[str]:
    """``animeceleb train --model KIND`` on synthetic data with the YAML config at ``config_path``."""
    args = ("--model", kind, "--config", str(config_path), "--data", "synthetic", "--out", str(out))
    return run_cli("train", *args, "--no-progress")


def test_cli_trains_from_yaml_and_rejects_unknown_keys(tmp_path):
    config_path = tmp_path / "tiny.yaml"
    config_path.write_text(yaml.safe_dump({**TINY_ANIMO, "epochs": 1, "epoch_steps": 2}))
    result = train_cli(config_path, tmp_path / "run")
    assert result.returncode == 2 and "pirenderer" in result.stderr  # an animo preset for --model pirender

    config_path.write_text(
        yaml.safe_dump({**TINY_ANIMO, "preset": "pirenderer_compact", "epochs": 1, "epoch_steps": 2})
    )
    result = train_cli(config_path, tmp_path / "run")
    assert result.returncode == 0, result.stderr
    assert load_model(tmp_path / "run" / "checkpoint-0000002").model_type == "pirenderer"

    config_path.write_text(yaml.safe_dump({"batch_size": 2, "learning_rate": 1e-3}))
    result = run_cli("train", "--model", "animo", "--config", str(config_path), "--data", "synthetic", "--out", "x")
    assert result.returncode == 2 and "learning_rate" in result.stderr and "lr" in result.stderr


def test_bf16_mixed_precision_trains_like_float32(tmp_path):
    """``mixed_precision: bf16`` on the CPU: the first step's loss (same weights, same pairs) is float32's within 0.2%
    (the warp grid and the losses stay float32), and checkpoints hold float32 weights."""
    architecture = {**TINY_ANIMO["architecture"], "edit_blend": True}  # the blend mixes a float32 warp and bf16
    values = {**TINY_ANIMO, "architecture": architecture, "epochs": 1, "warp_epochs": 0, "checkpoint_every": 4}
    train("animo", tiny_config("animo", values), "synthetic", tmp_path / "no", progress=False)
    config_path = tmp_path / "bf16.yaml"
    config_path.write_text(yaml.safe_dump({**values, "mixed_precision": "bf16"}))
    result = train_cli(config_path, tmp_path / "bf16", kind="animo")  # accelerate sets the precision once a process
    assert result.returncode == 0, result.stderr

    first_losses = [float(next(csv.DictReader((tmp_path / run / "log.csv").open()))["loss"]) for run in ("no", "bf16")]
    assert first_losses[1] == pytest.approx(first_losses[0], rel=0.002)  # 1.2% off before the fix
    weights = load_model(latest_checkpoint(tmp_path / "bf16")).state_dict().values()
    assert {value.dtype for value in weights} == {torch.float32}


def test_cpu_training_advises_tcmalloc_until_it_is_preloaded(tmp_path):
    library = find_tcmalloc()
    assert library, f"no tcmalloc: {INSTALL_HINT} (make system-deps installs it)"
    config_path = tmp_path / "tiny.yaml"
    config_path.write_text(yaml.safe_dump({**TINY_ANIMO, "epochs": 1, "epoch_steps": 1}))
    args = ("train", "--model", "animo", "--config", str(config_path), "--data", "synthetic", "--no-progress")
    plain = run_cli(*args, "--out", str(tmp_path / "plain"), env={"LD_PRELOAD": ""})
    preloaded = run_cli(*args, "--out", str(tmp_path / "preloaded"), env={"LD_PRELOAD": library})

    assert plain.returncode == 0 and preloaded.returncode == 0, plain.stderr + preloaded.stderr
    assert f"LD_PRELOAD={library}" in plain.stderr
    assert "tcmalloc" not in preloaded.stderr


def test_trains_and_evaluates_on_a_dataset_folder(tmp_path):
    from animeceleb.data import write_synthetic_dataset
    from animeceleb.evaluate import evaluate

    root = tmp_path / "combined_default"
    write_synthetic_dataset(root, identities=4, frames_per_identity=3, size=32, test_every=2)
    config = tiny_config("animo", TINY_ANIMO, epochs=1, epoch_steps=2, use_jitter=False)
    last = train("animo", config, str(root), tmp_path / "run", progress=False)
    assert last.name == "checkpoint-0000002" and (last / "samples.png").is_file()
    report = evaluate([str(last)], str(root), tmp_path / "eval", num_pairs=2, grid_rows=2)
    assert report["num_pairs"] >= 1 and report["data"] == str(root)


def test_average_cli_writes_the_mean_of_a_runs_checkpoints(tmp_path):
    config = tiny_config("animo", TINY_ANIMO, epochs=2, checkpoint_every=4)
    train("animo", config, "synthetic", tmp_path / "run", progress=False)
    checkpoints = [tmp_path / "run" / name for name in ("checkpoint-0000004", "checkpoint-0000008")]

    result = run_cli("average", *map(str, checkpoints), "--out", str(tmp_path / "mean"))
    assert result.returncode == 0, result.stderr
    first, second = (load_model(path).state_dict() for path in checkpoints)
    averaged = load_model(tmp_path / "mean").state_dict()
    assert any(not torch.equal(first[key], second[key]) for key in first)  # training moved the weights
    for key, value in averaged.items():
        torch.testing.assert_close(value, (first[key] + second[key]) / 2)

    other = create_model("pirenderer_compact")
    other.save_pretrained(tmp_path / "other")
    result = run_cli("average", str(checkpoints[0]), str(tmp_path / "other"), "--out", str(tmp_path / "bad"))
    assert result.returncode == 2 and "architecture" in result.stderr
    result = run_cli("average", str(checkpoints[0]), "--out", str(tmp_path / "bad"))
    assert result.returncode == 2 and "at least two" in result.stderr


def test_init_weights_fine_tunes_a_trained_model_and_rejects_another_architecture(tmp_path):
    pretrained = train("animo", tiny_config("animo", TINY_ANIMO, epochs=1), "synthetic", tmp_path / "a", progress=False)
    fine_tune = tiny_config("animo", TINY_ANIMO, epochs=1, epoch_steps=1, lr=1e-12, init_weights=str(pretrained))

    last = train("animo", fine_tune, "synthetic", tmp_path / "b", progress=False)

    start, tuned = load_model(pretrained).state_dict(), load_model(last).state_dict()
    fresh = build_model("animo", fine_tune).state_dict()
    assert any(not torch.equal(start[key], fresh[key]) for key in start)  # fresh weights would be told apart
    for key, value in tuned.items():
        torch.testing.assert_close(value, start[key], rtol=0, atol=1e-9)
    wider = replace(fine_tune, architecture={**TINY_ANIMO["architecture"], "edit_base_nc": 8})
    with pytest.raises(InputError, match="different architecture.*edit_base_nc"):
        train("animo", wider, "synthetic", tmp_path / "c", progress=False)
    other_range = replace(fine_tune, architecture={**TINY_ANIMO["architecture"], "input_range": (-1.0, 1.0)})
    with pytest.raises(InputError, match="different architecture.*input_range"):  # same tensors, other pixels
        train("animo", other_range, "synthetic", tmp_path / "e", progress=False)

    # an architecture that only adds parts (the blend mask) keeps every trained tensor; the new conv starts fresh
    blended = replace(fine_tune, architecture={**TINY_ANIMO["architecture"], "edit_blend": True})
    grown = load_model(train("animo", blended, "synthetic", tmp_path / "d", progress=False)).state_dict()
    added = sorted(set(grown) - set(start))
    assert added == ["renderers.anime.editing_net.blend.bias", "renderers.anime.editing_net.blend.weight"]
    for key, value in start.items():
        torch.testing.assert_close(grown[key], value, rtol=0, atol=1e-9)
