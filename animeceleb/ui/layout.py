"""The app's page: widgets and event wiring only (the work is in ``handlers``).

``build_demo()`` lays out a source panel (image, framing, model, what the model sees, with the framing guide) beside
tabs: Pose, Video, Presets, Live, Compare, Dataset. Each tab is built by its own function from the shared
``SourcePanel`` (and the pose sliders where it needs them), so a new tab is one more function.
Nothing is loaded at import or build time.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import gradio as gr

from animeceleb import safe_paths
from animeceleb.driving import PRESETS
from animeceleb.inference.outputs import BACKGROUNDS
from animeceleb.inference.registry import DEFAULT_KEY
from animeceleb.pose import ANGLE_NAMES, ANGLE_RANGE, POSE_GROUPS, POSE_NAMES
from animeceleb.ui import handlers, jobs
from animeceleb.ui.media import FRAMING_MODES, LIMITS

EXAMPLES_DIR = safe_paths.EXAMPLES_DIR
THEME = gr.themes.Soft(primary_hue="pink", secondary_hue="violet", neutral_hue="slate")
CSS = """
#header h1 { margin-bottom: 0; }
#header p { margin-top: 4px; opacity: 0.8; }
.pose-group { padding: 4px 8px !important; margin-bottom: 10px; }
.pose-group-title p { font-weight: 700; margin: 4px 2px 0 2px; letter-spacing: 0.02em; }
.pose-slider { padding: 2px 8px !important; }
.pose-slider input[type=number] { width: 4.5em; }
.pose-slider .min_value, .pose-slider .max_value { font-size: 0.75em; opacity: 0.6; }
#pose-result img, #model-view img, #compare-grid img, #live-puppet img, .clip-gif img {
    width: 100%; height: 100%; object-fit: contain;
}
"""
GROUP_TITLES = {"eyes": "Eyes", "brows": "Brows", "mouth": "Mouth", "head": "Head (degrees)"}
POSE_TEXT_JS = "(...values) => JSON.stringify(values.map((value) => Math.round(value * 1000) / 1000))"
CLIP_HEIGHT = 360  # pixels of the video and GIF players
LIVE_FRAME_INTERVAL_S = 0.05  # the browser sends a webcam frame this often; the server takes the latest when free
LIVE_TIME_LIMIT_S = 600  # a live stream ends after this long (it holds one of the LIVE_STREAMS slots meanwhile)
LIVE_STREAMS = 2  # live viewers served at once (each keeps a worker busy while streaming)
SLIDER_COLUMNS = (("eyes", "brows"), ("head", "mouth"))  # groups stacked in each column of the Pose tab


# Events that read uploads pass ``preprocess=False``: the handler gets the upload's payload unopened (Gradio has
# already checked that it is an upload) and our loader applies the limits and explains a corrupt file, where Gradio's
# preprocessing would open the image first and report a generic error.


@dataclass(frozen=True)
class PoseControls:
    """The Pose tab's sliders by pose name, and the event arguments that re-render the result from them."""

    sliders: dict[str, gr.Slider]
    animate: dict[str, Any]

    @property
    def slider_list(self) -> list[gr.Slider]:
        """The sliders in ``POSE_NAMES`` order (the order of ``handlers.parse_pose``'s outputs)."""
        return list(self.sliders.values())


@dataclass(frozen=True)
class SourcePanel:
    """The widgets every tab reads: the source image, its framing (mode, head box, zoom, offsets) and the model."""

    source: gr.Image
    framing: list[gr.components.Component]
    model: gr.Dropdown
    status: gr.Markdown
    model_view: gr.Image

    @property
    def inputs(self) -> list[gr.components.Component]:
        """``source, model, framing, head_box, zoom, offset_x, offset_y`` as ``handlers.animate_pose`` takes them."""
        return [self.source, self.model, *self.framing]


def example_files(pattern: str) -> list[str]:
    """Files in ``examples/`` matching a glob ``pattern``, sorted (none when the folder is absent)."""
    return sorted(str(path) for path in EXAMPLES_DIR.glob(pattern))


def build_demo() -> gr.Blocks:
    """The whole app, queued (no model is loaded until the first request)."""
    with gr.Blocks(
        title="AnimeCeleb Studio", analytics_enabled=False, delete_cache=(900, 3600), fill_width=True
    ) as demo:
        gr.Markdown(
            "# AnimeCeleb Studio\n"
            "Animate any anime head with 20 named expression and head-angle controls, a face video or a motion "
            "preset. Animo ([AnimeCeleb, ECCV 2022](https://arxiv.org/abs/2111.07640)) running on CPU.",
            elem_id="header",
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=4, min_width=320):
                panel = _source_panel()
            with gr.Column(scale=7, min_width=480), gr.Tabs():
                pose = _pose_tab(panel)
                driving_video = _video_tab(panel)
                _presets_tab(panel)
                _live_tab(panel)
                _compare_tab(panel, pose, driving_video)
                _dataset_tab(panel, pose)
        gr.Markdown(handlers.LIMITS_TEXT, elem_id="footer")
        demo.load(handlers.model_status, panel.model, panel.status, api_visibility="private")
    return demo.queue(default_concurrency_limit=2, max_size=64)


def launch_options() -> dict[str, Any]:
    """``Blocks.launch`` arguments: address from ``GRADIO_SERVER_NAME`` / ``PORT``, theme, upload size limit, and
    the only folders Gradio may serve (examples and the app's temp folder)."""
    return {
        "server_name": os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        "server_port": int(os.environ.get("PORT", "7860")),
        "theme": THEME,
        "css": CSS,
        "max_file_size": f"{LIMITS.max_file_mb:g}mb",
        "allowed_paths": safe_paths.allowed_paths(),
        "footer_links": ["api", "settings"],
    }


def _source_panel() -> SourcePanel:
    source = gr.Image(
        label="Source image",
        placeholder="Drop an anime head here: PNG, JPG or WebP (transparency is kept)",
        type="filepath",
        image_mode=None,
        sources=["upload", "clipboard"],
        height=320,
        elem_id="source-image",
    )
    with gr.Row():
        mode = gr.Radio(
            list(FRAMING_MODES),
            value="auto",
            label="Framing",
            info="auto: a transparent character's outline, else the picture as it is; box: the head box below",
            scale=2,
            min_width=140,
        )
        random_button = gr.Button("Random character", scale=1, min_width=120, size="sm")
    framing = _framing_controls(mode)
    examples = example_files("character_*")
    if examples:
        gr.Examples(examples, inputs=source, label="Examples (made by scripts/make_examples.py)", examples_per_page=8)
    with gr.Accordion("Model", open=True):
        model = gr.Dropdown(
            handlers.REGISTRY.choices(),
            value=DEFAULT_KEY,
            allow_custom_value=True,
            label="Model: a listed one, a local model folder or a Hub repo id",
            info="default = ANIMECELEB_MODEL, else checkpoints/animeceleb-compact",
        )
        status = gr.Markdown(elem_id="model-status")
    model_view = gr.Image(
        label="What the model sees", interactive=False, height=180, format="png", elem_id="model-view"
    )
    panel = SourcePanel(source, framing, model, status, model_view)
    random_button.click(handlers.random_character, None, source, api_name="random_character")
    model.change(handlers.model_status, model, status, api_name="load_model")
    gr.on(
        [source.change, model.change, *(control.change for control in framing)],
        handlers.prepare_source,
        [source, *framing, model],
        model_view,
        api_name="prepare_source",
        show_progress="hidden",
        preprocess=False,
    )
    return panel


def _framing_controls(mode: gr.Radio) -> list[gr.components.Component]:
    """Head box, zoom and offsets: [mode, head_box, zoom, offset_x, offset_y] in ``handlers.source_framing`` order."""
    with gr.Accordion("Framing: zoom and move", open=False):
        head_box = gr.Textbox(
            "",
            label="Head box: x, y, radius (source pixels)",
            placeholder="e.g. 512, 300, 120",
            elem_id="head-box",
        )
        zoom = gr.Slider(0.5, 2.0, 1.0, step=0.05, label="Zoom", elem_id="framing-zoom")
        with gr.Row():
            offset_x = gr.Slider(-1.0, 1.0, 0.0, step=0.02, label="Move x", info="head radii", elem_id="framing-x")
            offset_y = gr.Slider(-1.0, 1.0, 0.0, step=0.02, label="Move y", info="head radii", elem_id="framing-y")
    return [mode, head_box, zoom, offset_x, offset_y]


def _pose_tab(panel: SourcePanel) -> PoseControls:
    with gr.Tab("Pose", id="pose"), gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=280):
            result = gr.Image(label="Result", interactive=False, format="png", height=400, elem_id="pose-result")
            with gr.Row():
                reset = gr.Button("Reset", size="sm")
                randomise = gr.Button("Randomise", size="sm")
            pose_box = gr.Textbox(
                value=json.dumps([0] * len(POSE_NAMES), separators=(",", ":")),  # as POSE_TEXT_JS writes it
                label=f"Pose vector ({len(POSE_NAMES)} values: eyes, brows, mouth, head)",
                info="Copy it, or paste a list or a {name: value} object and press Apply",
                buttons=["copy"],
                elem_id="pose-vector",
            )
            apply = gr.Button("Apply pasted pose", size="sm", variant="secondary")
        with gr.Column(scale=6, min_width=320):
            sliders = _pose_sliders()
    slider_list = list(sliders.values())
    animate = {
        "fn": handlers.animate_pose,
        "inputs": panel.inputs,
        "inputs_kwargs": sliders,
        "outputs": result,
        "show_progress": "hidden",
        "concurrency_id": "pose",
        "preprocess": False,
        "concurrency_limit": 2,
    }
    gr.on(
        [slider.input for slider in slider_list] + [panel.model_view.change],
        trigger_mode="always_last",
        api_name="animate_pose",
        **animate,
    )
    # The pose vector follows every slider change in the browser: no server round trip.
    gr.on([slider.change for slider in slider_list], None, slider_list, pose_box, js=POSE_TEXT_JS, queue=False)
    for button, fn in ((reset, handlers.reset_pose), (randomise, handlers.random_pose)):
        button.click(fn, None, slider_list, api_visibility="private").then(**animate, api_visibility="private")
    apply.click(handlers.parse_pose, pose_box, slider_list, api_name="parse_pose").success(
        **animate, api_visibility="private"
    )
    return PoseControls(sliders, animate)


def _pose_sliders() -> dict[str, gr.Slider]:
    sliders = {}
    with gr.Row(equal_height=False):
        for groups in SLIDER_COLUMNS:
            with gr.Column(min_width=150):
                for group in groups:
                    with gr.Group(elem_classes="pose-group"):
                        gr.Markdown(GROUP_TITLES[group], elem_classes="pose-group-title")
                        for name in POSE_GROUPS[group]:
                            sliders[name] = _pose_slider(name)
    return {name: sliders[name] for name in POSE_NAMES}  # API parameters in pose order


def _pose_slider(name: str) -> gr.Slider:
    if name in ANGLE_NAMES:
        low, high, step = -ANGLE_RANGE, ANGLE_RANGE, 0.5
    else:
        low, high, step = 0.0, 1.0, 0.01
    return gr.Slider(
        low, high, 0.0, step=step, label=name, buttons=[], elem_id=f"slider-{name}", elem_classes="pose-slider"
    )


def _video_tab(panel: SourcePanel) -> gr.Video:
    with gr.Tab("Video", id="video"):
        with gr.Row(equal_height=False):
            with gr.Column(scale=1):
                driving = gr.Video(label="Driving video: one face", sources=["upload", "webcam"], height=300)
                examples = example_files("driving_*")
                if examples:
                    gr.Examples(examples, inputs=driving, label="Example driving clips")
            with gr.Column(scale=1):
                motion = gr.Radio(
                    list(handlers.MOTION_MODES),
                    value="relative",
                    label="Motion",
                    info="relative: measured against the driver's first frames (recommended)",
                )
                smoothing = gr.Slider(0.0, 1.0, 0.5, step=0.05, label="Smoothing")
                gain = gr.Slider(0.0, 2.0, 1.0, step=0.05, label="Expression gain")
                seconds = gr.Slider(1, LIMITS.max_video_seconds, 10, step=1, label="Max duration (s)")
                use_side_by_side = gr.Checkbox(label="Side by side with the driving video")
                clip_options = _clip_options()
                run = gr.Button("Animate video", variant="primary")
        with gr.Row():
            video, gif = _clip_outputs("Result")
    run.click(
        handlers.animate_video,
        [panel.source, driving, panel.model, *panel.framing, motion, smoothing, gain, seconds, use_side_by_side]
        + clip_options,
        [video, gif],
        api_name="animate_video",
        preprocess=False,
        concurrency_id="clips",
        concurrency_limit=1,
    )
    return driving


def _clip_options() -> list[gr.components.Component]:
    """Video format, mp4 background and paste-back: the last inputs of ``animate_video`` and ``render_preset``."""
    with gr.Row():
        video_format = gr.Radio(
            list(handlers.VIDEO_FORMATS), value="mp4", label="Video", info="webm keeps transparency", min_width=120
        )
        background = gr.Dropdown(
            list(BACKGROUNDS),
            value="white",
            allow_custom_value=True,
            label="mp4 background",
            info="or type #RRGGBB / R,G,B",
            min_width=120,
        )
    paste_back = gr.Checkbox(label="Paste back into the full picture")
    return [video_format, background, paste_back]


def _clip_outputs(name: str) -> tuple[gr.Video, gr.Image]:
    video = gr.Video(label=f"{name} (mp4 / WebM)", buttons=["download"], autoplay=True, loop=True, height=CLIP_HEIGHT)
    gif = gr.Image(
        label=f"{name} (GIF)", type="filepath", interactive=False, height=CLIP_HEIGHT, elem_classes="clip-gif"
    )
    return video, gif


def _presets_tab(panel: SourcePanel) -> None:
    with gr.Tab("Presets", id="presets"):
        with gr.Row():
            preset = gr.Radio(list(PRESETS), value=PRESETS[0], label="Motion preset", scale=3)
            seconds = gr.Slider(1, 10, 3, step=0.5, label="Seconds", scale=1)
            fps = gr.Slider(10, 30, 25, step=1, label="Frames per second", scale=1)
        clip_options = _clip_options()
        run = gr.Button("Render preset", variant="primary")
        with gr.Row():
            video, gif = _clip_outputs("Clip")
    run.click(
        handlers.render_preset,
        [panel.source, preset, panel.model, *panel.framing, seconds, fps, *clip_options],
        [video, gif],
        api_name="render_preset",
        preprocess=False,
        concurrency_id="clips",
        concurrency_limit=1,
    )


def _live_tab(panel: SourcePanel) -> None:
    with gr.Tab("Live", id="live"):
        gr.Markdown(
            "Your webcam drives the source in real time. Press the camera's ● Record button to stream it, look "
            "straight at the camera with a relaxed face and press **Calibrate**. Camera frames are not kept unless "
            "you record a clip."
        )
        with gr.Row(equal_height=False):
            camera = gr.Image(
                label="Camera",
                sources=["webcam"],
                streaming=True,
                type="numpy",
                webcam_options=gr.WebcamOptions(mirror=handlers.WEBCAM_MIRROR),
                height=CLIP_HEIGHT,
                elem_id="live-camera",
            )
            puppet = gr.Image(
                label="Puppet", interactive=False, format="jpeg", height=CLIP_HEIGHT, elem_id="live-puppet"
            )
        status = gr.Markdown(handlers.live_status(None), elem_id="live-status")
        with gr.Row():
            calibrate = gr.Button("Calibrate", variant="primary", elem_id="live-calibrate")
            record = gr.Button(handlers.RECORD_LABELS[0], elem_id="live-record")
            smoothing = gr.Slider(0.0, 1.0, 0.5, step=0.05, label="Smoothing", elem_id="live-smoothing")
        pose_box = gr.Textbox(label="Live pose", lines=3, buttons=["copy"], elem_id="live-pose")
        with gr.Row():
            video = gr.Video(
                label="Recording (mp4)", buttons=["download"], height=CLIP_HEIGHT // 2, elem_id="live-recording"
            )
            table = gr.File(label="Recorded poses (CSV)", elem_id="live-poses")
    session = gr.State(None)
    camera.stream(
        handlers.live_frame,
        [camera, panel.source, panel.model, *panel.framing, smoothing, session],
        [puppet, pose_box, status, session],
        api_name="live_frame",
        show_progress="hidden",
        stream_every=LIVE_FRAME_INTERVAL_S,
        time_limit=LIVE_TIME_LIMIT_S,
        concurrency_id="live",
        concurrency_limit=LIVE_STREAMS,
    )
    calibrate.click(handlers.live_calibrate, session, status, api_name="live_calibrate", show_progress="hidden")
    record.click(handlers.live_record, session, [status, record, video, table], api_name="live_record")


def _compare_tab(panel: SourcePanel, pose: PoseControls, driving_video: gr.Video) -> None:
    with gr.Tab("Compare", id="compare"):
        with gr.Row():
            models = gr.Dropdown(
                handlers.REGISTRY.choices(),
                value=[DEFAULT_KEY],
                multiselect=True,
                allow_custom_value=True,
                label="Models",
                info="listed ones, or type a model folder or Hub repo id",
                scale=3,
            )
            driving = gr.Dropdown(
                [handlers.CURRENT_POSE, handlers.DRIVING_VIDEO, *PRESETS],
                value=handlers.CURRENT_POSE,
                label="Driving",
                info="the Pose tab's sliders, the Video tab's driving video, or a preset",
                scale=2,
            )
            seconds = gr.Slider(1, 10, 3, step=0.5, label="Seconds (clips)", scale=1)
        run = gr.Button("Compare", variant="primary")
        with gr.Row():
            grid = gr.Image(label="Side by side", interactive=False, format="png", elem_id="compare-grid")
            video = gr.Video(
                label="Side by side (mp4)", buttons=["download"], autoplay=True, loop=True, height=CLIP_HEIGHT
            )
    run.click(
        handlers.compare_models,
        [panel.source, models, *panel.framing, driving, driving_video, seconds],
        [grid, video],
        inputs_kwargs=pose.sliders,
        api_name="compare_models",
        preprocess=False,
        concurrency_id="clips",
        concurrency_limit=1,
    )


def _dataset_tab(panel: SourcePanel, pose: PoseControls) -> None:
    with gr.Tab("Dataset", id="dataset"):
        gr.Markdown(
            "Samples with their pose values: synthetic AnimeCeleb-style heads (`animeceleb.data.synthetic`), or a "
            f"dataset folder listed in `{safe_paths.ROOTS_VARIABLE}` (none by default)."
        )
        with gr.Row():
            dataset = gr.Dropdown(
                jobs.dataset_choices(),
                value=jobs.SYNTHETIC,
                allow_custom_value=True,
                label="Dataset",
                info="or type a folder inside a listed one",
            )
            count = gr.Slider(4, handlers.MAX_SAMPLES, 12, step=4, label="Samples")
            seed = gr.Number(0, precision=0, label="Seed")
            draw = gr.Button("Draw samples", variant="primary")
        gallery = gr.Gallery(label="Samples", columns=6, height=420, object_fit="contain", allow_preview=False)
        with gr.Row():
            selected = gr.Image(label="Selected", type="filepath", interactive=False, height=200)
            with gr.Column():
                pose_box = gr.Textbox(label="Its pose vector", buttons=["copy"])
                with gr.Row():
                    use_source = gr.Button("Use as source")
                    use_pose = gr.Button("Apply its pose in the Pose tab")
    samples = gr.State([])
    draw.click(handlers.dataset_samples, [count, seed, dataset], [gallery, samples], api_name="dataset_samples")
    gallery.select(handlers.select_sample, samples, [pose_box, selected], api_visibility="private")
    use_source.click(lambda path: path, selected, panel.source, api_visibility="private")
    use_pose.click(handlers.parse_pose, pose_box, pose.slider_list, api_visibility="private").success(
        **pose.animate, api_visibility="private"
    )
