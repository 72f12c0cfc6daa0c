"""``python -m animeceleb annotate``: render AnimeCeleb-style annotated images of a VRM/glTF character with Blender."""

from __future__ import annotations

import argparse
from pathlib import Path

from tqdm import tqdm

from animeceleb.annotate.annotator import (
    CAMERAS,
    ENGINES,
    AnnotateOptions,
    annotate_model,
    choose_head_bone,
    inspect_model,
)
from animeceleb.annotate.morph_map import MorphMapping, load_morph_map, resolve_morph_map
from animeceleb.annotate.pose_file import load_poses
from animeceleb.cli import tqdm_progress

DEFAULTS = AnnotateOptions()


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``annotate`` command."""
    parser = subparsers.add_parser(
        "annotate",
        help="render annotated images of your own 3D character (VRM, glTF) with Blender",
        description=(
            "Load a VRM/glTF character in Blender (the environment made by `make blender-env`), map the 17 "
            "AnimeCeleb morphs to its shape keys, sample poses like the dataset, render the neutral basis image and "
            "every pose, and write the official layout: OUT/combined_pose.csv, OUT/rotation/<cluster>/<name>/*.png "
            "and OUT/basis/<name>/basis.png (plus contact_sheet.png). Rerunning resumes."
        ),
    )
    parser.add_argument("model", type=Path, help="character file: .vrm, .glb or .gltf")
    parser.add_argument("out_dir", type=Path, help="dataset root to write (other identities there are kept)")
    parser.add_argument("--frames", type=int, default=DEFAULTS.frames, help="poses to sample (default %(default)s)")
    parser.add_argument("--poses", type=Path, help="render these poses instead (CSV with pose-name header, or JSON)")
    parser.add_argument("--size", type=int, default=DEFAULTS.size, help="image side in pixels (default %(default)s)")
    parser.add_argument("--engine", choices=ENGINES, default=DEFAULTS.engine, help="renderer (default %(default)s)")
    parser.add_argument("--camera", choices=CAMERAS, default=DEFAULTS.camera, help="projection (default %(default)s)")
    parser.add_argument("--fov", type=float, default=DEFAULTS.fov, help="perspective field of view, degrees")
    parser.add_argument("--margin", type=float, default=DEFAULTS.margin, help="image side / head size (default 1.4)")
    parser.add_argument("--samples", type=int, default=DEFAULTS.samples, help="samples per pixel (default %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed, help="pose sampling seed (default %(default)s)")
    parser.add_argument("--org-id", type=int, default=DEFAULTS.org_id, help="identity id in the CSV (default 0)")
    parser.add_argument("--cluster", type=int, default=DEFAULTS.cluster, help="num_cluster directory (default 0)")
    parser.add_argument("--name", help="identity folder name (default: the model file name)")
    parser.add_argument("--head-bone", help="bone to rotate (default: the VRM humanoid head or a bone named 'head')")
    parser.add_argument("--morph-map", type=Path, help="YAML/JSON {morph: shape key} overriding the automatic map")
    parser.add_argument("--timeout", type=float, default=DEFAULTS.timeout, help="seconds allowed per frame")
    parser.add_argument("--inspect", action="store_true", help="only show the head bone and the morph mapping")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Annotate (or with --inspect, describe the mapping) and print where things went."""
    morph_map = load_morph_map(args.morph_map) if args.morph_map else {}
    if args.inspect:
        info = inspect_model(args.model, timeout=args.timeout)
        armature, bone = choose_head_bone(info, args.head_bone)
        print(f"head bone: {bone} (armature {armature})")
        _print_mapping(resolve_morph_map(info.shape_keys, info.expressions, morph_map))
        return 0
    options = AnnotateOptions(
        frames=args.frames,
        size=args.size,
        engine=args.engine,
        camera=args.camera,
        fov=args.fov,
        margin=args.margin,
        samples=args.samples,
        seed=args.seed,
        org_id=args.org_id,
        cluster=args.cluster,
        name=args.name,
        head_bone=args.head_bone,
        morph_map=morph_map,
        timeout=args.timeout,
    )
    poses = load_poses(args.poses) if args.poses else None
    with tqdm(desc="rendering", unit="image", disable=None) as bar:
        result = annotate_model(args.model, args.out_dir, options, poses=poses, progress=tqdm_progress(bar))
    _print_mapping(result.mapping)
    print(
        f"rendered {result.rendered} images ({result.reused} already there) for identity {args.org_id} "
        f"'{result.folder}' in {result.root}"
    )
    print(f"poses: {result.csv_path}\nbasis: {result.basis_path}\ncontact sheet: {result.contact_sheet}")
    return 0


def _print_mapping(mapping: MorphMapping) -> None:
    for name in mapping.mapped:
        keys = ", ".join(f"{b.key}" + (f"*{b.weight:g}" if b.weight != 1 else "") for b in mapping.bindings[name])
        print(f"  {name:16s} -> {keys}  ({mapping.sources[name]})")
    if mapping.unmapped:
        print(f"unmapped morphs (never sampled; map them with --morph-map): {', '.join(mapping.unmapped)}")
