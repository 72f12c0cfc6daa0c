"""``python -m animeceleb train``: train Animo, PIRenderer or FOMM on a dataset, a Hub id or synthetic pairs."""

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


def run(args: argparse.Namespace) -> int:
    from animeceleb.train import load_train_config, train

    config = load_train_config(args.model, args.config)
    last = train(args.model, config, args.data, args.out, resume=args.resume, progress=not args.no_progress)
    print(f"last checkpoint: {last}")
    return 0
