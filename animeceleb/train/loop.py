"""The training loop on ``accelerate``: ``accelerate launch -m animeceleb train ...`` runs it on many GPUs unchanged.

Each process draws its own share of every step's pairs (deterministic in the seed and the step, so ``--resume``
continues the same stream), the optimiser steps once per step, and the main process writes checkpoints, the CSV
log and a sample grid of held-out pairs.
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import torch
import yaml
from accelerate import Accelerator, DistributedDataParallelKwargs
from accelerate.utils import set_seed
from safetensors.torch import load_file
from tqdm.auto import tqdm

from animeceleb.errors import InputError
from animeceleb.evaluate.datasets import SYNTHETIC, open_pairs
from animeceleb.evaluate.grid import save_grid
from animeceleb.evaluate.reenact import reenact
from animeceleb.models import PRESETS, create_model, from_model_range
from animeceleb.models.hub import WEIGHTS_FILE, HubModel
from animeceleb.models.nets import WarpingNet
from animeceleb.train.config import OFFICIAL_REPEATS, TrainConfig
from animeceleb.train.losses import build_image_loss
from animeceleb.train.objectives import build_objective
from animeceleb.train.state import checkpoint_dir, latest_checkpoint, load_training_state, save_training_state

logger = logging.getLogger(__name__)

FAMILIES = {"animo": "animo", "pirender": "pirenderer", "fomm": "fomm"}  # CLI kind -> model family
LOG_FILE = "log.csv"
LOG_COLUMNS = ("step", "epoch", "stage", "lr", "loss", "warp", "final", "equivariance", "wall_seconds")


def build_model(kind: str, config: TrainConfig) -> HubModel:
    """The preset of ``config`` (default: the official size of ``kind``) with ``config.architecture`` applied."""
    family = FAMILIES[kind]
    model = create_model(config.preset or f"{family}_official")
    if model.model_type != family:
        choices = ", ".join(name for name in PRESETS if name.startswith(family))
        raise InputError(
            f"preset {config.preset!r} is a {model.model_type} model; --model {kind} needs one of {choices}"
        )
    if config.architecture:
        try:
            model = type(model)(replace(model.config, **config.architecture))
        except TypeError as error:
            raise InputError(f"invalid architecture override: {error}") from None
    if config.use_identity_flow_init:
        for module in model.modules():
            if isinstance(module, WarpingNet):
                flow_conv = module.flow_out[-1]
                torch.nn.init.zeros_(flow_conv.weight)
                torch.nn.init.zeros_(flow_conv.bias)
    return model


def iterate_batches(
    dataset: torch.utils.data.Dataset, config: TrainConfig, start_step: int, rank: int, world: int
) -> Iterator[dict[str, torch.Tensor]]:
    """Endless batches for this process from ``start_step`` on; passes over the data are shuffled per pass."""
    per_step = config.batch_size * world
    steps_per_pass = len(dataset) // per_step
    if steps_per_pass == 0:
        raise InputError(f"the data has {len(dataset)} pairs, fewer than one step needs ({per_step})")
    step = start_step
    while True:
        data_pass, offset = divmod(step, steps_per_pass)
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(data_pass)  # workers are created per pass, so they see it
        generator = torch.Generator().manual_seed(config.seed * 1_000_003 + data_pass)
        order = torch.randperm(len(dataset), generator=generator)[: steps_per_pass * per_step]
        mine = order.view(steps_per_pass, world, config.batch_size)[offset:, rank].flatten().tolist()
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=config.batch_size, sampler=mine, num_workers=config.num_workers
        )
        for batch in loader:
            yield batch
            step += 1


def training_pairs(kind: str, data: str, config: TrainConfig, total_pairs: int) -> torch.utils.data.Dataset:
    """The training pairs: an endless-enough synthetic stream, or the dataset with the official repeats."""
    if data == SYNTHETIC:
        return open_pairs(
            data,
            "train",
            seed=config.seed,
            size=config.image_size,
            length=total_pairs,
            num_identities=config.num_identities,
            use_jitter=config.use_jitter,
        )
    return open_pairs(
        data,
        "train",
        seed=config.seed,
        use_jitter=config.use_jitter,
        use_time_flip=kind == "fomm",  # SPEC 6.5
        num_repeats=OFFICIAL_REPEATS,
    )


def sample_batch(data: str, config: TrainConfig) -> dict[str, torch.Tensor]:
    """The held-out pairs shown in every checkpoint's sample grid."""
    pairs = open_pairs(data, "test", size=config.image_size, length=config.sample_rows)
    items = [pairs[index] for index in range(min(config.sample_rows, len(pairs)))]
    return torch.utils.data.default_collate(items)


@torch.no_grad()
def write_samples(model: HubModel, batch: dict[str, torch.Tensor], with_image: bool, path: Path) -> None:
    """Grid of source | driving (ground truth) | warped source | final image for the sample pairs."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    batch = {key: value.to(device) for key, value in batch.items() if torch.is_tensor(value)}
    outputs = reenact(model, batch["source"], batch["driving"], batch["driving_pose"], with_image=with_image)
    columns = [batch["source"], batch["driving"], from_model_range(outputs["warp_image"], model.config.input_range)]
    titles = ["source", "driving (GT)", "warped"]
    if "image" in outputs:
        columns.append(from_model_range(outputs["image"], model.config.input_range))
        titles.append("output")
    save_grid(path, [column.float().cpu() for column in columns], titles)
    model.train(was_training)


class RunLog:
    """Appends one CSV row per ``log_every`` steps to ``RUN/log.csv`` (kept across resumes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists():
            with path.open("w", newline="", encoding="utf-8") as file:
                csv.writer(file).writerow(LOG_COLUMNS)

    def write(self, values: dict[str, float | int | str]) -> None:
        with self.path.open("a", newline="", encoding="utf-8") as file:
            csv.writer(file).writerow([values.get(column, "") for column in LOG_COLUMNS])


def train(
    kind: str, config: TrainConfig, data: str, out_dir: str | Path, *, resume: bool = False, progress: bool = True
) -> Path:
    """Train ``kind`` (animo, pirender, fomm) on ``data`` into ``out_dir``; returns the last checkpoint folder.

    ``resume`` continues from the newest complete checkpoint in ``out_dir`` (weights, Adam moments, scheduler,
    step, RNG); without it ``out_dir`` must not hold checkpoints yet.
    """
    out_dir = Path(out_dir)
    found = latest_checkpoint(out_dir) if out_dir.is_dir() else None
    if found is not None and not resume:
        raise InputError(f"{out_dir} already holds checkpoints; pass --resume to continue or choose a new --out")
    accelerator = Accelerator(
        mixed_precision=config.mixed_precision,
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],  # warp stage: editing idle
        log_with=config.log_with or None,
        project_dir=out_dir,
    )
    if config.log_with:
        accelerator.init_trackers("animeceleb", config={"model": kind, "data": data, **config.to_dict()})
    set_seed(config.seed)
    model = build_model(kind, config).train()
    if model.config.image_size != (config.image_size, config.image_size) and data == SYNTHETIC:
        raise InputError(f"image_size {config.image_size} differs from the model's {model.config.image_size}")
    family = "fomm" if kind == "fomm" else "pose"
    image_loss = build_image_loss(config.perceptual_weights, config.loss_scales, from_tanh=family == "pose")
    objective = build_objective(model, image_loss, config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=config.betas)
    milestones = [epoch * config.steps_per_epoch for epoch in config.lr_milestones]
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=config.lr_gamma)
    step, wall_seconds = 0, 0.0
    if found is not None:
        model.load_state_dict(load_file(found / WEIGHTS_FILE))
        state = load_training_state(found, optimizer, scheduler)
        step, wall_seconds = state["step"], state.get("wall_seconds", 0.0)
        logger.info("resuming %s at step %d", found, step)
    objective, optimizer = accelerator.prepare(objective, optimizer)
    image_loss.to(accelerator.device)

    total_pairs = config.total_steps * config.batch_size * accelerator.num_processes
    batches = iterate_batches(
        training_pairs(kind, data, config, total_pairs),
        config,
        step,
        accelerator.process_index,
        accelerator.num_processes,
    )
    is_main = accelerator.is_main_process
    if is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "train_config.yaml").write_text(yaml.safe_dump({"model": kind, "data": data, **config.to_dict()}))
        run_log = RunLog(out_dir / LOG_FILE)
        samples = sample_batch(data, config)
    bar = tqdm(total=config.total_steps, initial=step, disable=not (progress and accelerator.is_local_main_process))
    last = found
    started = time.monotonic() - wall_seconds
    while step < config.total_steps:
        with_image = family == "fomm" or step >= config.warp_steps
        batch = {key: value.to(accelerator.device) for key, value in next(batches).items() if torch.is_tensor(value)}
        losses = objective(batch, with_image)
        optimizer.zero_grad(set_to_none=True)
        accelerator.backward(losses["loss"])
        optimizer.step()
        scheduler.step()
        step += 1
        values = {name: float(value.detach()) for name, value in losses.items()}
        if config.log_with and step % config.log_every == 0:
            accelerator.log(values, step=step)
        bar.update(1)
        bar.set_postfix({name: f"{value:.4f}" for name, value in values.items()}, refresh=False)
        done = step == config.total_steps
        if is_main and (step % config.log_every == 0 or done):
            stage = "edit" if with_image else "warp"
            lr = optimizer.param_groups[0]["lr"]
            epoch = step / config.steps_per_epoch
            run_log.write(
                {
                    **values,
                    "step": step,
                    "epoch": f"{epoch:.3f}",
                    "stage": stage,
                    "lr": lr,
                    "wall_seconds": f"{time.monotonic() - started:.1f}",
                }
            )
        if step % config.checkpoint_every == 0 or done:
            accelerator.wait_for_everyone()
            if is_main:
                last = checkpoint_dir(out_dir, step)
                unwrapped = accelerator.unwrap_model(objective).model
                unwrapped.save_pretrained(last)
                extra = {
                    "kind": kind,
                    "data": data,
                    "config": config.to_dict(),
                    "wall_seconds": time.monotonic() - started,
                }
                save_training_state(last, step, optimizer, scheduler, extra)
                write_samples(unwrapped, samples, with_image, last / "samples.png")
    bar.close()
    accelerator.end_training()
    return last
