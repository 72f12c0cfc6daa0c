"""``python -m animeceleb train``: train Animo, PIRenderer or FOMM on a dataset, a Hub id or synthetic pairs; and
``python -m animeceleb average``: the mean of a run's checkpoints as one model (weight averaging)."""

from __future__ import annotations

import argparse

from animeceleb.train.config import MODEL_KINDS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a model (official recipe by default; accelerate launch -m animeceleb train ... for many GPUs)",
        description="Train Animo, PIRenderer or FOMM. The YAML --config overrides fields of the official recipe.",
    )
    parser.add_argument("--model", required=True, choices=MODEL_KINDS, help="model kind to train")
    parser.add_argument("--config", help="YAML file of TrainConfig keys (default: the official recipe)")
    parser.add_argument(
        "--data", required=True, help="AnimeCeleb folder (official layout or parquet), Hub dataset id, or 'synthetic'"
    )
    parser.add_argument("--out", required=True, help="run folder for checkpoints, log.csv and sample grids")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)

    average = subparsers.add_parser(
        "average",
        help="average the weights of checkpoints of one run into one model (SWA)",
        description="Average checkpoints of one training run (e.g. those of a constant learning-rate stretch).",
    )
    average.add_argument("checkpoints", nargs="+", help="checkpoint folders, e.g. runs/animo/checkpoint-00090*")
    average.add_argument("--out", required=True, help="folder for the averaged config.json + model.safetensors")
    average.set_defaults(func=run_average)


def run(args: argparse.Namespace) -> int:
    from animeceleb.train import load_train_config, train

    config = load_train_config(args.model, args.config)
    last = train(args.model, config, args.data, args.out, resume=args.resume, progress=not args.no_progress)
    print(f"last checkpoint: {last}")
    return 0


def run_average(args: argparse.Namespace) -> int:
    from animeceleb.train.average import average_checkpoints

    average_checkpoints(args.checkpoints, args.out)
    print(f"averaged {len(args.checkpoints)} checkpoints into {args.out}")
    return 0
