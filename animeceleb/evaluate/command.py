"""``python -m animeceleb evaluate``: metrics of models on held-out pairs, the copy-source baseline, and grids."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="L1/PSNR/SSIM of models on held-out pairs vs copying the source; JSON report and comparison grids",
        description="Evaluate one or more models (any kind) on held-out identities; each --model is one grid column.",
    )
    parser.add_argument("--model", action="append", required=True, help="model folder or Hub id (repeatable)")
    parser.add_argument(
        "--data", required=True, help="AnimeCeleb folder (official layout or parquet), Hub dataset id, or 'synthetic'"
    )
    parser.add_argument("--split", default="test", choices=("test", "train"), help="which identities (default test)")
    parser.add_argument("--out", required=True, help="folder for report.json and the grid PNGs")
    parser.add_argument("--num-pairs", type=int, default=200, help="pairs with a real pose change (default 200)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--grid-rows", type=int, default=6, help="pairs shown in the grids")
    parser.add_argument("--device", default="cpu")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from animeceleb.evaluate.run import evaluate

    report = evaluate(
        args.model,
        args.data,
        args.out,
        split=args.split,
        num_pairs=args.num_pairs,
        batch_size=args.batch_size,
        grid_rows=args.grid_rows,
        device=args.device,
    )
    summary = ("metrics", "l1_vs_copy_source", "expressions_vs_copy_source")
    print(json.dumps({key: report[key] for key in summary}, indent=2))
    return 0
