"""Annotation tool: render AnimeCeleb-style labelled images of a user's 3D character (VRM, glTF) with Blender.

The main environment plans the job here (model inspection, morph mapping, pose sampling, the official layout); the
rendering runs in Blender's own environment through ``blender_worker.py``, the only module that imports ``bpy``.
"""

from animeceleb.annotate.annotator import (
    AnnotateOptions,
    AnnotationResult,
    ModelInfo,
    annotate_model,
    choose_head_bone,
    inspect_model,
)
from animeceleb.annotate.blender import blender_python
from animeceleb.annotate.morph_map import MorphMapping, ShapeKeyBind, load_morph_map, resolve_morph_map
from animeceleb.annotate.pose_file import load_poses

__all__ = [
    "AnnotateOptions",
    "AnnotationResult",
    "ModelInfo",
    "MorphMapping",
    "ShapeKeyBind",
    "annotate_model",
    "blender_python",
    "choose_head_bone",
    "inspect_model",
    "load_morph_map",
    "load_poses",
    "resolve_morph_map",
]
