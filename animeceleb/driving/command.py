"""``python -m animeceleb drive VIDEO --out poses.csv``: a face video -> one AnimeCeleb pose per frame (CSV)."""

from __future__ import annotations

import argparse
from pathlib import Path

from tqdm import tqdm

from animeceleb.cli import tqdm_progress
from animeceleb.driving.drive import drive_video
from animeceleb.driving.pose_csv import write_pose_csv
from animeceleb.driving.pose_estimation import DriveOptions
from animeceleb.driving.tracker import BACKENDS, FaceTracker
from animeceleb.errors import InputError
from animeceleb.pose import ANGLE_RANGE, POSE_NAMES


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``drive`` command."""
    parser = subparsers.add_parser(
        "drive",
        help="turn a face video into an AnimeCeleb pose sequence (CSV)",
        description=(
            "Track the face in VIDEO and write one 20-d AnimeCeleb pose per frame to a CSV file whose header names "
            f"the pose values ({', '.join(POSE_NAMES)}). Frames without a face hold the previous pose and are "
            "reported."
        ),
    )
    parser.add_argument("video", type=Path, help="driving video with one face (mp4, mov, webm, avi, ...)")
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    add_drive_arguments(parser)
    parser.set_defaults(func=run)


def add_drive_arguments(parser: argparse.ArgumentParser) -> None:
    """Face-tracking and pose options shared by every command that reads a driving face video."""
    parser.add_argument("--backend", choices=BACKENDS, default="dlib", help="landmark backend (default: dlib)")
    parser.add_argument("--device", default="cpu", help="torch device of the face-alignment backends")
    parser.add_argument(
        "--smooth", type=float, default=0.5, help="One Euro smoothing strength in [0, 1]; 0 = off (default 0.5)"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--relative",
        dest="relative",
        action="store_true",
        default=True,
        help="motion relative to the driver's neutral face on the first frames (default)",
    )
    mode.add_argument(
        "--absolute", dest="relative", action="store_false", help="measure against a typical face instead"
    )
    parser.add_argument(
        "--calibration-frames", type=int, default=10, help="frames whose median is the neutral face (default 10)"
    )
    parser.add_argument(
        "--gain",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="multiply one pose value, e.g. --gain head_yaw=1.5 (repeatable)",
    )
    parser.add_argument(
        "--angle-limit",
        type=float,
        default=ANGLE_RANGE,
        help=f"clip head angles to +- this (degrees, default {ANGLE_RANGE:g})",
    )
    parser.add_argument("--mirror", action="store_true", help="the video is a mirrored selfie view")


def drive_options(args: argparse.Namespace) -> DriveOptions:
    """``DriveOptions`` from the arguments added by ``add_drive_arguments``."""
    return DriveOptions(
        relative=args.relative,
        calibration_frames=args.calibration_frames,
        smooth=args.smooth,
        gains=_parse_gains(args.gain),
        angle_limit=args.angle_limit,
        mirror=args.mirror,
    )


def run(args: argparse.Namespace) -> int:
    """Drive, write the CSV and report the frames without a face."""
    tracker = FaceTracker(args.backend, device=args.device)
    with tqdm(desc="tracking", unit="frame") as bar:
        result = drive_video(args.video, options=drive_options(args), tracker=tracker, progress=tqdm_progress(bar))
    write_pose_csv(args.out, result.poses)
    print(f"wrote {len(result.poses)} poses ({result.fps:g} fps) to {args.out}")
    if result.missing:
        print(f"no face in {len(result.missing)} frames (previous pose held): {format_frame_ranges(result.missing)}")
    return 0


def _parse_gains(items: list[str]) -> dict[str, float]:
    gains = {}
    for item in items:
        name, _, value = item.partition("=")
        try:
            gains[name.strip()] = float(value)
        except ValueError:
            raise InputError(f"--gain takes NAME=VALUE, e.g. head_yaw=1.5; got {item!r}") from None
    return gains


def format_frame_ranges(frames: tuple[int, ...]) -> str:
    """``(0, 1, 2, 7, 9, 10)`` -> ``"0-2, 7, 9-10"``."""
    ranges: list[list[int]] = []
    for frame in frames:
        if ranges and frame == ranges[-1][1] + 1:
            ranges[-1][1] = frame
        else:
            ranges.append([frame, frame])
    return ", ".join(str(first) if first == last else f"{first}-{last}" for first, last in ranges)
