"""The app's named endpoints through ``gradio_client``, against the real server: outputs, errors, concurrency."""

from __future__ import annotations

import re
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from animeceleb.driving import preset_poses, read_video, write_video
from animeceleb.framing import draw_guide
from animeceleb.inference import Animator
from animeceleb.inference.outputs import read_rgba_video
from animeceleb.models import load_model
from animeceleb.pose import Pose
from animeceleb.ui.media import SourceFraming, load_image
from tests.conftest import REPO_ROOT
from tests.tiny_models import TINY_IMAGE_SIZE

pytestmark = pytest.mark.timeout(300)

EXAMPLES = REPO_ROOT / "examples"
SOURCE = EXAMPLES / "character_01.png"
TRANSPARENT = EXAMPLES / "character_18_transparent.png"
DRIVING = EXAMPLES / "driving_astronaut.mp4"
NAMED_ENDPOINTS = (
    "animate_pose",
    "animate_video",
    "render_preset",
    "compare_models",
    "prepare_source",
    "load_model",
    "random_character",
    "dataset_samples",
    "parse_pose",
)


@pytest.fixture(scope="module")
def client(app_url: str) -> Client:
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def expected(tiny_models: dict[str, Path]) -> Animator:
    """The default model of these tests, prepared with the example source exactly as the app frames it."""
    animator = Animator(load_model(tiny_models["animo"]), batch_size=1)
    picture = load_image(SOURCE)
    animator.prepare(SourceFraming().framing(picture, TINY_IMAGE_SIZE).crop(picture))
    return animator


def luma(images: np.ndarray) -> np.ndarray:
    """Brightness (ITU-R BT.601) of RGB uint8 images, the part of a frame h264 keeps at full resolution."""
    return images.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def read_image(path: str) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_every_endpoint_is_named(client: Client) -> None:
    names = {name.lstrip("/") for name in client.view_api(return_format="dict", print_info=False)["named_endpoints"]}
    assert set(NAMED_ENDPOINTS) <= names


def test_animate_pose_renders_the_model_output_and_follows_the_pose(client: Client, expected: Animator) -> None:
    neutral = read_image(client.predict(handle_file(SOURCE), api_name="/animate_pose"))
    posed = read_image(client.predict(handle_file(SOURCE), mouth_a=1.0, head_yaw=15.0, api_name="/animate_pose"))
    assert neutral.shape == posed.shape == (*TINY_IMAGE_SIZE, 3)
    pose = Pose.neutral().replace(mouth_a=1.0, head_yaw=15.0)
    np.testing.assert_allclose(posed, expected([pose])[0], atol=1)
    np.testing.assert_allclose(neutral, expected([Pose.neutral()])[0], atol=1)
    assert np.abs(posed.astype(int) - neutral).mean() > 1.0


def test_prepare_source_shows_the_framed_source_with_the_guide(client: Client, tmp_path: Path) -> None:
    picture = load_image(TRANSPARENT)
    preview = np.asarray(Image.open(client.predict(handle_file(TRANSPARENT), api_name="/prepare_source")))
    crop = SourceFraming().framing(picture, TINY_IMAGE_SIZE).crop(picture)
    np.testing.assert_array_equal(preview, draw_guide(crop))  # RGBA, framed from the alpha channel, guide drawn
    zoomed = client.predict(handle_file(TRANSPARENT), "auto", "", 1.5, 0.2, 0.0, api_name="/prepare_source")
    crop = SourceFraming(zoom=1.5, offset_x=0.2).framing(picture, TINY_IMAGE_SIZE).crop(picture)
    np.testing.assert_array_equal(np.asarray(Image.open(zoomed)), draw_guide(crop))
    with pytest.raises(AppError, match="a head box is 'x,y,scale'"):
        client.predict(handle_file(TRANSPARENT), "box", "middle", api_name="/prepare_source")


def test_transparent_source_gives_transparent_results(client: Client) -> None:
    result = np.asarray(Image.open(client.predict(handle_file(TRANSPARENT), mouth_a=1.0, api_name="/animate_pose")))
    assert result.shape == (*TINY_IMAGE_SIZE, 4) and result[0, 0, 3] == 0 and result[32, 32, 3] == 255
    source = handle_file(TRANSPARENT)
    webm, gif = client.predict(source, "nod", seconds=0.4, fps=10, video_format="webm", api_name="/render_preset")
    frames = read_rgba_video(webm)
    assert frames.shape == (4, *TINY_IMAGE_SIZE, 4)
    assert (frames[:, 0, 0, 3] < 10).all() and (frames[:, 32, 32, 3] > 245).all()  # read back: alpha kept
    gif_frames = iio.imread(gif, index=None, mode="RGBA")
    assert (gif_frames[:, 0, 0, 3] == 0).all() and (gif_frames[:, 32, 32, 3] == 255).all()
    mp4, _ = client.predict(source, "nod", seconds=0.4, fps=10, background="green", api_name="/render_preset")
    corner = read_video(mp4)[0][:, 0, 0].astype(int)
    assert (np.abs(corner - (0, 177, 64)) < 24).all()  # transparency on the chosen background


def test_paste_back_returns_the_full_picture(client: Client) -> None:
    picture = load_image(TRANSPARENT)
    mp4, _ = client.predict(
        handle_file(TRANSPARENT), "blink", seconds=0.2, fps=10, paste_back=True, api_name="/render_preset"
    )
    frames = read_video(mp4)[0]
    height, width = picture.shape[:2]
    assert frames.shape[1:3] == (height + height % 2, width + width % 2)


def test_render_preset_writes_the_model_frames_as_mp4_and_gif(client: Client, expected: Animator) -> None:
    mp4, gif = client.predict(handle_file(SOURCE), "nod", seconds=0.4, fps=10, api_name="/render_preset")
    frames, info = read_video(mp4)
    assert frames.shape == (4, *TINY_IMAGE_SIZE, 3) and info.codec == "h264" and info.fps == 10
    model_frames = expected(preset_poses("nod", fps=10, seconds=0.4))
    # h264 blurs the tiny random model's noisy colours; its brightness (luma) stays close: about 4.5 levels off here,
    # against about 30 for another model's frames
    assert np.abs(luma(frames) - luma(model_frames)).mean() < 10
    assert 1 <= Image.open(gif).n_frames <= 4  # the GIF writer may merge identical consecutive frames


def test_animate_video_follows_the_face_side_by_side(client: Client) -> None:
    mp4, gif = client.predict(
        handle_file(SOURCE),
        handle_file(DRIVING),
        max_seconds=0.32,
        use_side_by_side=True,
        api_name="/animate_video",
    )
    frames, _ = read_video(mp4)
    height, width = TINY_IMAGE_SIZE
    total_width = width + round(480 * height / 360)  # driving (480x360, scaled to the result's height) | result
    assert frames.shape[:3] == (8, height, total_width + total_width % 2)  # h264 needs even sizes
    result = frames[:, :, -width:].astype(int)
    assert np.abs(result - result[:1]).max() > 0  # the head follows the driving roll
    assert Image.open(gif).n_frames == 8


def test_compare_models_labels_each_model(client: Client, tiny_models: dict[str, Path]) -> None:
    models = ["default", str(tiny_models["pirenderer"])]
    grid, video = client.predict(
        handle_file(SOURCE), models, driving="current pose", mouth_o=1.0, api_name="/compare_models"
    )
    grid = read_image(grid)
    assert video is None and grid.shape[1] == 2 * TINY_IMAGE_SIZE[1] and grid.shape[0] > TINY_IMAGE_SIZE[0]
    grid, video = client.predict(handle_file(SOURCE), models, driving="blink", seconds=0.4, api_name="/compare_models")
    frames, _ = read_video(video)
    assert frames.shape[0] == 10 and frames.shape[2] == 2 * TINY_IMAGE_SIZE[1]


def test_fomm_is_compared_on_the_driving_video_frames(client: Client, tiny_models: dict[str, Path]) -> None:
    models = ["default", str(tiny_models["fomm"])]
    source, driving = handle_file(SOURCE), handle_file(DRIVING)
    _, video = client.predict(
        source, models, driving="driving video", driving_video=driving, seconds=0.2, api_name="/compare_models"
    )
    frames = read_video(video)[0]
    assert frames.shape[0] == 5 and frames.shape[2] == 2 * TINY_IMAGE_SIZE[1] and frames.shape[1] > TINY_IMAGE_SIZE[0]
    with pytest.raises(AppError, match="is driven by a face video, not poses"):
        client.predict(source, models, driving="current pose", api_name="/compare_models")
    with pytest.raises(AppError, match="is driven by a face video, not by poses"):
        client.predict(source, str(tiny_models["fomm"]), api_name="/animate_pose")


def test_model_status_names_the_model_or_the_fallback(client: Client, tiny_models: dict[str, Path]) -> None:
    assert "animo" in client.predict("default", api_name="/load_model")
    assert "random weights" in client.predict("random:animo_compact", api_name="/load_model")


def test_small_helpers(client: Client) -> None:
    character = read_image(client.predict(3, api_name="/random_character"))
    assert character.shape == (512, 512, 3)
    samples = client.predict(4, 1, api_name="/dataset_samples")
    assert len(samples) == 4 and all(sample["caption"] for sample in samples)


def test_dataset_tab_reads_only_the_allowed_folders(client: Client, dataset_root: Path, tmp_path: Path) -> None:
    samples = client.predict(4, 0, str(dataset_root), api_name="/dataset_samples")
    assert len(samples) == 4 and all(read_image(sample["image"]).shape == (64, 64, 3) for sample in samples)
    with pytest.raises(AppError, match="outside the allowed data folders"):
        client.predict(4, 0, str(tmp_path), api_name="/dataset_samples")
    with pytest.raises(AppError, match="'..' is not allowed"):
        client.predict(4, 0, f"{dataset_root}/../{tmp_path.name}", api_name="/dataset_samples")
    values = client.predict('{"mouth_a": 0.5, "head_roll": -3}', api_name="/parse_pose")
    assert values[12] == 0.5 and values[18] == -3 and sum(map(abs, values)) == 3.5


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really an image" * 10)
    write_video(folder / "no_face.mp4", [np.full((64, 64, 3), value, np.uint8) for value in range(0, 200, 20)], 10)
    return {"corrupt": folder / "corrupt.png", "no_face": folder / "no_face.mp4"}


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("corrupt image", "cannot read corrupt.png as an image"),
        ("morph out of range", "mouth_a (row 0) is 3"),
        ("no source", "no source image"),
        ("unknown model offline", "cannot load 'nobody/no-such-model'"),
        ("still image as video", "is a still image, not a video"),
        ("video without a face", "no face found"),
        ("unknown preset", "unknown motion preset 'dance'"),
    ],
)
def test_bad_inputs_give_clear_errors(client: Client, bad_files: dict[str, Path], case: str, message: str) -> None:
    source = handle_file(SOURCE)
    calls = {
        "corrupt image": lambda: client.predict(handle_file(bad_files["corrupt"]), api_name="/animate_pose"),
        "morph out of range": lambda: client.predict(source, mouth_a=3.0, api_name="/animate_pose"),
        "no source": lambda: client.predict(None, api_name="/animate_pose"),
        "unknown model offline": lambda: client.predict(source, "nobody/no-such-model", api_name="/animate_pose"),
        "still image as video": lambda: client.predict(source, handle_file(SOURCE), api_name="/animate_video"),
        "video without a face": lambda: client.predict(
            source, handle_file(bad_files["no_face"]), api_name="/animate_video"
        ),
        "unknown preset": lambda: client.predict(source, "dance", api_name="/render_preset"),
    }
    with pytest.raises(AppError, match=re.escape(message)):
        calls[case]()


def test_eight_concurrent_jobs_get_their_own_results(client: Client, expected: Animator) -> None:
    poses = [Pose.neutral().replace(mouth_a=index / 7, head_yaw=2.0 * index - 7) for index in range(8)]
    jobs = [client.submit(handle_file(SOURCE), **pose.to_dict(), api_name="/animate_pose") for pose in poses]
    results = [read_image(job.result(timeout=120)) for job in jobs]
    for pose, result in zip(poses, results, strict=True):
        np.testing.assert_allclose(result, expected([pose])[0], atol=1)
    assert len({result.tobytes() for result in results}) == 8


def test_readme_client_example_runs(app_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    example = re.search(r"```python\n(from gradio_client import .*?)```", readme, re.DOTALL).group(1)
    assert len(example.strip().splitlines()) == 5
    monkeypatch.chdir(REPO_ROOT)
    names: dict[str, object] = {}
    exec(example.replace("http://127.0.0.1:7860/", app_url), names)  # noqa: S102 (our own README)
    assert Image.open(names["frame"]).size == TINY_IMAGE_SIZE
    assert read_video(names["mp4"])[0].shape[0] == 75  # the 3 s driving clip at 25 fps
