"""One function per app event: convert widget values, call the pipeline, return arrays or file paths.

Every handler maps ``AnimeCelebError`` to ``gr.Error`` (a message in the page, an exception in ``gradio_client``).
Models come from one shared ``ModelRegistry``; prepared sources from one ``SourceCache``; per-session data lives in
``gr.State`` in the layout, never here. Handlers are named after their ``api_name``. Sources keep their transparency:
an RGBA upload gives RGBA results (WebM and GIF keep it; mp4 puts it on a background colour).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import ParamSpec, TypeVar

import gradio as gr
import numpy as np

from animeceleb.data import SyntheticCharacter, render, sample_poses
from animeceleb.driving import DriveOptions, preset_poses
from animeceleb.errors import AnimeCelebError, InputError
from animeceleb.framing import Framing, PasteBack, draw_guide
from animeceleb.inference import Animator, LiveFrame, LiveSession
from animeceleb.inference.outputs import parse_color
from animeceleb.inference.registry import LoadedModel, ModelRegistry, SourceCache
from animeceleb.pose import POSE_DIM, Pose, validate_poses
from animeceleb.ui import jobs
from animeceleb.ui.jobs import (
    SYNTHETIC,
    Progress,
    VideoDriving,
    comparison_drivings,
    comparison_frames,
    drive,
    encode_clip,
    sample_image,
)
from animeceleb.ui.media import LIMITS, OutputFolder, SourceFraming, frames_for, load_image

logger = logging.getLogger(__name__)

FileValue = str | dict | None  # an upload: Gradio's payload (events with preprocess=False), a path, or nothing
P = ParamSpec("P")
R = TypeVar("R")

REGISTRY = ModelRegistry()
SOURCES = SourceCache()
CURRENT_POSE = "current pose"  # the Compare tab's choice of driving by the Pose tab's sliders
DRIVING_VIDEO = "driving video"  # ... or by the Video tab's driving video
MOTION_MODES = ("relative", "absolute")  # of a driving video: against the driver's first frames, or a typical face
PRESET_FPS = 25.0  # frame rate of the presets the Compare tab renders
CHARACTER_SIZE = 512  # random characters are drawn at this size, then framed like any upload
MAX_SAMPLES = 48  # most synthetic samples drawn at once in the Dataset tab
RECORD_LABELS = ("Record a clip", "Stop and save the clip")  # the Live tab's record button, idle and recording
WEBCAM_MIRROR = True  # the browser mirrors webcam frames (a selfie view) before sending them; the pose undoes it
VIDEO_FORMATS = ("mp4", "webm")  # mp4: transparency on a background colour; webm: VP9 with alpha


@functools.cache
def outputs() -> OutputFolder:
    """The app's temporary output folder, created on first use."""
    return OutputFolder()


def user_errors(handler: Callable[P, R]) -> Callable[P, R]:
    """Show our errors as a ``gr.Error`` message instead of a generic failure."""

    @functools.wraps(handler)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return handler(*args, **kwargs)
        except AnimeCelebError as error:
            raise gr.Error(str(error), title="Cannot do that") from error

    return wrapper


def _progress(progress: gr.Progress) -> Progress:
    return lambda done, total, what: progress((done, total or None), desc=what, unit="frames")


@functools.lru_cache(maxsize=8)
def _picture(path: str, modified_ns: int) -> np.ndarray:
    """A source file loaded once per file version; read-only, as it is shared."""
    image = load_image(path)
    image.setflags(write=False)
    return image


@functools.lru_cache(maxsize=32)
def _framed(path: str, modified_ns: int, framing: SourceFraming, size: tuple[int, int]) -> tuple[Framing, np.ndarray]:
    """The framing of a source file and the crop the model sees, once per (file version, framing, size)."""
    picture = _picture(path, modified_ns)
    transform = framing.framing(picture, size)
    crop = transform.crop(picture)
    crop.setflags(write=False)
    return transform, crop


def file_path(value: FileValue) -> str | None:
    """The server path of an upload, given as Gradio's unprocessed payload (``{"path": ...}``) or a plain path."""
    return value.get("path") if isinstance(value, dict) else value


def source_framing(
    framing: str = "auto", head_box: str = "", zoom: float = 1.0, offset_x: float = 0.0, offset_y: float = 0.0
) -> SourceFraming:
    """The framing widgets' values as a ``SourceFraming`` (a cleared number box counts as its default)."""
    return SourceFraming(framing, head_box or "", float(zoom or 1.0), float(offset_x or 0.0), float(offset_y or 0.0))


def _source_path(source: FileValue) -> str:
    path = file_path(source)
    if not path or not Path(path).is_file():
        raise InputError("no source image: upload an anime head, pick an example or draw a random character")
    return str(path)


def _source_for(source: FileValue, framing: SourceFraming, loaded: LoadedModel) -> tuple[Framing, np.ndarray]:
    path = _source_path(source)
    return _framed(path, Path(path).stat().st_mtime_ns, framing, loaded.image_size)


def _animator(source: FileValue, framing: SourceFraming, model: str) -> Animator:
    loaded = REGISTRY.get(model)
    return SOURCES.animator(loaded, _source_for(source, framing, loaded)[1])


def _pose_animator(source: FileValue, framing: SourceFraming, model: str) -> Animator:
    animator = _animator(source, framing, model)
    if animator.drives_with_frames:
        raise InputError(f"{model} is driven by a face video, not by poses: use it in the Video or Compare tab")
    return animator


def _paste_back(source: FileValue, framing: SourceFraming, model: str) -> PasteBack:
    """Puts animated crops back into the full source picture."""
    path = _source_path(source)
    transform, _ = _source_for(source, framing, REGISTRY.get(model))
    return PasteBack(_picture(path, Path(path).stat().st_mtime_ns), transform)


def _write_clip(
    frames: Iterator[np.ndarray],
    count: int,
    fps: float,
    *,
    video_format: str,
    background: str,
    paste_back: PasteBack | None,
    progress: gr.Progress,
    audio_from: str | None = None,
    beside: str | None = None,
) -> tuple[str, str | None]:
    """Write a clip of the Video or Presets tab: (video path, GIF path)."""
    if video_format not in VIDEO_FORMATS:
        raise InputError(f"unknown video format {video_format!r}; choose one of {', '.join(VIDEO_FORMATS)}")
    if paste_back is not None:
        frames = map(paste_back, frames)
    clip = encode_clip(
        frames,
        count,
        fps,
        outputs(),
        video_format=video_format,
        background=parse_color(background or "white"),
        audio_from=audio_from,
        beside=beside,
        progress=_progress(progress),
    )
    return str(clip.video), str(clip.gif)


def _pose_array(pose: dict[str, float]) -> np.ndarray:
    """(1, 20) from slider values by name; missing names are 0 (``None`` too: a cleared number box)."""
    return Pose.from_dict({name: value for name, value in pose.items() if value is not None}).to_array()[None]


@user_errors
def model_status(model: str) -> str:
    """Load the chosen model (once) and describe it; a notice when it is not a trained model."""
    loaded = REGISTRY.get(model)
    height, width = loaded.image_size
    status = f"**{loaded.label}** · {type(loaded.model).__name__} · {width}×{height}"
    return status + (f"\n\n⚠️ {loaded.notice}" if loaded.notice else "")


@user_errors
def prepare_source(
    source: FileValue,
    framing: str = "auto",
    head_box: str = "",
    zoom: float = 1.0,
    offset_x: float = 0.0,
    offset_y: float = 0.0,
    model: str = "default",
) -> np.ndarray | None:
    """What the model sees: the framed source at the model's input size, with the canonical guide drawn on it
    (head ellipse, eye and mouth lines); RGBA when the source is transparent."""
    if not source:
        return None
    spec = source_framing(framing, head_box, zoom, offset_x, offset_y)
    return draw_guide(_source_for(source, spec, REGISTRY.get(model))[1])


@user_errors
def animate_pose(
    source: FileValue,
    model: str = "default",
    framing: str = "auto",
    head_box: str = "",
    zoom: float = 1.0,
    offset_x: float = 0.0,
    offset_y: float = 0.0,
    **pose: float,
) -> np.ndarray:
    """The source in one pose (slider values by name, see ``POSE_NAMES``); RGBA for a transparent source."""
    spec = source_framing(framing, head_box, zoom, offset_x, offset_y)
    return _pose_animator(source, spec, model)(_pose_array(pose))[0]


@user_errors
def parse_pose(text: str) -> list[float]:
    """Slider values from a pasted pose: a JSON list of 20 numbers or an object ``{name: value}``."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"the pose is not valid JSON ({error.msg}); paste a list of {POSE_DIM} numbers") from None
    if isinstance(value, dict):
        return list(Pose.from_dict(value).values)
    return [float(number) for number in validate_poses(value)[0]]


def reset_pose() -> list[float]:
    """The neutral pose."""
    return list(Pose.neutral().values)


def random_pose() -> list[float]:
    """A random pose drawn like the dataset's (sparse expressions, angles within the trained range)."""
    return [round(float(value), 3) for value in sample_poses(np.random.default_rng(), 1)[0]]


def random_character(seed: float | None = None) -> np.ndarray:
    """A random synthetic anime head (``seed`` makes it reproducible; empty draws a new one)."""
    rng = np.random.default_rng(None if seed is None else int(seed))
    return render(SyntheticCharacter.random(rng), Pose.neutral(), CHARACTER_SIZE)


@user_errors
def animate_video(
    source: FileValue,
    driving_video: FileValue,
    model: str = "default",
    framing: str = "auto",
    head_box: str = "",
    zoom: float = 1.0,
    offset_x: float = 0.0,
    offset_y: float = 0.0,
    motion: str = "relative",
    smoothing: float = 0.5,
    expression_gain: float = 1.0,
    max_seconds: float = 10.0,
    use_side_by_side: bool = False,
    video_format: str = "mp4",
    background: str = "white",
    paste_back: bool = False,
    progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's documented way to receive a progress tracker)
) -> tuple[str, str | None]:
    """The source driven by the face in a video: (mp4 or WebM path, GIF path), with the video's audio.

    ``background`` (white, green, black, #RRGGBB or R,G,B) fills transparent areas in an mp4; ``paste_back`` puts
    the animated head back into the full source picture.
    """
    spec = source_framing(framing, head_box, zoom, offset_x, offset_y)
    animator = _animator(source, spec, model)
    if motion not in MOTION_MODES:
        raise InputError(f"unknown motion mode {motion!r}; choose one of {', '.join(MOTION_MODES)}")
    driving = VideoDriving(motion == "relative", float(smoothing), float(expression_gain), float(max_seconds))
    video = file_path(driving_video)
    drivers, fps = drive(animator, video, driving, progress=_progress(progress))
    return _write_clip(
        animator.frames(drivers),
        len(drivers),
        fps,
        video_format=video_format,
        background=background,
        paste_back=_paste_back(source, spec, model) if paste_back else None,
        progress=progress,
        audio_from=video,
        beside=video if use_side_by_side else None,
    )


@user_errors
def render_preset(
    source: FileValue,
    preset: str = "blink",
    model: str = "default",
    framing: str = "auto",
    head_box: str = "",
    zoom: float = 1.0,
    offset_x: float = 0.0,
    offset_y: float = 0.0,
    seconds: float = 3.0,
    fps: float = 25.0,
    video_format: str = "mp4",
    background: str = "white",
    paste_back: bool = False,
    progress: gr.Progress = gr.Progress(),  # noqa: B008
) -> tuple[str, str | None]:
    """A motion preset (blink, nod, shake, talk, wink, smile) as a short clip: (mp4 or WebM path, GIF path)."""
    frames_for(float(seconds), float(fps))
    poses = preset_poses(preset, fps=float(fps), seconds=float(seconds))
    spec = source_framing(framing, head_box, zoom, offset_x, offset_y)
    animator = _pose_animator(source, spec, model)
    return _write_clip(
        animator.frames(poses),
        len(poses),
        float(fps),
        video_format=video_format,
        background=background,
        paste_back=_paste_back(source, spec, model) if paste_back else None,
        progress=progress,
    )


@user_errors
def compare_models(
    source: FileValue,
    models: Sequence[str] = ("default",),
    framing: str = "auto",
    head_box: str = "",
    zoom: float = 1.0,
    offset_x: float = 0.0,
    offset_y: float = 0.0,
    driving: str = CURRENT_POSE,
    driving_video: FileValue = None,
    seconds: float = 3.0,
    progress: gr.Progress = gr.Progress(),  # noqa: B008
    **pose: float,
) -> tuple[np.ndarray, str | None]:
    """Every chosen model on the same source and driving, side by side under its name: (grid image, grid mp4).

    ``driving`` is ``"current pose"`` (the pose values; no video), ``"driving video"`` or a preset name.
    """
    if not models:
        raise InputError("choose at least one model to compare")
    spec = source_framing(framing, head_box, zoom, offset_x, offset_y)
    animators = [(REGISTRY.get(key).label, _animator(source, spec, key)) for key in models]
    if driving == CURRENT_POSE:
        entries, _ = comparison_drivings(animators, poses=_pose_array(pose))
        return next(comparison_frames(entries)), None
    if driving == DRIVING_VIDEO:
        settings = VideoDriving(max_seconds=float(seconds))
        entries, fps = comparison_drivings(
            animators, video=file_path(driving_video), driving=settings, progress=_progress(progress)
        )
    else:
        frames_for(float(seconds), PRESET_FPS)
        poses = preset_poses(driving, fps=PRESET_FPS, seconds=float(seconds))
        entries, fps = comparison_drivings(animators, poses=poses, fps=PRESET_FPS)
    count = len(entries[0][2])
    middle = [(label, animator, drivers[count // 2 : count // 2 + 1]) for label, animator, drivers in entries]
    clip = encode_clip(comparison_frames(entries), count, fps, outputs(), use_gif=False, progress=_progress(progress))
    return next(comparison_frames(middle)), str(clip.video)


@user_errors
def dataset_samples(
    count: float = 12, seed: float | None = 0, dataset: str = SYNTHETIC
) -> tuple[list[tuple[np.ndarray, str]], list[dict]]:
    """Dataset samples (synthetic, or from an allowed folder): a gallery of (image, caption), and the samples."""
    samples = jobs.dataset_samples(dataset, max(1, min(int(count), MAX_SAMPLES)), None if seed is None else int(seed))
    return [(sample_image(sample), _caption(sample["pose"])) for sample in samples], samples


def _caption(pose: list[float]) -> str:
    """The non-zero values of a pose, e.g. ``mouth_a 0.62 · head_yaw -12``."""
    named = Pose(tuple(pose)).to_dict()
    return " · ".join(f"{name} {value:.2g}" for name, value in named.items() if abs(value) >= 0.01) or "neutral"


def select_sample(samples: list[dict], event: gr.SelectData) -> tuple[str, np.ndarray]:
    """A clicked dataset sample: its pose as copyable text, and its image (redrawn from the session's state, never
    read from a path the browser sends)."""
    sample = samples[event.index]
    return json.dumps([round(value, 3) for value in sample["pose"]]), sample_image(sample, CHARACTER_SIZE)


@user_errors
def live_frame(
    frame: np.ndarray | None,
    source: FileValue,
    model: str = "default",
    framing: str = "auto",
    head_box: str = "",
    zoom: float = 1.0,
    offset_x: float = 0.0,
    offset_y: float = 0.0,
    smoothing: float = 0.5,
    session: LiveSession | None = None,
) -> tuple[np.ndarray, str, str, LiveSession]:
    """One webcam frame: (animated head, pose as JSON, status line, the viewer's session).

    The session (calibration, smoother, tracker) is created on the first frame and kept in the viewer's ``gr.State``.
    A frame arriving while the previous one is processed is dropped: nothing is updated.
    """
    if frame is None:
        return gr.skip(), gr.skip(), gr.skip(), session
    animator = _pose_animator(source, source_framing(framing, head_box, zoom, offset_x, offset_y), model)
    if session is None:
        session = LiveSession(animator, options=DriveOptions(smooth=float(smoothing), mirror=WEBCAM_MIRROR))
    session.use(animator)
    session.set_smoothing(float(smoothing))
    result = session.process(frame)
    if result is None:
        return gr.skip(), gr.skip(), gr.skip(), session
    return result.image, _pose_json(result.pose), live_status(session, result), session


def _pose_json(pose: np.ndarray) -> str:
    return json.dumps({name: round(float(value), 2) for name, value in Pose(tuple(pose)).to_dict().items()})


def live_status(session: LiveSession | None, frame: LiveFrame | None = None) -> str:
    """The Live tab's status line: frame rate, server time per frame, calibration, recording, no-face notice."""
    if session is None:
        return "Start the camera: the puppet follows your face once a source image is chosen."
    parts = []
    if frame is not None:
        parts.append(f"**{frame.fps:.1f} frames/s** · {sum(frame.timings.values()):.0f} ms/frame on the server")
    if session.dropped:
        parts.append(f"{session.dropped} frames dropped while busy")
    parts.append("calibrated" if session.calibrated else "neutral = first face (press Calibrate)")
    if session.recording:
        parts.append(f"⏺ recording ({session.recorded_frames} frames)")
    if frame is not None and frame.notice:
        parts.append(f"⚠️ {frame.notice}")
    return " · ".join(parts)


def _live_session(session: LiveSession | None) -> LiveSession:
    if session is None:
        raise InputError("the camera is not streaming yet: press the camera's record button first")
    return session


@user_errors
def live_calibrate(session: LiveSession | None) -> str:
    """Take the viewer's current face as the neutral pose; returns the status line."""
    _live_session(session).calibrate()
    return live_status(session)


@user_errors
def live_record(session: LiveSession | None) -> tuple[str, str, str | None, str | None]:
    """Start recording, or stop and save: (status line, the button's new label, mp4 path, pose CSV path); the paths
    only when stopping."""
    session = _live_session(session)
    if not session.recording:
        session.start_recording()
        return live_status(session), RECORD_LABELS[1], None, None
    recording = session.stop_recording(outputs().root)
    return live_status(session), RECORD_LABELS[0], str(recording.video), str(recording.poses)


LIMITS_TEXT = (
    f"Limits: uploads up to {LIMITS.max_file_mb:g} MB and {LIMITS.max_image_pixels / 1e6:g} MP; driving videos up to "
    f"{LIMITS.max_video_seconds:g} s, {LIMITS.max_video_side} px and {LIMITS.max_video_frames} frames."
)
