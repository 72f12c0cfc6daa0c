"""Map the 17 AnimeCeleb morphs (SPEC 0.3) to a 3D character's shape keys.

The automatic mapping tries, per morph, an ordered list of targets and keeps the first one the model has: the
morph's own name, VRM expression presets (VRM 1.0 and 0.x names, written ``expression:NAME``), VRoid ``Fcl_*`` keys,
MMD Japanese morph names and ARKit blend shapes. A target is one name, a list of names (applied together) or a
``{name: weight}`` dict. Names match ignoring case, width, spaces, ``_``, ``-`` and ``.``, and a ``prefix.`` (so
``blendShape1.eyeBlinkLeft`` matches ``eyeBlinkLeft``). A YAML/JSON mapping file overrides morphs one by one;
morphs left unmapped are reported and never sampled, so the labels only claim what the images show.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from animeceleb.errors import InputError
from animeceleb.pose import MORPH_NAMES

EXPRESSION_PREFIX = "expression:"
Target = str | Sequence[str] | Mapping[str, float]  # one name, names applied together, or {name: weight}

# Per morph, alternatives in order of preference (after the morph's own name). Left/right are the character's.
AUTO_TARGETS: dict[str, tuple[Target, ...]] = {
    "eye_close_left": (
        "expression:blinkLeft",
        "expression:blink_l",
        "Fcl_EYE_Close_L",
        "eyeBlinkLeft",
        "ウィンク",
        "Blink_L",
    ),
    "eye_close_right": (
        "expression:blinkRight",
        "expression:blink_r",
        "Fcl_EYE_Close_R",
        "eyeBlinkRight",
        "ウィンク右",
        "Blink_R",
    ),
    "eyes_smile": ("Fcl_EYE_Joy", "笑い", ("eyeSquintLeft", "eyeSquintRight"), "expression:happy", "expression:joy"),
    "eyes_wide": ("Fcl_EYE_Surprised", "びっくり", ("eyeWideLeft", "eyeWideRight"), "expression:surprised"),
    "eyes_half": (
        "じと目",
        "Fcl_EYE_Fun",
        "なごみ",
        {"eyeBlinkLeft": 0.5, "eyeBlinkRight": 0.5},
        "expression:relaxed",
        "expression:fun",
    ),
    "brows_up": ("Fcl_BRW_Surprised", "上", ("browInnerUp", "browOuterUpLeft", "browOuterUpRight")),
    "brows_down": ("下", ("browDownLeft", "browDownRight")),
    "brows_angry": ("Fcl_BRW_Angry", "怒り"),
    "brows_sad": ("Fcl_BRW_Sorrow", "困る", "browInnerUp"),
    "mouth_smile": ("Fcl_MTH_Fun", "口角上げ", "にっこり", "にやり", ("mouthSmileLeft", "mouthSmileRight")),
    "mouth_frown": ("Fcl_MTH_Sorrow", "口角下げ", ("mouthFrownLeft", "mouthFrownRight"), "∧"),
    "mouth_cat": ("ω",),
    "mouth_a": ("expression:aa", "expression:a", "Fcl_MTH_A", "あ", "vrc.v_aa", "jawOpen"),
    "mouth_i": ("expression:ih", "expression:i", "Fcl_MTH_I", "い", "vrc.v_ih"),
    "mouth_u": ("expression:ou", "expression:u", "Fcl_MTH_U", "う", "vrc.v_ou", "mouthPucker"),
    "mouth_e": ("expression:ee", "expression:e", "Fcl_MTH_E", "え", "vrc.v_e"),
    "mouth_o": ("expression:oh", "expression:o", "Fcl_MTH_O", "お", "vrc.v_oh", "mouthFunnel"),
}


@dataclass(frozen=True)
class ShapeKeyBind:
    """One shape key driven by a morph: ``key.value += weight * morph``."""

    mesh: str
    key: str
    weight: float = 1.0


@dataclass(frozen=True)
class MorphMapping:
    """Which shape keys each mapped morph drives, where each mapping came from, and the morphs left unmapped."""

    bindings: dict[str, tuple[ShapeKeyBind, ...]]
    sources: dict[str, str]
    unmapped: tuple[str, ...]

    @property
    def mapped(self) -> tuple[str, ...]:
        """Mapped morph names in pose order."""
        return tuple(name for name in MORPH_NAMES if name in self.bindings)

    def to_json(self) -> dict[str, list[list]]:
        """``{morph: [[mesh, key, weight], ...]}`` for the job file and the run manifest."""
        return {name: [[b.mesh, b.key, b.weight] for b in self.bindings[name]] for name in self.mapped}


def normalize_name(name: str) -> str:
    """Compare names ignoring case, full/half width, spaces and the separators ``_ - .``."""
    return re.sub(r"[\s_\-.]", "", unicodedata.normalize("NFKC", name).casefold())


class _TargetIndex:
    """Looks up shape keys and VRM expressions of one model by normalized name."""

    def __init__(self, shape_keys: Mapping[str, Sequence[str]], expressions: Mapping[str, Sequence]) -> None:
        self.keys: dict[str, list[ShapeKeyBind]] = {}
        for mesh, keys in shape_keys.items():
            for key in keys:
                for alias in {normalize_name(key), normalize_name(key.rsplit(".", 1)[-1])}:
                    self.keys.setdefault(alias, []).append(ShapeKeyBind(mesh, key))
        self.expressions = {
            normalize_name(name): [ShapeKeyBind(mesh, key, float(weight)) for mesh, key, weight in binds]
            for name, binds in expressions.items()
        }

    def lookup(self, name: str, weight: float) -> list[ShapeKeyBind] | None:
        """The shape keys ``name`` stands for, scaled by ``weight``; None when the model has none."""
        if name.startswith(EXPRESSION_PREFIX):
            binds = self.expressions.get(normalize_name(name[len(EXPRESSION_PREFIX) :]))
        else:
            binds = self.keys.get(normalize_name(name))
        return [ShapeKeyBind(b.mesh, b.key, b.weight * weight) for b in binds] if binds else None

    def resolve(self, target: Target) -> tuple[ShapeKeyBind, ...] | None:
        """All shape keys of a target, or None when any of its names is missing."""
        binds: list[ShapeKeyBind] = []
        for name, weight in _weighted_names(target):
            found = self.lookup(name, weight)
            if found is None:
                return None
            binds += found
        return tuple(binds)


def _weighted_names(target: Target) -> list[tuple[str, float]]:
    if isinstance(target, str):
        return [(target, 1.0)]
    if isinstance(target, Mapping):
        return [(str(name), float(weight)) for name, weight in target.items()]
    return [(str(name), 1.0) for name in target]


def resolve_morph_map(
    shape_keys: Mapping[str, Sequence[str]],
    expressions: Mapping[str, Sequence] | None = None,
    overrides: Mapping[str, Target | None] | None = None,
) -> MorphMapping:
    """Map each morph to shape keys: ``overrides`` first (None = leave unmapped), then the automatic targets.

    Args:
        shape_keys: ``{mesh: [shape key names]}`` of the model.
        expressions: VRM expressions ``{name: [[mesh, key, weight], ...]}``.
        overrides: from :func:`load_morph_map`; a target naming a missing key raises ``InputError``.
    """
    index = _TargetIndex(shape_keys, expressions or {})
    bindings: dict[str, tuple[ShapeKeyBind, ...]] = {}
    sources: dict[str, str] = {}
    overrides = dict(overrides or {})
    for morph in MORPH_NAMES:
        if morph in overrides:
            target = overrides[morph]
            if target is None:
                continue
            binds = index.resolve(target)
            if binds is None:
                raise InputError(
                    f"mapping file: {morph} -> {target!r} names a shape key or expression the model "
                    f"lacks; it has {_describe(shape_keys, expressions)}"
                )
            bindings[morph], sources[morph] = binds, f"mapping file: {target!r}"
            continue
        for target in (morph, *AUTO_TARGETS[morph]):
            binds = index.resolve(target)
            if binds:
                bindings[morph], sources[morph] = binds, f"automatic: {target!r}"
                break
    unmapped = tuple(name for name in MORPH_NAMES if name not in bindings)
    return MorphMapping(bindings, sources, unmapped)


def _describe(shape_keys: Mapping[str, Sequence[str]], expressions: Mapping[str, Sequence] | None) -> str:
    keys = sorted({key for keys in shape_keys.values() for key in keys})
    text = f"shape keys {', '.join(keys[:60]) or '(none)'}" + (" ..." if len(keys) > 60 else "")
    if expressions:
        text += f"; expressions {', '.join(EXPRESSION_PREFIX + name for name in sorted(expressions))}"
    return text


def load_morph_map(path: str | Path) -> dict[str, Target | None]:
    """Read a YAML or JSON mapping file ``{morph: target}``; a target is a name, a list, a ``{name: weight}`` dict
    or null (leave the morph unmapped). Unknown morph names raise ``InputError`` listing the valid ones."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as error:
        raise InputError(f"cannot read the morph mapping file {path}: {error}") from None
    if not isinstance(data, dict):
        raise InputError(f"the morph mapping file {path} must hold a mapping {{morph: shape key}}")
    for morph, target in data.items():
        if morph not in MORPH_NAMES:
            raise InputError(f"{path}: unknown morph {morph!r}; valid names: {', '.join(MORPH_NAMES)}")
        if not (target is None or isinstance(target, str | list | dict)):
            raise InputError(f"{path}: {morph} must map to a name, a list of names, {{name: weight}} or null")
    return data
