"""The Gradio app: ``build_demo()`` makes the page, ``launch_options()`` the arguments ``app.py`` launches it with."""

from animeceleb.ui.layout import build_demo, launch_options

__all__ = ["build_demo", "launch_options"]
