"""Data commands: ``dataset export``, ``render-synthetic`` and ``render-synthetic-grid``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from animeceleb.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the data commands."""
    dataset = subparsers.add_parser("dataset", help="dataset tools (export to parquet / the Hub)")
    actions = dataset.add_subparsers(dest="dataset_command", required=True, metavar="ACTION")
    export = actions.add_parser(
        "export",
        help="write an AnimeCeleb root as parquet shards with embedded images",
        description=(
            "Read ROOT (the official layout: combined_pose.csv, rotation/<cluster>/<folder>/<png>) and write "
            "OUT/data/<split>-0000i-of-0000n.parquet with images embedded: the schema load_animeceleb reads from a "
            "folder or the Hub. Optionally upload it with --push-to-hub."
        ),
    )
    export.add_argument("root", type=Path, help="dataset root in the official layout")
    export.add_argument("out", type=Path, help="output folder")
    export.add_argument("--format", choices=["parquet"], default="parquet", help="output format (default parquet)")
    export.add_argument("--with-basis", action="store_true", help="add the basis_image column (basis/<folder>)")
    export.add_argument("--rows-per-shard", type=int, default=5000, help="rows per parquet file (default 5000)")
    export.add_argument("--push-to-hub", metavar="REPO", help="also upload to this Hub dataset (needs network)")
    export.add_argument("--private", action="store_true", help="make the Hub dataset private")
    export.set_defaults(func=run_export)

    render = subparsers.add_parser(
        "render-synthetic",
        help="render a synthetic AnimeCeleb (procedural anime heads, exact poses) in the official layout",
        description=(
            "Render IDENTITIES procedural characters with FRAMES poses each into OUT in the official layout "
            "(RGBA PNGs, combined_pose.csv, basis images, splits/). Rerunning resumes an interrupted run; the same "
            "--seed always gives the same characters and poses."
        ),
    )
    render.add_argument("out", type=Path, help="dataset root to write (created or resumed)")
    render.add_argument("--identities", type=int, default=100, help="number of characters (default 100)")
    render.add_argument("--frames-per-identity", type=int, default=20, help="poses per character (default 20)")
    render.add_argument("--size", type=int, default=256, help="image size in pixels (default 256)")
    render.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    render.add_argument("--test-every", type=int, default=10, help="every N-th identity is a test one (0: none)")
    render.add_argument(
        "--workers", type=int, default=min(2, os.cpu_count() or 1), help="render processes (default: up to 2)"
    )
    render.set_defaults(func=run_render)

    grid = subparsers.add_parser(
        "render-synthetic-grid",
        help="an image grid of synthetic characters in named poses (examples/synthetic_grid.png)",
    )
    grid.add_argument("out", type=Path, help="PNG file to write")
    grid.add_argument("--identities", type=int, default=8, help="rows (default 8)")
    grid.add_argument("--size", type=int, default=192, help="cell size in pixels (default 192)")
    grid.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    grid.set_defaults(func=run_grid)


def run_export(args: argparse.Namespace) -> int:
    """Export to parquet (and the Hub); prints the files written."""
    from animeceleb.data.loader import export_parquet, push_to_hub

    if args.rows_per_shard < 1:
        raise InputError("--rows-per-shard must be at least 1")
    for path in export_parquet(args.root, args.out, with_basis=args.with_basis, rows_per_shard=args.rows_per_shard):
        print(path)
    if args.push_to_hub:
        push_to_hub(args.root, args.push_to_hub, with_basis=args.with_basis, private=args.private)
        print(f"pushed to https://huggingface.co/datasets/{args.push_to_hub}")
    return 0


def run_render(args: argparse.Namespace) -> int:
    """Render with a progress bar; prints the root."""
    from tqdm import tqdm

    from animeceleb.data.synthetic import write_synthetic_dataset

    if args.size < 16 or args.workers < 1:
        raise InputError("--size must be at least 16 and --workers at least 1")
    with tqdm(total=args.identities * args.frames_per_identity, unit="img", desc="render-synthetic") as bar:

        def progress(done: int, total: int) -> None:
            bar.update(done - bar.n)

        write_synthetic_dataset(
            args.out,
            identities=args.identities,
            frames_per_identity=args.frames_per_identity,
            size=args.size,
            seed=args.seed,
            test_every=args.test_every,
            workers=args.workers,
            progress=progress,
        )
    print(args.out)
    return 0


def run_grid(args: argparse.Namespace) -> int:
    """Write the grid PNG; prints its path."""
    from PIL import Image

    from animeceleb.data.synthetic import render_grid

    if args.identities < 1 or args.size < 32:
        raise InputError("--identities must be at least 1 and --size at least 32")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(render_grid(args.seed, args.identities, args.size)).save(args.out, optimize=True)
    print(args.out)
    return 0
