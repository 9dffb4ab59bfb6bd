"""TFLite export: every mode against the Keras model, int8 I/O, the gate, reuse, registry, CLI, serving."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core import names
from core.config import Settings
from core.edge.export import export_version
from core.edge.reports import builds_frame
from core.errors import ExportError, InvalidInputError
from core.registry.facade import Registry
from core.registry.reference import load_version_frame
from core.runtime.handles import load_handle
from core.runtime.inputs import reference_tensor
from core.runtime.tflite import TAG_PREFIX, TFLiteModel, list_builds, stored_build
from tests.conftest import _point_env_at, copy_home
from tests.helpers import run_cli_in_process

ROOT = Path(__file__).resolve().parents[2]
# Largest probability difference from Keras on held-out images, per mode.
TOLERANCE = {"float32": 1e-4, "float16": 5e-3, "dynamic-range": 0.05, "int8": 0.1}


class Exported:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.registry = Registry.from_settings(settings)
        self.handle = load_handle(settings.tracking_uri, names.DIGITS, 2)
        modes = ["float32", "dynamic", "float16", "int8"]
        self.builds = {b.report.key: b for b in export_version(self.registry, self.handle, modes)}
        holdout = load_version_frame(self.registry, names.DIGITS, 2, "holdout")
        self.images = reference_tensor(holdout.iloc[:150], self.handle)


@pytest.fixture(scope="module")
def exported(digits_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exported]:
    """A private copy of breast-cancer and digits with the four builds of digits v2 exported once."""
    home = copy_home(digits_template, tmp_path_factory.mktemp("export") / "home")
    with pytest.MonkeyPatch.context() as mp:
        yield Exported(_point_env_at(home, mp))


@pytest.mark.parametrize("key", ["float32", "dynamic-range", "float16", "int8"])
def test_each_mode_matches_the_keras_model_on_held_out_images(exported: Exported, key: str) -> None:
    build = exported.builds[key]
    report = build.report
    assert not build.reused and report.accepted
    tflite = TFLiteModel(build.read_bytes())
    keras = exported.handle.predict_images(exported.images)
    ours = tflite(exported.images)
    assert np.abs(ours - keras).max() < TOLERANCE[key]
    assert (ours.argmax(1) == keras.argmax(1)).mean() >= 0.98
    # the report card's numbers are real measurements on the whole held-out set
    assert report.holdout_images == 450 and report.agreement >= 0.98
    assert abs(report.accuracy_change) <= 1.0 and set(report.per_class_change) == {str(d) for d in range(10)}
    # measured on the held-out images as served (normalised): the card said 78% for a 93% model
    logged = exported.registry.get_version(names.DIGITS, exported.handle.version).metrics["accuracy"]
    assert abs(report.accuracy - logged) <= 0.01, (report.accuracy, logged)
    assert report.tflite_ms > 0 and report.keras_ms > 0 and report.size_bytes == len(build.read_bytes())


def test_sizes_tags_and_registry_listing(exported: Exported) -> None:
    sizes = {k: b.report.size_bytes for k, b in exported.builds.items()}
    assert sizes["dynamic-range"] <= 0.30 * sizes["float32"]
    assert sizes["float16"] < 0.6 * sizes["float32"]
    tags = list_builds(exported.registry.tracking_uri, names.DIGITS, 2)
    assert set(tags) == {"float32", "dynamic-range", "float16", "int8"}
    assert all(t["accepted"] for t in tags.values())
    frame = builds_frame(exported.registry.list_versions(names.DIGITS))
    assert sorted(frame["build"]) == sorted(tags) and set(frame["version"]) == {2}


def test_int8_io_takes_integer_tensors(exported: Exported) -> None:
    (build,) = export_version(exported.registry, exported.handle, ["int8"], int8_io=True)
    assert build.report.key == "int8-int8io" and build.report.int8_io
    tflite = TFLiteModel(build.read_bytes())
    assert tflite.input_dtype == np.int8
    keras = exported.handle.predict_images(exported.images)
    assert (tflite(exported.images).argmax(1) == keras.argmax(1)).mean() >= 0.98
    assert build.report.accuracy_change >= -1.0


def test_reexport_reuses_the_stored_build(exported: Exported) -> None:
    before = exported.builds["int8"].read_bytes()
    (again,) = export_version(exported.registry, exported.handle, ["int8"])
    assert again.reused and again.read_bytes() == before


def test_gate_rejects_when_the_limit_is_tight(exported: Exported) -> None:
    # The demo CNN loses nothing to quantization, so "tight" here demands a gain of half a point.
    (build,) = export_version(exported.registry, exported.handle, ["float16"], max_accuracy_drop=-0.5)
    assert build.reused and not build.report.accepted
    assert "rejected: accuracy dropped" in build.report.reason
    assert list_builds(exported.registry.tracking_uri, names.DIGITS, 2)["float16"]["accepted"] is False
    # The service then keeps Keras for a model configured to serve float16, and says why.
    handle = load_handle(exported.settings.tracking_uri, names.DIGITS, 2, tflite="float16")
    assert handle.runtime == "keras" and "rejected" in handle.runtime_reason
    (back,) = export_version(exported.registry, exported.handle, ["float16"], max_accuracy_drop=1.0)
    assert back.report.accepted


def test_serving_from_an_accepted_build(exported: Exported) -> None:
    handle = load_handle(exported.settings.tracking_uri, names.DIGITS, 2, tflite="int8")
    assert handle.runtime == "litert-int8"
    keras = exported.handle.predict_images(exported.images)
    assert (handle.predict_images(exported.images).argmax(1) == keras.argmax(1)).mean() >= 0.98
    missing = load_handle(exported.settings.tracking_uri, names.DIGITS, 1, tflite="int8")
    assert missing.runtime == "keras" and "no int8 TFLite build registered" in missing.runtime_reason


def test_bad_input_registers_nothing(exported: Exported, monkeypatch: pytest.MonkeyPatch) -> None:
    registry = exported.registry
    tabular = load_handle(exported.settings.tracking_uri, names.BREAST_CANCER, 3)
    with pytest.raises(InvalidInputError, match="tabular scikit-learn model; TFLite export is for Keras"):
        export_version(registry, tabular, ["int8"])
    with pytest.raises(InvalidInputError, match="unknown export mode 'int4'"):
        export_version(registry, exported.handle, ["int4"])

    import tensorflow as tf

    v1 = load_handle(exported.settings.tracking_uri, names.DIGITS, 1)

    def refuse(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("unsupported op")

    # A conversion that fails both ways: a clear error, and no build of v1 is registered.
    monkeypatch.setattr(tf.lite.TFLiteConverter, "from_keras_model", refuse)
    monkeypatch.setattr(tf.lite.TFLiteConverter, "from_saved_model", refuse)
    with pytest.raises(ExportError, match=r"conversion to float16 failed: from the Keras model .*unsupported op"):
        export_version(registry, v1, ["float16"])
    assert list_builds(registry.tracking_uri, names.DIGITS, 1) == {}
    assert stored_build(registry.tracking_uri, names.DIGITS, 1, "float16") is None


def test_keras3_fallback_through_a_saved_model(exported: Exported, monkeypatch: pytest.MonkeyPatch) -> None:
    import tensorflow as tf

    def refuse(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("from_keras_model is broken for this Keras")

    monkeypatch.setattr(tf.lite.TFLiteConverter, "from_keras_model", refuse)
    v1 = load_handle(exported.settings.tracking_uri, names.DIGITS, 1)
    (build,) = export_version(exported.registry, v1, ["dynamic"])
    assert not build.reused and build.report.agreement >= 0.98
    assert TAG_PREFIX + "dynamic-range" in exported.registry.get_version(names.DIGITS, 1).tags


def test_a_version_without_reference_data_is_refused(exported: Exported) -> None:
    import mlflow

    from core.flavors import keras_model
    from core.registry.registration import configure_mlflow

    # The same CNN registered without its reference and held-out frames.
    experiment = configure_mlflow(exported.settings)
    with mlflow.start_run(experiment_id=experiment):
        info = keras_model.log_model(
            exported.handle.model, exported.handle.input_spec, registered_model_name="digits-bare"
        )
    bare = load_handle(exported.settings.tracking_uri, "digits-bare", int(info.registered_model_version))
    with pytest.raises(InvalidInputError, match="has no reference data"):
        export_version(exported.registry, bare, ["float32", "int8"])
    assert list_builds(exported.registry.tracking_uri, "digits-bare", bare.version) == {}


def test_cli_export_writes_the_file_and_fails_on_a_rejected_build(
    exported: Exported, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {**os.environ, names.ENV_HOME: str(exported.settings.home), "TF_CPP_MIN_LOG_LEVEL": "3"}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "core", "export", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=300,
        )

    out = cli("--model", "digits", "--version", "2", "--mode", "int8", "--output", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "int8: reused the stored build" in out.stdout
    written = tmp_path / "digits-v2-int8.tflite"
    assert written.read_bytes() == exported.builds["int8"].read_bytes()
    TFLiteModel(written.read_bytes())  # loads in LiteRT

    # The other answers need no interpreter of their own (TensorFlow is loaded here already).
    rejected = run_cli_in_process(
        capsys, "export", "--model", "digits", "--version", "2", "--mode", "float32", "--max-accuracy-drop", "-0.5"
    )
    assert rejected.returncode == 1 and "rejected" in rejected.stdout
    tabular = run_cli_in_process(capsys, "export", "--model", "breast-cancer", "--version", "3", "--mode", "int8")
    assert tabular.returncode == 2 and "error: breast-cancer v3 is a tabular scikit-learn model" in tabular.stderr
