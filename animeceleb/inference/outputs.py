"""Write animation frames as mp4 (on a background colour), WebM with alpha, transparent GIF or PNG frames.

RGBA frames keep their transparency in every format but mp4, which has no alpha: there they are composited on a
chosen background colour. WebM is VP9 with an alpha plane (yuva420p) through imageio-ffmpeg's ffmpeg; note that
ffmpeg's built-in VP9 decoder drops that plane, so ``read_rgba_video`` forces libvpx-vp9 to read it back.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image

from animeceleb.driving import probe_video, write_video
from animeceleb.errors import InputError
from animeceleb.imaging import WHITE, Color, composite_on_color

logger = logging.getLogger(__name__)

FORMATS = ("mp4", "webm", "gif", "png")
BACKGROUNDS: dict[str, Color] = {"white": WHITE, "green": (0, 177, 64), "black": (0, 0, 0)}  # green: chroma key
VP9_OPTIONS = ["-b:v", "0", "-crf", "30", "-deadline", "good", "-cpu-used", "4", "-row-mt", "1"]
GIF_ALPHA_CUT = 128  # GIF transparency is on or off: alpha below this becomes transparent
GIF_TRANSPARENT = 255  # palette index kept for transparent pixels (the colours use 0..254)


def parse_color(text: str) -> Color:
    """A background colour from a name (white, green, black), ``#RRGGBB`` or ``R,G,B``."""
    text = text.strip().lower()
    if text in BACKGROUNDS:
        return BACKGROUNDS[text]
    if re.fullmatch(r"#[0-9a-f]{6}", text):
        return tuple(int(text[i : i + 2], 16) for i in (1, 3, 5))
    parts = text.split(",")
    if len(parts) == 3 and all(part.strip().isdigit() and int(part) <= 255 for part in parts):
        return tuple(int(part) for part in parts)
    raise InputError(f"unknown colour {text!r}; use one of {', '.join(BACKGROUNDS)}, #RRGGBB or R,G,B (0-255)")


def output_format(path: str | Path, format: str | None = None) -> str:
    """The output format: ``format`` if given, else from the suffix of ``path`` (no suffix: a folder of PNGs)."""
    if format is None:
        suffix = Path(path).suffix.lower().lstrip(".")
        format = suffix or "png"
    if format not in FORMATS:
        raise InputError(f"unknown output format {format!r} (from {path}); choose one of {', '.join(FORMATS)}")
    return format


def write_frames(
    path: str | Path,
    frames: Iterable[np.ndarray],
    fps: float,
    *,
    format: str | None = None,
    background: Color = WHITE,
    audio_from: str | Path | None = None,
) -> Path:
    """Write uint8 RGB or RGBA frames (H, W, 3/4) in ``format`` (default: from the suffix) and return the path.

    ``background`` fills transparent areas in an mp4; ``audio_from`` (a video) gives mp4 and WebM their audio.
    """
    format = output_format(path, format)
    if format == "mp4":
        opaque = (frame if frame.shape[2] == 3 else composite_on_color(frame, background) for frame in frames)
        return write_video(path, opaque, fps, audio_from=audio_from)
    if format == "webm":
        return write_webm(path, frames, fps, audio_from=audio_from)
    if format == "gif":
        return write_gif(path, frames, fps)
    return write_png_frames(path, frames)


def write_webm(
    path: str | Path, frames: Iterable[np.ndarray], fps: float, *, audio_from: str | Path | None = None
) -> Path:
    """Encode RGBA (or RGB) uint8 frames as a VP9 WebM with an alpha plane; audio (Opus) from ``audio_from``."""
    first, frames = _first_frame(frames, fps)
    height, width = first.shape[:2]
    path = Path(path)
    audio = Path(audio_from) if audio_from is not None and probe_video(audio_from).has_audio else None
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = imageio_ffmpeg.write_frames(
        str(path),
        (width, height),  # VP9 takes odd sizes
        fps=float(fps),
        codec="libvpx-vp9",
        pix_fmt_in="rgba",
        pix_fmt_out="yuva420p",
        macro_block_size=1,
        ffmpeg_log_level="error",
        output_params=VP9_OPTIONS + (["-shortest"] if audio else []),
        audio_path=str(audio) if audio else None,
        audio_codec="libopus" if audio else None,
    )
    writer.send(None)
    try:
        for frame in _checked(first, frames):
            writer.send(np.ascontiguousarray(_rgba(frame)))
    except BaseException:
        writer.close()
        path.unlink(missing_ok=True)  # never leave a truncated file behind
        raise
    writer.close()
    logger.info("wrote %s (VP9 with alpha, %dx%d, %.3g fps)", path, width, height, fps)
    return path


def write_gif(path: str | Path, frames: Iterable[np.ndarray], fps: float) -> Path:
    """Write uint8 RGB/RGBA frames as a looping GIF; pixels with alpha below 128 are transparent."""
    first, frames = _first_frame(frames, fps)
    images = [_gif_frame(frame) for frame in _checked(first, frames)]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(
        path,
        save_all=True,
        append_images=images[1:],
        duration=round(1000 / fps),
        loop=0,
        disposal=2,  # clear each frame to transparent, so earlier frames never show through
        transparency=GIF_TRANSPARENT,
        optimize=False,
    )
    return path


def write_png_frames(folder: str | Path, frames: Iterable[np.ndarray]) -> Path:
    """Write frames as ``folder/00000.png``, ``00001.png``, ... (RGBA kept); returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    first, frames = _first_frame(frames, 1.0)
    for index, frame in enumerate(_checked(first, frames)):
        Image.fromarray(frame).save(folder / f"{index:05d}.png")
    return folder


def read_rgba_video(path: str | Path) -> np.ndarray:
    """All frames of a (short) video as uint8 RGBA (N, H, W, 4), decoding a VP9 alpha plane when there is one."""
    path = Path(path)
    info = probe_video(path)
    is_vp9 = info.codec.startswith("vp9")
    reader = imageio_ffmpeg.read_frames(
        str(path), pix_fmt="rgba", bpp=4, input_params=["-c:v", "libvpx-vp9"] if is_vp9 else None
    )
    meta = next(reader)
    width, height = meta["size"]
    frames = [np.frombuffer(buffer, dtype=np.uint8).reshape(height, width, 4) for buffer in reader]
    if not frames:
        raise InputError(f"{path} has no decodable video frames")
    return np.stack(frames)


def _gif_frame(frame: np.ndarray) -> Image.Image:
    """A palette image: up to 255 colours for the RGB, index 255 where the frame is transparent."""
    rgb = Image.fromarray(np.ascontiguousarray(frame[:, :, :3]))
    quantized = rgb.quantize(GIF_TRANSPARENT, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    indices = np.array(quantized)
    if frame.shape[2] == 4:
        indices[frame[:, :, 3] < GIF_ALPHA_CUT] = GIF_TRANSPARENT
    image = Image.fromarray(indices, mode="P")
    image.putpalette(quantized.getpalette())
    return image


def _first_frame(frames: Iterable[np.ndarray], fps: float) -> tuple[np.ndarray, Iterator[np.ndarray]]:
    if fps <= 0:
        raise InputError(f"fps must be positive; got {fps}")
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        raise InputError("no frames to write")
    return first, frames


def _checked(first: np.ndarray, frames: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    """The frames, each checked to be uint8 RGB/RGBA with the first frame's shape."""
    for frame in itertools.chain([first], frames):
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] not in (3, 4):
            raise InputError(f"frames must be RGB or RGBA uint8 arrays (H, W, 3/4); got {frame.dtype} {frame.shape}")
        if frame.shape != first.shape:
            raise InputError(f"all frames must have the shape of the first, {first.shape}; got {frame.shape}")
        yield frame


def _rgba(frame: np.ndarray) -> np.ndarray:
    if frame.shape[2] == 4:
        return frame
    return np.concatenate([frame, np.full((*frame.shape[:2], 1), 255, np.uint8)], axis=2)
