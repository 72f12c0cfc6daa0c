"""The training loop on ``accelerate``: ``accelerate launch -m animeceleb train ...`` runs it on many GPUs unchanged.

Each process draws its own share of every step's pairs (deterministic in the seed and the step, so ``--resume``
continues the same stream), the optimiser steps once per step, and the main process writes checkpoints, the CSV
log and a sample grid of held-out pairs.
"""

from __future__ import annotations

import bisect
import csv
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, replace
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
from animeceleb.models import PRESETS, create_model, from_model_range, load_model
from animeceleb.models.hub import WEIGHTS_FILE, HubModel
from animeceleb.models.nets import WarpingNet
from animeceleb.train.allocator import tcmalloc_advice
from animeceleb.train.config import OFFICIAL_REPEATS, TrainConfig
from animeceleb.train.losses import build_image_loss
from animeceleb.train.objectives import build_objective
from animeceleb.train.state import checkpoint_dir, latest_checkpoint, load_training_state, save_training_state

logger = logging.getLogger(__name__)

FAMILIES = {"animo": "animo", "pirender": "pirenderer", "fomm": "fomm"}  # CLI kind -> model family
LOG_FILE = "log.csv"
LOG_COLUMNS = ("step", "epoch", "stage", "lr", "loss", "warp", "final", "edit_region", "equivariance", "wall_seconds")


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


def load_initial_weights(model: HubModel, name_or_path: str) -> None:
    """Start ``model`` from the weights of a trained model (fine-tuning).

    The architectures must be the same, except that ``model`` may switch on fields that only add modules (the
    config's ``additive_fields``, e.g. ``edit_blend``); those modules start fresh.
    """
    trained = load_model(name_or_path)
    theirs, ours = asdict(trained.config), asdict(model.config)
    differ = sorted(key for key in ours.keys() | theirs.keys() if ours.get(key) != theirs.get(key))
    added_parts = set(getattr(model.config, "additive_fields", ()))
    if any(key not in added_parts or not ours[key] for key in differ):
        raise InputError(
            f"init_weights {name_or_path!r} is a different architecture (fields differ: {', '.join(differ)}); "
            "set preset/architecture in the training config to match its config.json"
        )
    missing, _ = model.load_state_dict(trained.state_dict(), strict=False)
    if missing:
        logger.info("init_weights: %d new tensors start fresh: %s", len(missing), ", ".join(missing))


def freeze_modules(model: HubModel, names: Sequence[str]) -> list[torch.nn.Parameter]:
    """Fix the weights of the named submodules (gradients still flow through them); returns the weights left to train.

    Freezing the warping net, for instance, lets a stage teach the mapping and editing nets to draw expressions
    while the flow keeps what it has learnt.
    """
    modules = dict(model.named_modules())
    unknown = [name for name in names if not name or name not in modules]
    if unknown:
        examples = ", ".join(name for name in modules if name and ("." not in name or name.endswith("_net")))
        raise InputError(f"frozen_modules {unknown} are not submodules of this model; it has e.g. {examples}")
    for name in names:
        modules[name].requires_grad_(False)
    return [parameter for parameter in model.parameters() if parameter.requires_grad]


def to_device(tensor: torch.Tensor, device: torch.device, memory_format: torch.memory_format) -> torch.Tensor:
    """A batch tensor on ``device``; images (4-d) in ``memory_format``."""
    tensor = tensor.to(device)
    return tensor.contiguous(memory_format=memory_format) if tensor.ndim == 4 else tensor


def step_decay(config: TrainConfig) -> Callable[[int], float]:
    """The learning-rate factor at a step: ``lr_gamma`` per milestone passed (StepLR / MultiStepLR in closed form).

    Stateless, so a resumed run follows the schedule of its config, whatever the checkpoint's run used.
    """
    milestones = sorted(epoch * config.steps_per_epoch for epoch in config.lr_milestones)
    return lambda step: config.lr_gamma ** bisect.bisect_right(milestones, step)


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
            strong_expressions=config.strong_expressions,
            expression_changes=config.expression_changes,
            expression_morphs=config.expression_morphs,
        )
    return open_pairs(
        data,
        "train",
        seed=config.seed,
        use_jitter=config.use_jitter,
        use_time_flip=kind == "fomm",  # SPEC 6.5
        num_repeats=OFFICIAL_REPEATS,
        strong_expressions=config.strong_expressions,
        expression_changes=config.expression_changes,
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


class RunRecorder:
    """The main process's outputs: ``train_config.yaml``, ``log.csv`` rows and checkpoints with a sample grid."""

    def __init__(self, out_dir: Path, kind: str, data: str, config: TrainConfig, wall_seconds: float) -> None:
        self.out_dir, self.kind, self.data, self.config = out_dir, kind, data, config
        self.started = time.monotonic() - wall_seconds  # wall time accumulates across resumes
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "train_config.yaml").write_text(yaml.safe_dump({"model": kind, "data": data, **config.to_dict()}))
        self.log_path = out_dir / LOG_FILE
        if not self.log_path.exists():
            self._append(LOG_COLUMNS)
        self.samples = sample_batch(data, config)

    def _append(self, row: Sequence[object]) -> None:
        with self.log_path.open("a", newline="", encoding="utf-8") as file:
            csv.writer(file).writerow(row)

    def wall_seconds(self) -> float:
        return time.monotonic() - self.started

    def log(self, step: int, losses: dict[str, float], with_image: bool, lr: float) -> None:
        """One CSV row: step, epoch, stage, learning rate, loss terms, wall time."""
        values = {
            **losses,
            "step": step,
            "epoch": f"{step / self.config.steps_per_epoch:.3f}",
            "stage": "edit" if with_image else "warp",
            "lr": lr,
            "wall_seconds": f"{self.wall_seconds():.1f}",
        }
        self._append([values.get(column, "") for column in LOG_COLUMNS])

    def checkpoint(
        self,
        step: int,
        model: HubModel,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        with_image: bool,
    ) -> Path:
        """Write ``checkpoint-<step>``: model files, training state and ``samples.png``."""
        folder = checkpoint_dir(self.out_dir, step)
        model.save_pretrained(folder)
        extra = {
            "kind": self.kind,
            "data": self.data,
            "config": self.config.to_dict(),
            "wall_seconds": self.wall_seconds(),
        }
        save_training_state(folder, step, optimizer, scheduler, extra)
        write_samples(model, self.samples, with_image, folder / "samples.png")
        return folder


def make_accelerator(config: TrainConfig, out_dir: Path, run_info: dict[str, object]) -> Accelerator:
    """An Accelerator for the config; DDP tolerates the editing nets idling in the warp stage."""
    accelerator = Accelerator(
        mixed_precision=config.mixed_precision,
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
        log_with=config.log_with or None,
        project_dir=out_dir,
    )
    if config.log_with:
        accelerator.init_trackers("animeceleb", config={**run_info, **config.to_dict()})
    return accelerator


def train(
    kind: str, config: TrainConfig, data: str, out_dir: str | Path, *, resume: bool = False, progress: bool = True
) -> Path:
    """Train ``kind`` (animo, pirender, fomm) on ``data`` into ``out_dir``; returns the last checkpoint folder.

    ``resume`` continues from the newest complete checkpoint in ``out_dir`` (weights, Adam moments, scheduler,
    step, RNG); without it ``out_dir`` must not hold checkpoints yet, and the run starts from ``config.init_weights``
    when set.
    """
    out_dir = Path(out_dir)
    found = latest_checkpoint(out_dir) if out_dir.is_dir() else None
    if found is not None and not resume:
        raise InputError(f"{out_dir} already holds checkpoints; pass --resume to continue or choose a new --out")
    accelerator = make_accelerator(config, out_dir, {"model": kind, "data": data})
    advice = tcmalloc_advice() if accelerator.device.type == "cpu" and accelerator.is_main_process else None
    if advice:
        logger.warning(advice)
    set_seed(config.seed)
    model = build_model(kind, config).train()
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    if data == SYNTHETIC and tuple(model.config.image_size) != (config.image_size, config.image_size):
        raise InputError(f"image_size {config.image_size} differs from the model's {model.config.image_size}")
    use_stages = kind != "fomm"  # FOMM has no warp-only stage
    image_loss = build_image_loss(config.perceptual_weights, config.loss_scales, from_tanh=use_stages)
    objective = build_objective(model, image_loss, config)
    optimizer = torch.optim.Adam(freeze_modules(model, config.frozen_modules), lr=config.lr, betas=config.betas)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, step_decay(config))
    step, wall_seconds = 0, 0.0
    if found is not None:
        model.load_state_dict(load_file(found / WEIGHTS_FILE))
        state = load_training_state(found, optimizer, scheduler)
        step, wall_seconds = state["step"], state.get("wall_seconds", 0.0)
        logger.info("resuming %s at step %d", found, step)
    elif config.init_weights:
        load_initial_weights(model, config.init_weights)
    objective, optimizer = accelerator.prepare(objective, optimizer)
    image_loss.to(accelerator.device)
    pairs = training_pairs(kind, data, config, config.total_steps * config.batch_size * accelerator.num_processes)
    batches = iterate_batches(pairs, config, step, accelerator.process_index, accelerator.num_processes)
    recorder = RunRecorder(out_dir, kind, data, config, wall_seconds) if accelerator.is_main_process else None
    bar = tqdm(total=config.total_steps, initial=step, disable=not (progress and accelerator.is_local_main_process))
    last = found
    while step < config.total_steps:
        with_image = not use_stages or step >= config.warp_steps
        batch = {
            key: to_device(value, accelerator.device, memory_format)
            for key, value in next(batches).items()
            if torch.is_tensor(value)
        }
        losses = objective(batch, with_image)
        optimizer.zero_grad(set_to_none=True)
        accelerator.backward(losses["loss"])
        optimizer.step()
        scheduler.step()
        step += 1
        values = {name: float(value.detach()) for name, value in losses.items()}
        bar.update(1)
        bar.set_postfix({name: f"{value:.4f}" for name, value in values.items()}, refresh=False)
        done = step == config.total_steps
        if step % config.log_every == 0 or done:
            if config.log_with:
                accelerator.log(values, step=step)
            if recorder:
                recorder.log(step, values, with_image, optimizer.param_groups[0]["lr"])
        if step % config.checkpoint_every == 0 or done:
            accelerator.wait_for_everyone()
            if recorder:
                model_to_save = accelerator.unwrap_model(objective).model
                last = recorder.checkpoint(step, model_to_save, optimizer, scheduler, with_image)
    bar.close()
    accelerator.end_training()
    return last
