"""The Live tab in headless Chromium with a fake camera playing a y4m clip of the astronaut tilting her head: frames
stream to the server, the puppet streams back, the reported roll follows the clip's rotation, a recording is saved."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from animeceleb.pose import POSE_NAMES
from tests.browser.conftest import chromium, open_app
from tests.integration.driving_clips import astronaut_frame, rotated, save_y4m

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

TILT = 12.0  # degrees of the clip's in-plane rotation
SEGMENT_FRAMES = 12  # frames per pose of the clip: upright, tilted counter-clockwise, tilted clockwise
CLIP_FPS = 10
STEP = 6.0  # a change of reported roll larger than this is a step of the clip, not landmark jitter
WATCH_SECONDS = 40.0  # the longest the test watches the roll for both kinds of steps
# Counts the puppet images the page shows (every new frame is a new src), in the page itself: polling would miss some.
COUNT_FRAMES_JS = """() => {
    window.puppetFrames = 0;
    new MutationObserver(() => window.puppetFrames++).observe(document.querySelector('#live-puppet'),
        {subtree: true, attributes: true, attributeFilter: ['src']});
}"""


@pytest.fixture(scope="module")
def camera_browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Chromium whose camera loops: upright, +TILT (counter-clockwise on screen), -TILT, each 1.2 s."""
    face = astronaut_frame()
    frames = [face] * SEGMENT_FRAMES + [rotated(face, TILT)] * SEGMENT_FRAMES + [rotated(face, -TILT)] * SEGMENT_FRAMES
    clip = save_y4m(tmp_path_factory.mktemp("camera") / "tilt.y4m", frames, CLIP_FPS)
    fake_camera = (
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={clip}",
    )
    with chromium(*fake_camera) as browser:
        yield browser


def reported_roll(page) -> float | None:  # noqa: ANN001 (playwright Page)
    text = page.locator("#live-pose textarea").input_value()
    return json.loads(text)["head_roll"] if text else None


def steps_of(rolls: list[float]) -> np.ndarray:
    """The changes of the reported roll larger than ``STEP`` between consecutive readings."""
    changes = np.diff(rolls)
    return changes[np.abs(changes) > STEP]


def test_the_puppet_follows_a_fake_camera(camera_browser, app_url: str, tmp_path: Path) -> None:  # noqa: ANN001
    page = open_app(camera_browser, app_url)
    page.get_by_role("tab", name="Live").click()
    page.locator("#live-smoothing input[type=range]").fill("0")  # each pose is its frame's: crisp steps
    page.locator("#live-camera [title='grant webcam access'] button").click()
    page.locator("#live-camera button[aria-label='capture photo']").click()  # the camera's Record: start streaming
    page.locator("#live-puppet img").wait_for()
    page.wait_for_function("() => document.querySelector('#live-pose textarea')?.value.includes('head_roll')")
    assert list(json.loads(page.locator("#live-pose textarea").input_value())) == list(POSE_NAMES)

    page.locator("#live-calibrate").click()
    page.wait_for_function("() => document.querySelector('#live-status')?.innerText.includes('· calibrated')")

    # The clip goes upright -> +TILT -> -TILT -> upright: the roll rises by TILT twice and falls by 2 TILT once per
    # loop. With the sign reversed it would fall by TILT twice and rise by 2 TILT. Calibration only shifts all levels.
    rolls = []
    page.evaluate(COUNT_FRAMES_JS)
    started = time.monotonic()
    while time.monotonic() - started < WATCH_SECONDS:
        rolls.append(reported_roll(page))
        steps = steps_of(rolls)
        if (steps > 0).sum() >= 2 and (steps < 0).sum() >= 2:
            break
        page.wait_for_timeout(100)
    seconds, frames = time.monotonic() - started, page.evaluate("() => window.puppetFrames")
    status = page.locator("#live-status").inner_text()
    print(f"\nthe page showed {frames} puppet frames in {seconds:.1f} s ({frames / seconds:.1f}/s); status: {status}")
    assert frames >= 5, "the puppet image stopped updating"
    steps = steps_of(rolls)
    rises, falls = steps[steps > 0], steps[steps < 0]
    assert len(rises) >= 2 and len(falls) >= 2, f"the roll did not follow the clip's tilts: {rolls}"
    assert rises.max() < 1.5 * TILT, f"rises {rises}, falls {falls}: the roll has the wrong sign"
    assert falls.min() < -1.5 * TILT, f"rises {rises}, falls {falls}: the roll has the wrong sign"
    assert re.search(r"[\d.]+ frames/s", status)

    record = page.locator("#live-record")
    record.click()
    page.wait_for_function("() => document.querySelector('#live-status')?.innerText.includes('recording (')")
    page.wait_for_timeout(1000)
    record.click()
    page.locator("#live-recording video").wait_for()
    link = page.locator("#live-poses a").first
    link.wait_for()
    table = page.request.get(link.get_attribute("href")).text().splitlines()
    assert table[0].split(",") == list(POSE_NAMES) and len(table) > 2
    page.close()
