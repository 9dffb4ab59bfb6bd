"""Image drift: statistics and embedding MMD see a shift and stay quiet without one."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from core import names
from core.analysis.image_drift import ImageDriftDetector, image_stats, input_stats, mmd2, mmd_test
from core.config import Settings
from core.demo.datasets import digits_images
from core.errors import InvalidInputError
from core.flavors.keras_model import InputSpec
from core.runtime.handles import load_handle


def test_image_stats_are_taken_on_the_model_input() -> None:
    arr = np.zeros((10, 20), dtype=np.uint8)
    arr[:, 10:] = 200
    s = input_stats(arr[:, :, None] / 255.0)
    assert s["input_brightness"] == pytest.approx(100) and s["input_contrast"] == pytest.approx(100)
    assert s["input_sharpness"] > 0
    big = Image.fromarray(np.kron(arr, np.ones((30, 30), dtype=np.uint8)))  # the same picture, 30× larger
    at_model_size = image_stats(big, InputSpec(height=10, width=20, channels=1))
    assert (at_model_size["width"], at_model_size["height"]) == (600, 300)
    assert at_model_size["input_brightness"] == pytest.approx(100, abs=1)


def test_mmd_test_same_and_shifted() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 8))
    assert mmd_test(x, rng.normal(size=(150, 8))).p_value > 0.05
    shifted = mmd_test(x, rng.normal(0.5, 1, size=(150, 8)))
    assert shifted.drifted and shifted.mmd2 > 0
    assert mmd2(x, x + 0.0, 1.0) == pytest.approx(mmd2(x, x, 1.0))
    with pytest.raises(InvalidInputError):
        mmd_test(x[:1], x)


@pytest.fixture(scope="module")
def digits_detector(digits_template) -> tuple[ImageDriftDetector, list, list]:
    settings = Settings.from_env({names.ENV_HOME: str(digits_template)})
    handle = load_handle(settings.tracking_uri, names.DIGITS, 2)
    train, held_out, _, _ = digits_images()
    as_uploaded = [Image.fromarray(255 - img) for img in train[:300]]
    detector = ImageDriftDetector(permutations=100).fit(as_uploaded, handle)
    return detector, [Image.fromarray(255 - img) for img in held_out[:150]], as_uploaded


def test_same_distribution_images_do_not_drift(digits_detector) -> None:
    detector, held_out, _ = digits_detector
    assert not detector.compare_stats(held_out).dataset_drift
    assert not detector.compare_embeddings(held_out).drifted


def test_blurred_dark_images_drift(digits_detector) -> None:
    detector, held_out, _ = digits_detector
    shifted = [img.filter(ImageFilter.GaussianBlur(2)).point(lambda v: v * 0.6) for img in held_out]
    report = detector.compare_stats(shifted)
    assert {"input_brightness", "input_sharpness"} <= set(report.drifted), report.features
    assert detector.compare_embeddings(shifted).drifted


def test_larger_photos_of_the_same_digits_are_not_drift_by_size(digits_detector) -> None:
    """The shipped samples were flagged on width and height: the model resizes every image.

    (The model input itself may still differ: a photo resampled to 28×28 is crisper than
    scikit-learn's 8×8 scans blown up to 28×28, and that is a real difference the model sees.)
    """
    detector, held_out, _ = digits_detector
    photos = [img.resize((280, 280), Image.Resampling.BICUBIC) for img in held_out]
    report = detector.compare_stats(photos)
    assert set(report.features["column"]) == {"input_brightness", "input_contrast", "input_sharpness"}
    assert not {"width", "height"} & set(report.drifted)
