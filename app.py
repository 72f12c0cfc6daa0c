"""AnimeCeleb Studio: ``python app.py`` (or ``make demo``) serves the app; on a Hugging Face Space this is the app file.

The model is ``ANIMECELEB_MODEL`` (a folder or Hub id), else the embedded ``checkpoints/animeceleb-compact``.
``GRADIO_SERVER_NAME`` and ``PORT`` choose the address; analytics are off.
"""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from animeceleb.ui import build_demo, launch_options  # noqa: E402 (after the environment is set)

demo = build_demo()

if __name__ == "__main__":
    demo.launch(**launch_options())
