"""Annotate a user's 3D character: render AnimeCeleb-style images with their pose labels, in the official layout.

``annotate_model`` inspects the model with Blender, maps the 17 morphs to its shape keys, samples poses (or takes the
given ones), renders the neutral basis image and every pose with the Blender worker, then writes the pose CSV and a
contact sheet. Runs are resumable: a manifest beside the basis image records the settings and the pose of every
frame, so a rerun renders only the frames missing or changed, and a run with other settings is refused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from animeceleb.annotate.blender import run_worker
from animeceleb.annotate.contact_sheet import write_contact_sheet
from animeceleb.annotate.morph_map import MorphMapping, Target, normalize_name, resolve_morph_map
from animeceleb.data import layout
from animeceleb.data.sampling import sample_poses
from animeceleb.errors import InputError
from animeceleb.pose import ANGLE_NAMES, MORPH_NAMES, POSE_DIM, POSE_NAMES, validate_poses

logger = logging.getLogger(__name__)

ENGINES = ("workbench", "eevee", "cycles")
CAMERAS = ("orthographic", "perspective")
MODEL_SUFFIXES = (".vrm", ".glb", ".gltf")
HEAD_BONE_NAMES = ("head", "頭", "jbipchead", "mixamorighead", "bip01head", "ccbasehead", "defhead")
MANIFEST_NAME = "annotate.json"
CONTACT_SHEET_NAME = "contact_sheet.png"
FRAME_DIGITS = 5  # png names are <folder>_00042.png


@dataclass(frozen=True)
class AnnotateOptions:
    """How to render and where the identity goes in the dataset."""

    frames: int = 100  # poses to sample; ignored when poses are given
    size: int = 256  # image side in pixels (the official models take 256x256)
    engine: str = "workbench"  # workbench: fast, flat colours and outlines; eevee/cycles: the model's materials, slow
    camera: str = "orthographic"  # or "perspective" with a field of view of `fov` degrees
    fov: float = 30.0
    margin: float = 1.4  # image side / head size: larger shows more hair and shoulders
    samples: int = 8  # anti-aliasing samples per pixel (workbench: 1, 5, 8, 11, 16 or 32); raise it for cycles
    seed: int = 0  # sampled poses depend only on the seed, the frame index and the mapped morphs
    org_id: int = 0  # the identity's id in the CSV
    cluster: int = 0  # num_cluster, the first directory level under rotation/
    name: str | None = None  # the identity's folder name; default: the model file's name
    head_bone: str | None = None  # default: the VRM humanoid head, else a bone named like a head
    morph_map: Mapping[str, Target | None] = field(default_factory=dict)  # overrides, see load_morph_map
    timeout: float = 600.0  # seconds Blender may spend on one frame (or on loading the model) before it is stopped

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise InputError(f"unknown engine {self.engine!r}; choose one of {', '.join(ENGINES)}")
        if self.camera not in CAMERAS:
            raise InputError(f"unknown camera {self.camera!r}; choose one of {', '.join(CAMERAS)}")
        if self.size < 8 or self.frames < 0 or self.samples < 1 or self.margin <= 0 or not 0 < self.fov < 180:
            raise InputError("expected size >= 8, frames >= 0, samples >= 1, margin > 0 and 0 < fov < 180")


@dataclass(frozen=True)
class ModelInfo:
    """What Blender found in a model file."""

    format: str  # "vrm" or "gltf"
    bones: dict[str, tuple[str, ...]]  # armature -> bone names
    humanoid_head: tuple[str, str] | None  # (armature, bone) from the VRM humanoid
    shape_keys: dict[str, tuple[str, ...]]  # mesh -> shape key names
    expressions: dict[str, tuple[tuple[str, str, float], ...]]  # VRM expression -> (mesh, key, weight) binds


@dataclass(frozen=True)
class AnnotationResult:
    """Where everything was written, and what was mapped."""

    root: Path
    folder: str
    csv_path: Path
    basis_path: Path
    contact_sheet: Path
    images: tuple[Path, ...]  # one per pose, in CSV order
    rendered: int  # images rendered by this run (basis included)
    reused: int  # images already on disk from an earlier run with the same settings and poses
    head_bone: tuple[str, str]
    mapping: MorphMapping


def check_model_path(model: str | Path) -> Path:
    """The model file as an absolute path; raises ``InputError`` when it is missing or of another format."""
    path = Path(model).expanduser().resolve()
    if path.suffix.lower() not in MODEL_SUFFIXES:
        raise InputError(f"{path.name}: expected a {', '.join(MODEL_SUFFIXES)} model file")
    if not path.is_file():
        raise InputError(f"model file not found: {path}")
    return path


def inspect_model(model: str | Path, *, timeout: float = 600.0) -> ModelInfo:
    """Load ``model`` in Blender and list its armatures, bones, shape keys and VRM expressions."""
    path = check_model_path(model)
    with tempfile.TemporaryDirectory(prefix="animeceleb-inspect-") as scratch:
        result_path = Path(scratch) / "model.json"
        run_worker({"mode": "inspect", "model": str(path), "result": str(result_path)}, timeout=timeout)
        found = json.loads(result_path.read_text(encoding="utf-8"))
    return ModelInfo(
        format=found["format"],
        bones={armature: tuple(bones) for armature, bones in found["bones"].items()},
        humanoid_head=tuple(found["humanoid_head"]) if found["humanoid_head"] else None,
        shape_keys={mesh: tuple(keys) for mesh, keys in found["shape_keys"].items()},
        expressions={name: tuple(tuple(b) for b in binds) for name, binds in found["expressions"].items()},
    )


def choose_head_bone(info: ModelInfo, requested: str | None = None) -> tuple[str, str]:
    """(armature, bone) to rotate: ``requested`` if given, else the VRM humanoid head, else a bone named like a head
    (``head``, ``頭``, ``J_Bip_C_Head``, ``mixamorig:Head``...). Raises ``InputError`` listing the bones."""
    bones = [(armature, bone) for armature, names in info.bones.items() for bone in names]
    if requested is not None:
        found = [pair for pair in bones if pair[1] == requested]
    elif info.humanoid_head:
        return info.humanoid_head
    else:
        found = [pair for pair in bones if normalize_name(pair[1]).replace(":", "") in HEAD_BONE_NAMES]
    if found:
        return found[0]
    names = ", ".join(bone for _, bone in bones[:80]) or "(the model has no armature)"
    what = f"no bone named {requested!r}" if requested else "no head bone found"
    raise InputError(f"{what}; pass one of these with --head-bone: {names}")


def annotate_model(
    model: str | Path,
    out_dir: str | Path,
    options: AnnotateOptions | None = None,
    *,
    poses: np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AnnotationResult:
    """Render ``model`` in sampled (or the given) poses into the AnimeCeleb layout under ``out_dir``.

    Args:
        model: a .vrm, .glb or .gltf character facing -Y once imported (the glTF/VRM convention).
        out_dir: dataset root; other identities already there are kept.
        options: rendering and identity settings.
        poses: (N, 20) poses to render instead of sampling ``options.frames``; they may only use mapped morphs.
        progress: called as ``progress(done, total)`` while rendering.
    """
    options = options or AnnotateOptions()
    path = check_model_path(model)
    root = Path(out_dir).expanduser().resolve()
    info = inspect_model(path, timeout=options.timeout)
    head_bone = choose_head_bone(info, options.head_bone)
    mapping = resolve_morph_map(info.shape_keys, info.expressions, options.morph_map)
    if mapping.unmapped:
        logger.info("morphs not mapped to the model (never sampled): %s", ", ".join(mapping.unmapped))
    poses = _plan_poses(options, mapping, poses)

    folder = layout.folder_name_for(options.name or path.stem)
    names = [layout.frame_name(folder, index, digits=FRAME_DIGITS) for index in range(len(poses))]
    image_dir = layout.identity_dir(root, options.cluster, folder)
    images = [image_dir / name for name in names]
    basis = layout.basis_path(root, folder)
    settings = _settings(path, options, head_bone, mapping)
    todo = _resume(settings, poses, image_dir, images, basis)

    if todo:
        job = _render_job(path, settings, todo)
        run_worker(job, timeout=options.timeout, on_progress=progress and (lambda i: progress(i + 1, len(todo))))
    csv_path = layout.write_identity_rows(root, options.org_id, options.cluster, names, poses)
    sheet = write_contact_sheet([basis, *images], basis.with_name(CONTACT_SHEET_NAME))
    return AnnotationResult(
        root=root,
        folder=folder,
        csv_path=csv_path,
        basis_path=basis,
        contact_sheet=sheet,
        images=tuple(images),
        rendered=len(todo),
        reused=len(images) + 1 - len(todo),
        head_bone=head_bone,
        mapping=mapping,
    )


def _plan_poses(options: AnnotateOptions, mapping: MorphMapping, poses: np.ndarray | None) -> np.ndarray:
    """The poses to render, (N, 20): sampled over the mapped morphs (one per group), or the given ones checked."""
    if poses is None:
        return sample_poses(np.random.default_rng(options.seed), options.frames, morphs=mapping.mapped, eye_pairs=False)
    validate_poses(poses)
    poses = np.asarray(poses, dtype=np.float64).reshape(-1, POSE_DIM)
    for column, name in enumerate(MORPH_NAMES):
        rows = np.flatnonzero(poses[:, column])
        if name in mapping.unmapped and len(rows):
            raise InputError(
                f"pose {rows[0]} sets {name}, which the model has no shape key for; "
                "map it with a morph mapping file or leave it at 0"
            )
    return poses


def _settings(path: Path, options: AnnotateOptions, head_bone: tuple[str, str], mapping: MorphMapping) -> dict:
    """Everything an image depends on besides its pose: a rerun with other settings must not mix images."""
    chosen = asdict(options)
    for key in ("frames", "seed", "name", "head_bone", "morph_map", "timeout", "org_id"):
        chosen.pop(key)  # covered by the poses, the folder, the bindings below, or not affecting images
    return {**chosen, "model_sha256": _sha256(path), "head_bone": list(head_bone), "bindings": mapping.to_json()}


def _render_job(path: Path, settings: dict, todo: list[tuple[Path, np.ndarray]]) -> dict:
    """The worker's job: model, head bone, morph bindings, render settings and ``{pose, path}`` frames."""
    return {
        "mode": "render",
        "model": str(path),
        "head_bone": settings["head_bone"],
        "bindings": settings["bindings"],
        "angle_names": list(ANGLE_NAMES),
        "settings": {key: settings[key] for key in ("engine", "size", "camera", "fov", "margin", "samples")},
        "frames": [{"pose": dict(zip(POSE_NAMES, map(float, pose), strict=True)), "path": str(p)} for p, pose in todo],
    }


def _resume(
    settings: dict, poses: np.ndarray, image_dir: Path, images: list[Path], basis: Path
) -> list[tuple[Path, np.ndarray]]:
    """Frames still to render as [(path, pose)], basis first. Images on disk are kept only when the manifest of the
    last run shows the same settings and the same pose for them; other settings are refused."""
    manifest = basis.with_name(MANIFEST_NAME)
    previous_poses: list = []
    if manifest.exists():
        previous = json.loads(manifest.read_text(encoding="utf-8"))
        changed = sorted(key for key in settings if previous["settings"].get(key) != settings[key])
        if changed:
            raise InputError(
                f"{basis.parent} was rendered with other settings ({', '.join(changed)} differ); choose another "
                f"--name or output folder, or delete {basis.parent} and {image_dir}"
            )
        previous_poses = previous["poses"]
    elif basis.exists():
        basis.unlink()  # not ours to trust without a manifest
    same = {image for image, old, new in zip(images, previous_poses, poses.tolist(), strict=False) if old == new}
    for image in image_dir.glob("*.png"):
        if image not in same:
            image.unlink()
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps({"settings": settings, "poses": poses.tolist()}, indent=1), encoding="utf-8")
    todo = [] if basis.exists() else [(basis, np.zeros(POSE_DIM))]
    return todo + [(image, pose) for image, pose in zip(images, poses, strict=True) if not image.exists()]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
