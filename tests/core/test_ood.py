"""The out-of-distribution check on the digits champion: non-digits flagged, held-out digits not.

Digits are the second half of the held-out scans (the demo sets its threshold on the first half),
drawn by :mod:`tests.pictures` — photos on uneven paper, white-on-black and plain scans — and sent
through the same :func:`~core.runtime.classify.classify_images` the page and the API use.
Non-digits: landscapes, noise, printed letters, geometric shapes.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import names
from core.config import Settings
from core.demo.datasets import digits_images
from core.runtime.classify import classify_images, results_frame
from core.runtime.handles import ModelHandle, load_handle
from core.runtime.ood import OodReference, calibrate
from tests.pictures import non_digits, photo, white_on_black

PER_STYLE = 100
PER_KIND = 40


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()


def _flagged(handle: ModelHandle, pictures: list[Image.Image]) -> np.ndarray:
    results = classify_images(handle, [(f"p{i}.png", _png(p)) for i, p in enumerate(pictures)])
    assert all(r.ok and r.ood_score is not None for r in results)
    return np.array([r.unlike_training for r in results])


@pytest.fixture(scope="module")
def champion(digits_template: Path) -> ModelHandle:
    settings = Settings.from_env({names.ENV_HOME: str(digits_template)})
    return load_handle(settings.tracking_uri, names.DIGITS, 2)


def test_non_digits_are_flagged_and_held_out_digits_are_not(champion: ModelHandle) -> None:
    assert champion.ood is not None and "held-out pictures" in champion.ood_reason
    _, scans, _, _ = digits_images()
    unseen = scans[len(scans) // 2 :]  # the threshold was set on the first half
    rng = np.random.default_rng(2027)
    pick = rng.choice(len(unseen), PER_STYLE, replace=False)
    digits = {
        "photo": [photo(unseen[i], rng) for i in pick],
        "white-on-black": [white_on_black(unseen[i], rng) for i in pick],
        "scan": [Image.fromarray(255 - unseen[i]) for i in pick],
    }
    digit_flags = {style: _flagged(champion, pictures) for style, pictures in digits.items()}
    other_flags = {kind: _flagged(champion, pictures) for kind, pictures in non_digits(rng, PER_KIND).items()}
    print({k: f"{v.mean():.1%}" for k, v in {**digit_flags, **other_flags}.items()})
    assert np.concatenate(list(digit_flags.values())).mean() <= 0.05
    assert np.concatenate(list(other_flags.values())).mean() >= 0.95
    assert all(v.mean() <= 0.10 for v in digit_flags.values())  # no style of real digit is left out
    assert all(v.mean() >= 0.85 for v in other_flags.values())  # nor a kind of non-digit let through


def test_the_table_and_the_scores_say_which_pictures_are_unlike_training(champion: ModelHandle) -> None:
    scene = non_digits(np.random.default_rng(4), 1)["landscape"][0]
    _, scans, _, _ = digits_images()
    seven = Image.fromarray(255 - scans[-1])
    results = classify_images(champion, [("scene.jpg", _png(scene)), ("seven.png", _png(seven))])
    table = results_frame(results)
    assert table["unlike training"].tolist() == [True, False]
    assert table["ood score"].iloc[0] > 1 > table["ood score"].iloc[1]


def test_a_version_logged_without_a_pool_builds_one_from_its_reference_pictures(digits_home: Settings) -> None:
    """Versions registered before the check existed (or by other code that logged reference pictures)."""
    removed = [p for p in digits_home.artifact_root.rglob(names.OOD_REFERENCE_FILE)]
    assert removed
    for path in removed:
        path.unlink()
    handle = load_handle(digits_home.tracking_uri, names.DIGITS, 2)
    assert handle.ood is not None and "built on load from the reference pictures" in handle.ood_reason
    scene, letter = (non_digits(np.random.default_rng(5), 1)[k][0] for k in ("landscape", "letter"))
    _, scans, _, _ = digits_images()
    flags = _flagged(handle, [scene, letter, *(Image.fromarray(255 - s) for s in scans[-20:])])
    assert flags[0] and flags[1] and flags[2:].mean() <= 0.15


def test_the_reference_round_trips_and_its_threshold_is_the_held_out_quantile() -> None:
    rng = np.random.default_rng(0)
    centre = rng.normal(size=16)
    training = centre + 0.1 * rng.normal(size=(500, 16))
    heldout = centre + 0.1 * rng.normal(size=(400, 16))
    reference = calibrate(training, heldout, pool_size=300, quantile=0.9)
    assert reference.pool.shape == (300, 16)
    assert np.mean(reference.scores(heldout) > 1) == pytest.approx(0.1, abs=0.01)
    far = -centre + 0.1 * rng.normal(size=(20, 16))
    assert (reference.scores(far) > 1).all()
    again = OodReference.from_bytes(reference.to_bytes())
    assert again.threshold == reference.threshold and again.k == reference.k
    np.testing.assert_allclose(again.scores(far), reference.scores(far), rtol=1e-6)
