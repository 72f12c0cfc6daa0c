"""``python -m animeceleb animate SOURCE --driving VIDEO|poses.csv --model DIR --out result.mp4|.webm|.gif|DIR``."""

from __future__ import annotations

import argparse
from pathlib import Path

from tqdm import tqdm

from animeceleb.cli import tqdm_progress
from animeceleb.driving.command import add_drive_arguments, drive_options, format_frame_ranges
from animeceleb.errors import InputError
from animeceleb.framing import HeadBox
from animeceleb.imaging import read_image
from animeceleb.inference.animate import animate_file
from animeceleb.inference.animator import Animator
from animeceleb.inference.outputs import FORMATS, parse_color

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "checkpoints" / "animeceleb-compact"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``animate`` command."""
    parser = subparsers.add_parser(
        "animate",
        help="animate an anime head with a face video or a pose CSV (mp4, WebM, GIF or PNG frames)",
        description=(
            "Animate SOURCE (an anime head image) with a driving face video or a pose CSV written by `drive`, and "
            "write an h264 mp4 that plays in browsers (the video's audio is kept), a WebM or GIF that keeps the "
            "transparency of an RGBA source, or a folder of PNG frames. A picture not framed like the training data "
            "is cropped by --frame, and --paste-back puts the animated head back into the full picture."
        ),
    )
    parser.add_argument("source", type=Path, help="anime head image (PNG, JPEG, WebP; RGBA gives RGBA results)")
    parser.add_argument("--driving", type=Path, required=True, help="face video, or a pose CSV")
    parser.add_argument("--out", type=Path, required=True, help="file to write (.mp4, .webm, .gif) or PNG folder")
    parser.add_argument("--format", choices=FORMATS, help="output format (default: from the --out suffix)")
    parser.add_argument(
        "--background",
        type=_color,
        default="white",
        help="colour under transparent areas in an mp4: white, green, black, #RRGGBB or R,G,B (default white)",
    )
    parser.add_argument(
        "--frame",
        type=_frame,
        help="crop SOURCE to the training framing: 'auto' (from the alpha of an RGBA picture) or 'x,y,scale' "
        "(head centre and head radius in source pixels; see docs/framing.md)",
    )
    parser.add_argument(
        "--paste-back", action="store_true", help="paste the animated head back into the full picture (needs --frame)"
    )
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="model folder or Hub id (default: embedded)")
    parser.add_argument("--side-by-side", action="store_true", help="put the driving video left of the result")
    parser.add_argument("--fps", type=float, help="frame rate for a pose CSV (default 25)")
    parser.add_argument("--batch-size", type=int, default=1, help="frames rendered at once (default 1; raise on GPU)")
    add_drive_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Animate and report the output."""
    animator = Animator.from_pretrained(args.model, batch_size=args.batch_size)
    with tqdm(desc="animating", unit="frame") as bar:
        result = animate_file(
            animator,
            read_image(args.source),
            args.driving,
            args.out,
            side_by_side=args.side_by_side,
            fps=args.fps,
            options=drive_options(args),
            backend=args.backend,
            device=args.device,
            progress=tqdm_progress(bar),
            format=args.format,
            background=args.background,
            frame=args.frame,
            paste_back=args.paste_back,
        )
    print(f"wrote {result.frames} frames ({result.fps:g} fps) to {result.path}")
    if result.missing:
        print(f"no face in {len(result.missing)} frames (previous pose held): {format_frame_ranges(result.missing)}")
    return 0


def _color(text: str) -> tuple[int, int, int]:
    try:
        return parse_color(text)
    except InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _frame(text: str) -> HeadBox | str:
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return HeadBox.parse(text)
    except InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
