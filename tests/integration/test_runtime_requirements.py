"""The package runs on requirements.txt alone (what `make demo` and a Space install): no module of it, and no
command of the CLI, may import a package that only requirements-dev.txt installs."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys

from tests.conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "animeceleb"
# Not imported here: the CLI entry (it runs a command), and the script that runs inside Blender's own environment
# (requirements-blender.txt).
NOT_IMPORTED = "animeceleb.__main__,animeceleb.annotate.blender_worker"

# Blocks the top-level modules named in argv[1], imports every package module but those in argv[2], then the CLI.
CHILD = """
import importlib, pkgutil, sys
blocked = set(sys.argv[1].split(","))
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r} (only in requirements-dev.txt)")
sys.meta_path.insert(0, Block())
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


def test_every_module_and_the_cli_import_without_dev_requirements():
    blocked = ",".join(sorted(dev_only_modules()))
    result = subprocess.run(
        [sys.executable, "-c", CHILD, blocked, NOT_IMPORTED], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage: python -m animeceleb" in result.stdout and "evaluate" in result.stdout
