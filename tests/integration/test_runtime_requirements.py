"""The package runs on requirements.txt alone (what `make demo` and a Space install): no module of it, and no
command of the CLI, may import a package that only requirements-dev.txt installs. Nor may they need dlib, which has
wheels for few platforms: only face tracking imports it, so training and evaluation run where it is missing."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys

from animeceleb.driving import PRESETS, preset_poses, probe_video, write_pose_csv
from tests.conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "animeceleb"
# Not imported here: the CLI entry (it runs a command), and the script that runs inside Blender's own environment
# (requirements-blender.txt).
NOT_IMPORTED = "animeceleb.__main__,animeceleb.annotate.blender_worker"

# Blocks the top-level modules named in argv[1]; the code after it runs as if they were not installed.
BLOCKER = """
import sys
blocked = set(sys.argv[1].split(","))
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
sys.meta_path.insert(0, Block())
"""
# Imports every package module but those in argv[2], then runs the CLI's --help.
IMPORT_ALL = """
import importlib, pkgutil
import animeceleb
for module in pkgutil.walk_packages(animeceleb.__path__, "animeceleb."):
    if module.name not in sys.argv[2].split(","):
        importlib.import_module(module.name)
from animeceleb.cli import main
sys.exit(main(["--help"]))
"""


def requirement_names(path) -> set[str]:
    """Normalised distribution names pinned in one requirements file (not those it includes with -r)."""
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[=<>!~\[; ]", line)[0].lower().replace("_", "-"))
    return names


def dev_only_modules() -> set[str]:
    """Top-level import names of the distributions that only requirements-dev.txt installs."""
    runtime = requirement_names(REPO_ROOT / "requirements.txt")
    dev_only = requirement_names(REPO_ROOT / "requirements-dev.txt") - runtime
    return {
        module
        for module, distributions in importlib.metadata.packages_distributions().items()
        if any(name.lower().replace("_", "-") in dev_only for name in distributions)
    }


def imported_modules(path) -> set[str]:
    """Top-level names of every absolute import in a source file, those inside functions included."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return names


def test_dev_only_packages_are_known():
    blocked = dev_only_modules()
    assert {"pytest", "ruff", "kornia", "playwright"} <= blocked
    assert not blocked & {"torch", "gradio", "torchmetrics", "accelerate"}


def test_no_source_file_imports_a_dev_only_package():
    blocked = dev_only_modules()
    offenders = {
        str(path.relative_to(REPO_ROOT)): sorted(imported_modules(path) & blocked)
        for path in [*PACKAGE.rglob("*.py"), REPO_ROOT / "app.py"]
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def run_without(blocked: str, code: str, *args: str) -> subprocess.CompletedProcess:
    """Runs ``code`` in a fresh interpreter where the comma-separated top-level modules ``blocked`` cannot import."""
    command = [sys.executable, "-c", BLOCKER + code, blocked, *args]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)


def test_every_module_and_the_cli_import_without_dev_requirements():
    result = run_without(",".join(sorted(dev_only_modules())), IMPORT_ALL, NOT_IMPORTED)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage: python -m animeceleb" in result.stdout and "evaluate" in result.stdout


def test_every_module_and_the_cli_import_without_dlib():
    result = run_without("dlib", IMPORT_ALL, NOT_IMPORTED)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage: python -m animeceleb" in result.stdout and "train" in result.stdout


def test_face_tracking_without_dlib_says_what_to_install():
    code = "from animeceleb.driving import FaceTracker\nFaceTracker()"
    result = run_without("dlib", code)
    assert result.returncode == 1
    assert "CheckpointError: face tracking uses dlib's face detector" in result.stderr
    assert "pip install dlib-bin==" in result.stderr


def test_animate_from_a_pose_csv_without_dlib(tmp_path):
    poses = write_pose_csv(tmp_path / "poses.csv", preset_poses(PRESETS[0], fps=10, seconds=0.5))
    out = tmp_path / "out.mp4"
    code = "from animeceleb.cli import main\nsys.exit(main(sys.argv[2:]))"
    command = ["animate", str(REPO_ROOT / "examples" / "character_01.png"), "--driving", str(poses), "--out", str(out)]
    result = run_without("dlib", code, *command)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "wrote 5 frames" in result.stdout
    assert probe_video(out).frame_count == 5
