"""AppTest of the Classify page: uploads, samples, a bad file in a batch, two versions, CSV."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.config import Settings
from core.demo.datasets import digits_images

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def _page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("../pages/classify.py").run()
    assert not at.exception
    return at


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def test_uploaded_batch_with_a_bad_file_classifies_the_rest(digits_home: Settings) -> None:
    _, images, _, labels = digits_images()
    uploads = [(f"digit-{i}.png", _png(255 - images[i]), "image/png") for i in range(8)]
    uploads.insert(3, ("broken.png", b"\x89PNG\r\n\x1a\ntruncated", "image/png"))
    at = _page()
    at.file_uploader(key="classify_uploads").set_value(uploads).run()
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith("broken.png: the image could not be decoded")
    table = at.dataframe[0].value
    assert list(table["file"]) == [u[0] for u in uploads]
    ok = table[table["status"] == "ok"]
    assert len(ok) == 8
    correct = sum(
        str(labels[int(f.split("-")[1].split(".")[0])]) == top for f, top in zip(ok["file"], ok["top1"], strict=True)
    )
    assert correct >= 6  # the champion reads ~93% of held-out scans (and photos too since it is trained on them)
    assert at.get("download_button")  # the CSV download is offered


def test_samples_and_version_comparison(digits_home: Settings) -> None:
    at = _page()
    samples = at.multiselect(key="classify_samples").options
    assert any(s.startswith("not-a-digit") for s in samples) and any("-label-" in s for s in samples)
    at.multiselect(key="classify_samples").set_value([s for s in samples if "-label-" in s][:4]).run()
    at.toggle(key="classify_compare").set_value(True).run()
    assert not at.exception
    columns = at.dataframe[0].value.columns.tolist()
    assert "v2 top1" in columns and "v1 top1" in columns
    headline = [m.value for m in at.markdown if m.value.startswith("**v")]
    assert any(h.startswith("**v2 (champion)**") for h in headline)
    assert any(h.startswith("**v1 (challenger)**") for h in headline)
    # the digit pipeline, step by step, under each picture
    steps = [e for e in at.expander if e.label == "How the picture became the model input"]
    assert len(steps) == 4 and not at.exception


def test_no_image_model_explains_how_to_register_one(empty_home: Settings) -> None:
    at = _page()
    assert any("register-keras" in i.value for i in at.info)
