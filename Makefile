# AnimeCeleb Studio: `make demo` starts the app, `make test` runs every test. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
BLENDER_STAMP := .venv-blender/.installed
# Debian packages the tests need (installed by `make system-deps`, which `make test` runs):
# the GL/X libraries Blender (bpy) loads to render headless on Mesa; chromium for the app's browser test;
# tcmalloc, which CPU training preloads (benchmarks/bench_train.py).
APT_PACKAGES := libegl1 libgl1 libegl-mesa0 libgl1-mesa-dri libxi6 libxkbcommon0 libxrender1 libxfixes3 libsm6 \
	libxext6 libx11-6 chromium libtcmalloc-minimal4

export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: demo test test-fast lint format system-deps blender-env clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(RUNTIME_STAMP)

$(BLENDER_STAMP): requirements-blender.txt scripts/setup_blender_env.sh
	bash scripts/setup_blender_env.sh

blender-env: $(BLENDER_STAMP)  ## Blender (bpy + VRM add-on) in its own venv, for `animeceleb annotate`

demo: $(RUNTIME_STAMP)  ## start the app on the embedded default weights (http://127.0.0.1:7860)
	$(PY) app.py

test: $(DEV_STAMP) system-deps $(BLENDER_STAMP)  ## every test but GPU ones
	$(PY) -m pytest -m "not gpu"

test-fast: $(DEV_STAMP)  ## quick local loop: unit tests only
	$(PY) -m pytest tests/unit -m "not slow"

lint: $(DEV_STAMP)
	$(PY) -m ruff check animeceleb tests benchmarks app.py
	$(PY) -m ruff format --check animeceleb tests benchmarks app.py

format: $(DEV_STAMP)
	$(PY) -m ruff format animeceleb tests benchmarks app.py
	$(PY) -m ruff check --fix animeceleb tests benchmarks app.py

system-deps:  ## Debian packages for the tests (needs root or sudo when something is missing)
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

clean:
	rm -rf $(VENV) .venv-blender .pytest_cache .ruff_cache
