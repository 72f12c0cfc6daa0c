"""AnimeCeleb Studio, minimal page: animate an uploaded anime head with the 20 pose sliders.

Model: ``ANIMECELEB_MODEL`` (a folder or Hub id), else the embedded default in ``checkpoints/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import gradio as gr
import numpy as np
import torch

from animeceleb.models import Animo, from_model_range, load_model, to_model_range
from animeceleb.pose import ANGLE_NAMES, ANGLE_RANGE, POSE_NAMES, pose_to_motion, validate_poses

DEFAULT_MODEL = Path(__file__).parent / "checkpoints" / "animeceleb-compact"


def animate(image: np.ndarray | None, *values: float) -> np.ndarray:
    """One frame: the source image driven by the slider pose."""
    if image is None:
        raise gr.Error("Upload an anime head image first.")
    model = load_model(os.environ.get("ANIMECELEB_MODEL", DEFAULT_MODEL))
    height, width = model.config.image_size
    source = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255).permute(2, 0, 1)[None, :3]
    source = torch.nn.functional.interpolate(source, size=(height, width), mode="bilinear", antialias=True)
    poses = torch.from_numpy(validate_poses(list(values)))
    with torch.no_grad():
        if isinstance(model, Animo):
            out = model(to_model_range(source, model.config.input_range), pose_to_motion(poses))
        else:
            out = model(to_model_range(source, model.config.input_range), poses)
    frame = from_model_range(out["fake_image"], model.config.input_range)[0].permute(1, 2, 0)
    return (frame.numpy() * 255).round().astype(np.uint8)


def main() -> None:
    with gr.Blocks(title="AnimeCeleb Studio") as demo:
        with gr.Row():
            source = gr.Image(label="Anime head", type="numpy", image_mode="RGB")
            result = gr.Image(label="Result")
        sliders = [
            gr.Slider(-ANGLE_RANGE, ANGLE_RANGE, 0, label=name)
            if name in ANGLE_NAMES
            else gr.Slider(0, 1, 0, label=name)
            for name in POSE_NAMES
        ]
        gr.Button("Animate").click(animate, [source, *sliders], result, api_name="animate_pose")
    demo.launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), server_port=int(os.environ.get("PORT", 7860))
    )


if __name__ == "__main__":
    main()
