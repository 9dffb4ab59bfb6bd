"""`python -m core register-keras`: a user's own Keras classifier becomes a servable version."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import names
from core.config import Settings
from core.registry.facade import Registry
from core.runtime.classify import classify_images
from core.runtime.handles import load_handle
from tests.helpers import run_cli_in_process

ROOT = Path(__file__).resolve().parents[2]
LABELS = ["red", "green", "blue"]


@pytest.fixture(scope="module")
def colour_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny RGB classifier trained here to tell red, green and blue squares apart."""
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 0.3, size=(300, 32, 32, 3)).astype("float32")
    y = np.repeat(np.arange(3), 100)
    x[np.arange(300), :, :, y] += 0.7
    model = keras.Sequential(
        [keras.Input((32, 32, 3)), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=30, verbose=0)
    path = tmp_path_factory.mktemp("user") / "colours.keras"
    model.save(path)
    (path.parent / "labels.txt").write_text("\n".join(LABELS) + "\n")
    return path


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, names.ENV_HOME: str(home), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "core", "register-keras", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )


def _cli_here(capsys: pytest.CaptureFixture[str], *args: str) -> subprocess.CompletedProcess:
    """The refusals need no interpreter of their own (the real command runs in test_register_then_classify)."""
    return run_cli_in_process(capsys, "register-keras", *args)


def _png(rgb: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), rgb).save(buf, "PNG")
    return buf.getvalue()


def test_register_then_classify(colour_model: Path, bc_home: Settings) -> None:
    out = _cli(
        bc_home.home,
        str(colour_model),
        "--labels",
        str(colour_model.parent / "labels.txt"),
        "--input-size",
        "32",
        "--name",
        "colours",
    )
    assert out.returncode == 0, out.stderr
    assert "registered colours v1 (champion)" in out.stdout
    registry = Registry.from_settings(bc_home)
    version = registry.get_version("colours", 1)
    assert version.tags[names.TAG_FLAVOR] == "keras"
    handle = load_handle(bc_home.tracking_uri, "colours", 1)
    assert handle.kind == "image" and handle.classes == LABELS and handle.input_spec.height == 32
    results = classify_images(handle, [("r.png", _png((230, 20, 20))), ("b.png", _png((10, 20, 240)))])
    assert [r.top_k(1)[0][0] for r in results] == ["red", "blue"]
    # No training pictures were logged: the out-of-distribution check says it is off instead of guessing.
    assert handle.ood is None and "no ood_reference.npz and no reference pictures" in handle.ood_reason
    assert all(r.ood_score is None and not r.unlike_training for r in results)

    # No reference images were registered: explanations fall back to integrated gradients.
    from core.analysis.explain import explainer_for
    from core.registry.reference import load_version_frame

    explainer = explainer_for(handle, lambda m, v: load_version_frame(registry, m, v, "reference"))
    assert explainer.method == "integrated-gradients" and "no reference images" in explainer.fallback_reason
    (expl,) = explainer.explain(results[0].model_input[None])
    assert expl.classes[expl.top_class] == "red"
    # red pixels push "red" up: the red channel carries the attribution
    assert expl.values[..., 0, 0].sum() > abs(expl.values[..., 1:, 0].sum())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--input-size", "64"], "expects height 32, but 64 was given"),
        (["--input-size", "32", "--channels", "1"], "expects channels 3, but 1 was given"),
        (["--input-size", "abc"], "expected a size like 224"),
    ],
)
def test_register_refuses_a_mismatched_spec(
    colour_model: Path, empty_home: Settings, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    out = _cli_here(capsys, str(colour_model), "--labels", str(colour_model.parent / "labels.txt"), *args)
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr


def test_register_refuses_wrong_labels_and_files(
    colour_model: Path, empty_home: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    two = tmp_path / "two.txt"
    two.write_text("a\nb\n")
    out = _cli_here(capsys, str(colour_model), "--labels", str(two), "--input-size", "32")
    assert out.returncode == 2 and "has 3 outputs but two.txt has 2 labels" in out.stderr
    missing = _cli_here(capsys, str(tmp_path / "nope.keras"), "--labels", str(two), "--input-size", "32")
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    h5 = tmp_path / "model.h5"
    h5.write_bytes(b"x")
    legacy = _cli_here(capsys, str(h5), "--labels", str(two), "--input-size", "32")
    assert legacy.returncode == 2 and "expected a native Keras file" in legacy.stderr
    assert Registry.from_settings(empty_home).list_models() == []  # nothing was registered
