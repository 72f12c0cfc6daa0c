#!/usr/bin/env bash
# Create .venv-blender: Blender as a Python module (bpy) and the VRM add-on, pinned in requirements-blender.txt.
# bpy is built for CPython 3.11 only and pins numpy<2, hence its own environment. Idempotent: reinstalls only when
# requirements-blender.txt is newer than the last install. Headless rendering also needs Mesa's EGL/GL libraries
# (Debian: libegl1 libgl1 libegl-mesa0 libgl1-mesa-dri libxi6 libxkbcommon0 libxrender1 libxfixes3 libsm6 libxext6).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-blender
STAMP="$VENV/.installed"
if [ -f "$STAMP" ] && [ "$STAMP" -nt requirements-blender.txt ]; then
    exit 0
fi
PYTHON=${BLENDER_ENV_PYTHON:-$(command -v python3.11 || command -v python3)}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "bpy needs Python 3.11; $PYTHON is $("$PYTHON" --version 2>&1). Set BLENDER_ENV_PYTHON." >&2
    exit 1
fi
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-blender.txt
"$VENV/bin/python" -c 'import bpy; print("Blender", bpy.app.version_string, "ready in .venv-blender")'
touch "$STAMP"
