"""Build a tiny procedural character in Blender and export it, so the annotation tests need no third-party model.

Run with the Blender environment: ``.venv-blender/bin/python blender_character.py OUT.glb [OUT.vrm [OUT0.vrm]]``.
The character faces -Y (the glTF/VRM convention once imported): a sphere head with eyes, nose, mouth and brows, all
skinned to a ``head`` bone, on a box body skinned to ``spine``. Its face mesh has shape keys named in three conventions
so the automatic morph mapping is exercised: ``eyeBlinkLeft`` (ARKit), ``Fcl_EYE_Close_R`` (VRoid), ``あ`` (MMD), plus
``MyBrowRaise``, which only a mapping file can map. The VRM exports add the expressions ``aa`` and ``blinkLeft``
(VRM 1.0) or ``a`` and ``blink_l`` (VRM 0.x, stored facing the other way; the VRM add-on turns it back on import).
"""

from __future__ import annotations

import sys

import bpy
from mathutils import Matrix, Vector

HEAD_CENTRE = Vector((0.0, 0.0, 1.3))
HEAD_RADIUS = 0.35
# part name -> (centre, scale of a unit sphere or cube, colour); +X is the character's left (image right).
PARTS = {
    "eye_left": ((0.13, -0.325, 1.36), (0.06, 0.018, 0.08), (0.05, 0.05, 0.3)),
    "eye_right": ((-0.13, -0.325, 1.36), (0.06, 0.018, 0.08), (0.05, 0.05, 0.3)),
    "mouth": ((0.0, -0.33, 1.17), (0.08, 0.02, 0.025), (0.6, 0.05, 0.05)),
    "nose": ((0.0, -0.36, 1.27), (0.035, 0.035, 0.035), (0.9, 0.4, 0.2)),
    "brow_left": ((0.13, -0.3, 1.47), (0.07, 0.02, 0.015), (0.2, 0.1, 0.05)),
    "brow_right": ((-0.13, -0.3, 1.47), (0.07, 0.02, 0.015), (0.2, 0.1, 0.05)),
}
SKIN = (1.0, 0.85, 0.75)
BODY = (0.3, 0.4, 0.8)
HUMANOID = {  # VRM human bone -> (bone name, head, tail, parent)
    "hips": ("hips", (0, 0, 0.2), (0, 0, 0.4), None),
    "spine": ("spine", (0, 0, 0.4), (0, 0, 0.6), "hips"),
    "chest": ("chest", (0, 0, 0.6), (0, 0, 0.85), "spine"),
    "neck": ("neck", (0, 0, 0.85), (0, 0, 0.95), "chest"),
    "head": ("head", (0, 0, 0.95), (0, 0, 1.6), "neck"),
    "left_upper_leg": ("upper_leg.L", (0.1, 0, 0.2), (0.1, 0, 0.1), "hips"),
    "left_lower_leg": ("lower_leg.L", (0.1, 0, 0.1), (0.1, 0, 0.05), "upper_leg.L"),
    "left_foot": ("foot.L", (0.1, 0, 0.05), (0.1, -0.05, 0.0), "lower_leg.L"),
    "right_upper_leg": ("upper_leg.R", (-0.1, 0, 0.2), (-0.1, 0, 0.1), "hips"),
    "right_lower_leg": ("lower_leg.R", (-0.1, 0, 0.1), (-0.1, 0, 0.05), "upper_leg.R"),
    "right_foot": ("foot.R", (-0.1, 0, 0.05), (-0.1, -0.05, 0.0), "lower_leg.R"),
    "left_upper_arm": ("upper_arm.L", (0.3, 0, 0.9), (0.4, 0, 0.9), "chest"),
    "left_lower_arm": ("lower_arm.L", (0.4, 0, 0.9), (0.5, 0, 0.9), "upper_arm.L"),
    "left_hand": ("hand.L", (0.5, 0, 0.9), (0.55, 0, 0.9), "lower_arm.L"),
    "right_upper_arm": ("upper_arm.R", (-0.3, 0, 0.9), (-0.4, 0, 0.9), "chest"),
    "right_lower_arm": ("lower_arm.R", (-0.4, 0, 0.9), (-0.5, 0, 0.9), "upper_arm.R"),
    "right_hand": ("hand.R", (-0.5, 0, 0.9), (-0.55, 0, 0.9), "lower_arm.R"),
}


def make_material(name: str, colour: tuple[float, float, float]) -> bpy.types.Material:
    material = bpy.data.materials.new(name)
    material.use_nodes = True
    material.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = (*colour, 1.0)
    material.diffuse_color = (*colour, 1.0)
    return material


def make_armature() -> bpy.types.Object:
    armature = bpy.data.objects.new("Rig", bpy.data.armatures.new("Rig"))
    bpy.context.scene.collection.objects.link(armature)
    bpy.context.view_layer.objects.active = armature
    bpy.ops.object.mode_set(mode="EDIT")
    for name, head, tail, parent in HUMANOID.values():
        bone = armature.data.edit_bones.new(name)
        bone.head, bone.tail = head, tail
        if parent:
            bone.parent = armature.data.edit_bones[parent]
    bpy.ops.object.mode_set(mode="OBJECT")
    return armature


def add_part(mesh, kind: str, matrix: Matrix, material_index: int) -> list:
    """Add a sphere or cube to the BMesh ``mesh``; returns its new vertices."""
    import bmesh  # importable only once bpy is

    if kind == "sphere":
        verts = bmesh.ops.create_uvsphere(mesh, u_segments=24, v_segments=12, radius=1.0, matrix=matrix)["verts"]
    else:
        verts = bmesh.ops.create_cube(mesh, size=2.0, matrix=matrix)["verts"]
    faces = {face for vert in verts for face in vert.link_faces}
    for face in faces:
        face.material_index = material_index
    return verts


def make_skinned_mesh(name, armature, parts, bone_name) -> tuple[bpy.types.Object, dict[str, list[int]]]:
    """One mesh made of ``parts`` [(part, kind, centre, scale, colour)], every vertex weighted 1 to ``bone_name``."""
    import bmesh

    mesh = bmesh.new()
    data = bpy.data.meshes.new(name)
    verts = {}
    for number, (part, kind, centre, scale, colour) in enumerate(parts):
        data.materials.append(make_material(f"{name}_{part}", colour))
        matrix = Matrix.Translation(centre) @ Matrix.Diagonal((*scale, 1.0))
        verts[part] = add_part(mesh, kind, matrix, number)
    mesh.verts.index_update()
    indices = {part: [vert.index for vert in part_verts] for part, part_verts in verts.items()}
    mesh.to_mesh(data)
    mesh.free()
    obj = bpy.data.objects.new(name, data)
    bpy.context.scene.collection.objects.link(obj)
    group = obj.vertex_groups.new(name=bone_name)
    group.add(range(len(data.vertices)), 1.0, "REPLACE")
    obj.parent = armature
    obj.modifiers.new("Armature", "ARMATURE").object = armature
    return obj, indices


def add_shape_key(obj, name, vertices, transform) -> None:
    """A shape key moving ``vertices`` by ``transform(co) -> co``."""
    key = obj.shape_key_add(name=name, from_mix=False)
    for index in vertices:
        key.data[index].co = transform(key.data[index].co.copy())


def squash(centre, factor):
    """Scale the vertical extent around ``centre`` by ``factor``."""
    return lambda co: Vector((co.x, co.y, centre[2] + (co.z - centre[2]) * factor))


def build() -> tuple[bpy.types.Object, bpy.types.Object]:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    armature = make_armature()
    face_parts = [("skin", "sphere", HEAD_CENTRE, (HEAD_RADIUS,) * 3, SKIN)]
    face_parts += [(part, "cube" if part.startswith("brow") else "sphere", *spec) for part, spec in PARTS.items()]
    face, indices = make_skinned_mesh("Face", armature, face_parts, "head")
    make_skinned_mesh("Body", armature, [("torso", "cube", (0, 0, 0.6), (0.3, 0.15, 0.35), BODY)], "spine")
    face.shape_key_add(name="Basis", from_mix=False)
    add_shape_key(face, "eyeBlinkLeft", indices["eye_left"], squash(PARTS["eye_left"][0], 0.1))
    add_shape_key(face, "Fcl_EYE_Close_R", indices["eye_right"], squash(PARTS["eye_right"][0], 0.1))
    add_shape_key(face, "あ", indices["mouth"], squash(PARTS["mouth"][0], 4.0))
    add_shape_key(
        face, "MyBrowRaise", indices["brow_left"] + indices["brow_right"], lambda co: co + Vector((0, 0, 0.06))
    )
    return armature, face


def add_vrm_metadata(armature: bpy.types.Object, face: bpy.types.Object) -> None:
    """VRM 1.0 humanoid bones and two expressions bound to the face's shape keys."""
    vrm1 = armature.data.vrm_addon_extension.vrm1
    for human_bone, (bone_name, *_) in HUMANOID.items():
        getattr(vrm1.humanoid.human_bones, human_bone).node.bone_name = bone_name
    vrm1.meta.vrm_name = "Procedural test head"
    vrm1.meta.authors.add().value = "animeceleb tests"
    for expression, key in ((vrm1.expressions.preset.aa, "あ"), (vrm1.expressions.preset.blink_left, "eyeBlinkLeft")):
        bind = expression.morph_target_binds.add()
        bind.node.mesh_object_name = face.name
        bind.index = key
        bind.weight = 1.0


def add_vrm0_metadata(armature: bpy.types.Object, face: bpy.types.Object) -> None:
    """Switch the armature to VRM 0.x: humanoid bones and the blend shape groups ``a`` and ``blink_l``."""
    extension = armature.data.vrm_addon_extension
    extension.spec_version = "0.0"
    bpy.ops.vrm.assign_vrm0_humanoid_human_bones_automatically(armature_object_name=armature.name)
    for preset, key in (("a", "あ"), ("blink_l", "eyeBlinkLeft")):
        group = extension.vrm0.blend_shape_master.blend_shape_groups.add()
        group.name = group.preset_name = preset
        bind = group.binds.add()
        bind.mesh.mesh_object_name = face.name
        bind.index = key
        bind.weight = 1.0


def export_vrm(armature: bpy.types.Object, path: str) -> None:
    bpy.context.view_layer.objects.active = armature
    result = bpy.ops.export_scene.vrm(filepath=path, armature_object_name=armature.name)
    if result != {"FINISHED"}:
        raise RuntimeError(f"VRM export failed: {result}")


def main(glb_path: str, vrm_path: str | None = None, vrm0_path: str | None = None) -> None:
    armature, face = build()
    bpy.ops.export_scene.gltf(filepath=glb_path, export_format="GLB", export_morph=True, export_skins=True)
    if vrm_path or vrm0_path:
        import addon_utils

        addon_utils.enable("io_scene_vrm", default_set=True)
    if vrm_path:
        add_vrm_metadata(armature, face)
        export_vrm(armature, vrm_path)
    if vrm0_path:
        add_vrm0_metadata(armature, face)
        export_vrm(armature, vrm0_path)


if __name__ == "__main__":
    import os

    main(*sys.argv[1:4])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # with the VRM add-on enabled, a normal interpreter exit hangs
