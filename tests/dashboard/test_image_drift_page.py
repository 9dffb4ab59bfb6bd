"""AppTest of the Image drift page: uploads of the same and of shifted images, and an empty log."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageFilter
from streamlit.testing.v1 import AppTest

from core.config import Settings
from core.demo.datasets import digits_images

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def _uploads(shift: bool) -> list[tuple[str, bytes, str]]:
    _, held_out, _, _ = digits_images()
    files = []
    for i, arr in enumerate(held_out[:40]):
        img = Image.fromarray(255 - arr)
        if shift:
            img = img.filter(ImageFilter.GaussianBlur(2)).point(lambda v: v * 0.6)
        buf = io.BytesIO()
        img.save(buf, "PNG")
        files.append((f"img-{i}.png", buf.getvalue(), "image/png"))
    return files


def _page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240).run()
    at.switch_page("../pages/image_drift.py").run()
    assert not at.exception, at.exception
    return at


def test_uploads_same_then_shifted(digits_home: Settings) -> None:
    at = _page()
    at.file_uploader(key="image_drift_uploads").set_value(_uploads(shift=False)).run()
    assert not at.exception
    assert at.success and "no drift detected" in at.success[0].value
    at.file_uploader(key="image_drift_uploads").set_value(_uploads(shift=True)).run()
    assert at.error and "drifted" in at.error[0].value
    drifted = at.dataframe[0].value
    # the digit pipeline normalises brightness away; the blur still shows in what the model sees
    assert drifted["drifted"].any(), drifted
    assert any("Size is shown, not tested" in c.value for c in at.caption)


def test_bad_file_is_named_and_few_images_explained(digits_home: Settings) -> None:
    at = _page()
    files = [*_uploads(shift=False)[:3], ("notes.png", b"hello", "image/png")]
    at.file_uploader(key="image_drift_uploads").set_value(files).run()
    assert at.error[0].value.startswith("notes.png: the file is not an image")
    assert any("3 usable image(s)" in c.value for c in at.caption)


def test_log_source_without_classified_images(digits_home: Settings) -> None:
    at = _page()
    at.radio(key="image_drift_source").set_value("Prediction log (statistics)").run()
    assert any("0 classified image(s)" in i.value for i in at.info)
