"""``python -m animeceleb convert``: official Lightning checkpoint -> config.json + model.safetensors."""

from __future__ import annotations

import argparse
from pathlib import Path

from animeceleb.convert.core import FAMILIES, convert_checkpoint


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``convert`` command."""
    parser = subparsers.add_parser(
        "convert",
        help="convert an official AnimeCeleb checkpoint to a model folder",
        description=(
            "Read an official PyTorch-Lightning checkpoint (.ckpt) safely (weights_only), drop training-only "
            "tensors, infer the architecture from tensor shapes and write OUT_DIR/config.json, "
            "OUT_DIR/model.safetensors and a model card. Load the result with animeceleb.models.load_model(OUT_DIR)."
        ),
    )
    parser.add_argument("checkpoint", type=Path, help="official .ckpt file (or a bare state dict)")
    parser.add_argument("out_dir", type=Path, help="folder to write the converted model to")
    parser.add_argument("--kind", choices=sorted(FAMILIES), help="model family (default: detected from the keys)")
    parser.add_argument("--ema", action="store_true", help="take the EMA weights (generator_ema.*) where present")
    parser.add_argument(
        "--image-size", type=int, nargs=2, metavar=("H", "W"), help="native resolution to record (default 256 256)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Convert and print the output folder."""
    out = convert_checkpoint(args.checkpoint, args.out_dir, kind=args.kind, ema=args.ema, image_size=args.image_size)
    print(out)
    return 0
