"""Blender side of the annotation tool: the only module of the package that imports ``bpy``.

Run by ``animeceleb.annotate.blender`` with the Blender environment's Python (``.venv-blender``, numpy<2), never
imported by the main environment: ``python blender_worker.py JOB.json``. It imports nothing from the package, so the
job file carries everything (pose names included). Two modes:

- ``inspect``: load the model and write what the main side needs to plan a job: armatures and bones, the VRM
  humanoid head bone, shape keys per mesh and VRM expressions resolved to shape keys.
- ``render``: load the model, frame the head with a fixed camera, then for each frame set the shape keys and rotate the
  head bone, render RGBA and move the PNG into place (so an interrupted run leaves no half-written image).

Progress and errors go to stdout as lines starting with ``@animeceleb`` (Blender prints its own logs there too).
Angle signs follow SPEC 0.3 in image terms; the camera looks at the character's face along +Y (imported glTF and VRM
characters face -Y), so image right is world +X and image up is world +Z.
"""

from __future__ import annotations

import json
import math
import os
import sys
import traceback
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix, Vector

MARKER = "@animeceleb"
ENGINES = {"workbench": "BLENDER_WORKBENCH", "eevee": "BLENDER_EEVEE_NEXT", "cycles": "CYCLES"}
PROBE_DEGREES = 25.0  # head rotation used to find which vertices the head bone moves
MOVED = 1e-4  # a vertex moving more than this fraction of the model size belongs to the head
WORKBENCH_AA = {1: "OFF", 5: "5", 8: "8", 11: "11", 16: "16", 32: "32"}  # samples -> workbench anti-aliasing


class ModelError(Exception):
    """A problem with the user's model (reported to the main side as one line)."""


def report(kind: str, message: str = "") -> None:
    print(f"{MARKER} {kind} {message}".rstrip(), flush=True)


def load_model(path: str) -> None:
    """Empty the scene and import a .vrm, .glb or .gltf file."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    if path.lower().endswith(".vrm"):
        import addon_utils

        addon_utils.enable("io_scene_vrm", default_set=True)
        result = bpy.ops.import_scene.vrm(filepath=path)
    else:
        result = bpy.ops.import_scene.gltf(filepath=path)
    if result != {"FINISHED"}:
        raise ModelError(f"Blender could not import {path}: {result}")


def render_meshes() -> list[bpy.types.Object]:
    """Visible meshes, without the importer's helpers (glTF bone shapes live hidden in 'glTF_not_exported')."""
    bone_shapes = {bone.custom_shape for obj in bpy.data.objects if obj.type == "ARMATURE" for bone in obj.pose.bones}
    meshes = []
    for obj in bpy.data.objects:
        if obj.type != "MESH":
            continue
        if obj in bone_shapes or not obj.visible_get():
            obj.hide_render = True
        else:
            meshes.append(obj)
    return meshes


def vrm_extension(armature: bpy.types.Object):
    return getattr(armature.data, "vrm_addon_extension", None)


def humanoid_head(armature: bpy.types.Object) -> str | None:
    """The VRM humanoid head bone of ``armature`` (VRM 1.0 or 0.x), or None."""
    extension = vrm_extension(armature)
    if extension is None:
        return None
    head = extension.vrm1.humanoid.human_bones.head.node.bone_name
    if head:
        return head
    for human_bone in extension.vrm0.humanoid.human_bones:
        if human_bone.bone == "head" and human_bone.node.bone_name:
            return human_bone.node.bone_name
    return None


def vrm_expressions(armature: bpy.types.Object) -> dict[str, list[list]]:
    """VRM expressions as shape-key binds ``{name: [[mesh, key, weight], ...]}``; presets by their VRM name."""
    extension = vrm_extension(armature)
    if extension is None:
        return {}
    expressions: dict[str, list[list]] = {}
    if str(extension.spec_version).startswith("1"):
        for name, expression in extension.vrm1.expressions.all_name_to_expression_dict().items():
            binds = [[b.node.mesh_object_name, b.index, b.weight] for b in expression.morph_target_binds]
            if binds:
                expressions[name] = binds
    else:
        for group in extension.vrm0.blend_shape_master.blend_shape_groups:
            binds = [[b.mesh.mesh_object_name, b.index, b.weight] for b in group.binds]
            name = group.preset_name if group.preset_name != "unknown" else group.name
            if binds:
                expressions[name] = binds
    return expressions


def inspect_scene(model: str) -> dict:
    """What the main side needs to map morphs and choose the head bone."""
    meshes = render_meshes()
    armatures = [obj for obj in bpy.data.objects if obj.type == "ARMATURE"]
    result = {
        "format": "vrm" if model.lower().endswith(".vrm") else "gltf",
        "bones": {arm.name: [bone.name for bone in arm.data.bones] for arm in armatures},
        "humanoid_head": None,
        "shape_keys": {
            obj.name: [key.name for key in obj.data.shape_keys.key_blocks[1:]] for obj in meshes if obj.data.shape_keys
        },
        "expressions": {},
    }
    for arm in armatures:
        head = humanoid_head(arm)
        if head and result["humanoid_head"] is None:
            result["humanoid_head"] = [arm.name, head]
        result["expressions"].update(vrm_expressions(arm))
    return result


def world_vertices(meshes: list[bpy.types.Object]) -> np.ndarray:
    """Evaluated (posed, shape-keyed) vertex positions of all meshes in world space, (V, 3)."""
    bpy.context.view_layer.update()
    depsgraph = bpy.context.evaluated_depsgraph_get()
    blocks = []
    for obj in meshes:
        evaluated = obj.evaluated_get(depsgraph)
        mesh = evaluated.to_mesh()
        coords = np.empty(len(mesh.vertices) * 3, dtype=np.float64)
        mesh.vertices.foreach_get("co", coords)
        evaluated.to_mesh_clear()
        matrix = np.array(evaluated.matrix_world, dtype=np.float64)
        coords = coords.reshape(-1, 3)
        blocks.append(coords @ matrix[:3, :3].T + matrix[:3, 3])
    return np.concatenate(blocks) if blocks else np.zeros((0, 3))


class Head:
    """The head bone of the character: rotates about its rest-pose root (the neck joint) in world axes."""

    def __init__(self, armature_name: str, bone_name: str) -> None:
        self.armature = bpy.data.objects.get(armature_name)
        if self.armature is None or bone_name not in self.armature.pose.bones:
            raise ModelError(f"the model has no bone {bone_name!r} in armature {armature_name!r}")
        self.bone = self.armature.pose.bones[bone_name]
        self.rest = self.armature.matrix_world @ self.bone.bone.matrix_local  # world matrix of the bone at rest
        self.pivot = self.rest.translation.copy()

    def pose(self, pitch: float, roll: float, yaw: float) -> None:
        """Rotate by SPEC 0.3 angles (degrees): +pitch looks down, +roll turns CCW in the image, +yaw turns the
        nose to the image's left. Order: roll, then pitch, then yaw, about world axes through the neck joint."""
        rotation = (
            Matrix.Rotation(math.radians(-yaw), 4, "Z")  # camera looks along +Y: a +Z turn moves the nose to +X
            @ Matrix.Rotation(math.radians(pitch), 4, "X")  # a +X turn moves the nose (at -Y) down
            @ Matrix.Rotation(math.radians(-roll), 4, "Y")  # a +Y turn moves the top of the head to +X (clockwise)
        )
        world = Matrix.Translation(self.pivot) @ rotation @ Matrix.Translation(-self.pivot) @ self.rest
        self.bone.matrix = self.armature.matrix_world.inverted() @ world


def head_box(head: Head, meshes: list[bpy.types.Object]) -> tuple[Vector, float]:
    """Centre and size of the head at rest: the vertices the head bone moves that lie above the neck joint."""
    head.pose(0.0, 0.0, 0.0)
    rest = world_vertices(meshes)
    head.pose(PROBE_DEGREES, 0.0, PROBE_DEGREES)
    turned = world_vertices(meshes)
    head.pose(0.0, 0.0, 0.0)
    if len(rest) == 0:
        raise ModelError("the model has no visible mesh")
    scale = float(np.ptp(rest, axis=0).max()) or 1.0
    moved = np.linalg.norm(turned - rest, axis=1) > MOVED * scale
    above = rest[:, 2] > head.pivot.z
    points = rest[moved & above]
    if len(points) == 0:
        raise ModelError(
            f"rotating bone {head.bone.name!r} moves no vertex above it: choose the head bone with --head-bone"
        )
    low, high = points.min(axis=0), points.max(axis=0)
    centre = Vector(((low + high) / 2).tolist())
    return centre, float(max(high[0] - low[0], high[2] - low[2]))


def setup_camera(centre: Vector, size: float, depth: float, settings: dict) -> None:
    """A camera on the -Y side looking along +Y at the head centre, framing ``size * margin``."""
    camera = bpy.data.objects.new("AnnotateCamera", bpy.data.cameras.new("AnnotateCamera"))
    bpy.context.scene.collection.objects.link(camera)
    bpy.context.scene.camera = camera
    camera.rotation_euler = (math.pi / 2, 0.0, 0.0)  # local -Z (view) -> +Y, local +Y (up) -> +Z
    extent = size * settings["margin"]
    if settings["camera"] == "perspective":
        camera.data.lens_unit = "FOV"
        camera.data.angle = math.radians(settings["fov"])
        distance = extent / 2 / math.tan(camera.data.angle / 2)
    else:
        camera.data.type = "ORTHO"
        camera.data.ortho_scale = extent
        distance = depth + extent
    camera.location = (centre.x, centre.y - distance, centre.z)
    camera.data.clip_start = distance / 1000
    camera.data.clip_end = distance + 2 * depth + extent


def setup_render(settings: dict) -> None:
    """Square RGBA PNG on a transparent film; flat unlit colours and outlines for workbench (a cel look)."""
    scene = bpy.context.scene
    scene.render.engine = ENGINES[settings["engine"]]
    scene.render.resolution_x = scene.render.resolution_y = settings["size"]
    scene.render.resolution_percentage = 100
    scene.render.film_transparent = True
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGBA"
    scene.render.image_settings.color_depth = "8"
    scene.render.image_settings.compression = 15
    scene.view_settings.view_transform = "Standard"  # keep texture colours as authored
    if settings["engine"] == "workbench":
        shading = scene.display.shading
        shading.light = "FLAT"
        shading.color_type = "TEXTURE"
        shading.show_object_outline = True
        shading.object_outline_color = (0.1, 0.1, 0.1)
        shading.show_specular_highlight = False
        scene.display.render_aa = WORKBENCH_AA[max(n for n in WORKBENCH_AA if n <= settings["samples"])]
        return
    world = bpy.data.worlds.new("AnnotateWorld")
    world.color = (1.0, 1.0, 1.0)  # uniform ambient light; the film stays transparent
    scene.world = world
    if settings["engine"] == "cycles":
        scene.cycles.device = "CPU"
        scene.cycles.samples = settings["samples"]
        scene.cycles.use_denoising = False
        scene.cycles.seed = 0
    else:
        scene.eevee.taa_render_samples = settings["samples"]


def shape_key(mesh: str, key: str) -> bpy.types.ShapeKey:
    """A shape key of the model, unmuted and without a driver (a driver would overwrite the value we set)."""
    obj = bpy.data.objects.get(mesh)
    if obj is None or obj.type != "MESH" or obj.data.shape_keys is None or key not in obj.data.shape_keys.key_blocks:
        raise ModelError(f"the model has no shape key {key!r} on mesh {mesh!r}")
    block = obj.data.shape_keys.key_blocks[key]
    block.mute = False
    animation = obj.data.shape_keys.animation_data
    driver = animation and animation.drivers.find(block.path_from_id("value"))
    if driver:
        animation.drivers.remove(driver)
    return block


class Morphs:
    """Sets the model's shape keys from AnimeCeleb morph weights through the job's bindings."""

    def __init__(self, bindings: dict[str, list[list]]) -> None:
        self.bindings = bindings
        self.keys = {(mesh, key): shape_key(mesh, key) for binds in bindings.values() for mesh, key, _ in binds}

    def apply(self, pose: dict[str, float]) -> None:
        values = dict.fromkeys(self.keys, 0.0)
        for morph, binds in self.bindings.items():
            for mesh, key, weight in binds:
                values[(mesh, key)] += weight * pose.get(morph, 0.0)
        for target, value in values.items():
            block = self.keys[target]
            block.value = min(max(value, block.slider_min), block.slider_max)


def render_frames(job: dict) -> None:
    """Render every frame of the job, skipping none: the main side leaves out frames already on disk."""
    meshes = render_meshes()
    head = Head(*job["head_bone"])
    morphs = Morphs(job["bindings"])
    centre, size = head_box(head, meshes)
    depth = float(np.ptp(world_vertices(meshes)[:, 1])) if meshes else size
    setup_camera(centre, size, depth, job["settings"])
    setup_render(job["settings"])
    pitch_name, roll_name, yaw_name = job["angle_names"]
    for number, frame in enumerate(job["frames"]):
        pose = frame["pose"]
        morphs.apply(pose)
        head.pose(pose[pitch_name], pose[roll_name], pose[yaw_name])
        bpy.ops.render.render()
        path = Path(frame["path"])
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial.png")
        bpy.data.images["Render Result"].save_render(str(partial))
        os.replace(partial, path)
        report("done", str(number))


def main(job_path: str) -> None:
    job = json.loads(Path(job_path).read_text(encoding="utf-8"))
    load_model(job["model"])
    if job["mode"] == "inspect":
        Path(job["result"]).write_text(json.dumps(inspect_scene(job["model"])), encoding="utf-8")
    else:
        render_frames(job)
    report("finished")


if __name__ == "__main__":
    status = 0
    try:
        main(sys.argv[1])
    except ModelError as error:
        report("error", str(error))
        status = 1
    except Exception:
        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # with the VRM add-on enabled, a normal interpreter exit hangs
