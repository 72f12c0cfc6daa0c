"""The app in headless Chromium (Debian's, installed by ``make system-deps``): upload, move a slider, see it change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.browser.conftest import chromium, open_app

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as browser:
        yield browser


def shown_pixels(page, tmp_path: Path, name: str, element: str = "#pose-result") -> np.ndarray:  # noqa: ANN001
    """An image as the page shows it (downloaded from its src), RGBA."""
    source = page.locator(f"{element} img").get_attribute("src")
    path = tmp_path / name
    path.write_bytes(page.request.get(source).body())
    return np.asarray(Image.open(path).convert("RGBA"))


def test_upload_then_a_slider_changes_the_result(browser, app_url: str, tmp_path: Path) -> None:  # noqa: ANN001
    page = open_app(browser, app_url)
    page.locator("#pose-result img").wait_for()
    before_src = page.locator("#pose-result img").get_attribute("src")
    before = shown_pixels(page, tmp_path, "before.png")
    seen = shown_pixels(page, tmp_path, "model_view.png", "#model-view")  # framed from the alpha, with the guide
    assert seen[0, 0, 3] == 0 and before[0, 0, 3] == 0 and before[before.shape[0] // 2, before.shape[1] // 2, 3] > 0

    page.locator("#slider-head_yaw input[type=range]").fill("18")
    page.wait_for_function(
        "previous => document.querySelector('#pose-result img')?.getAttribute('src') !== previous", arg=before_src
    )
    after = shown_pixels(page, tmp_path, "after.png")
    assert before.shape == after.shape
    assert not np.array_equal(after, before)
    assert "18" in page.locator("#pose-vector textarea").input_value()
    page.screenshot(path=tmp_path / "app.png", full_page=True)
    assert (tmp_path / "app.png").stat().st_size > 10_000
    page.close()
