"""Edge export: TFLite builds of a registered Keras version, each with a report card.

Modes (the official converter's): ``float32`` (no optimisation), ``dynamic-range`` (int8
weights, float activations), ``float16`` (float16 weights) and ``int8`` (full-integer, with
representative data from the version's reference images; optional int8 input/output).

Each build is measured in the same run against the Keras model it came from (size, one-image
latency, held-out accuracy, top-1 agreement, per-class accuracy change) and gated on the
accuracy drop. Builds are stored on the version's run under ``tflite/<key>/`` (``model.tflite``
and ``report.json``) and only then tagged ``modelops.tflite.<key>`` on the version, so a
failed upload never leaves a build that looks registered. Exporting the same version and
mode again reuses the stored build.
"""

from __future__ import annotations

import json
import logging
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ExportError, InvalidInputError
from core.names import TARGET
from core.registry.reference import load_version_frame
from core.runtime.handles import ModelHandle
from core.runtime.inputs import reference_tensor
from core.runtime.tflite import (
    ARTIFACT_DIR,
    DEFAULT_MAX_DROP,
    TAG_PREFIX,
    Build,
    BuildReport,
    TFLiteModel,
    build_key,
    normalise_mode,
    stored_build,
)

log = logging.getLogger(__name__)

REPRESENTATIVE_IMAGES = 200
LATENCY_CALLS = 200


def convert(model: Any, mode: str, representative: np.ndarray | None = None, int8_io: bool = False) -> bytes:
    """Convert a Keras model to TFLite in ``mode``.

    Keras 3 path: ``from_keras_model`` first; if it fails, export a SavedModel and convert
    from that.

    Raises:
        InvalidInputError: ``int8`` without representative data.
        ExportError: both conversion paths failed.
    """
    import tensorflow as tf

    mode = normalise_mode(mode)
    if mode == "int8" and (representative is None or not len(representative)):
        raise InvalidInputError("full-integer (int8) export needs representative images from the reference data")

    def configure(converter: Any) -> bytes:
        if mode != "float32":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if mode == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if mode == "int8":
            samples = np.asarray(representative, dtype="float32")

            def dataset() -> Any:
                for i in range(len(samples)):
                    yield [samples[i : i + 1]]

            converter.representative_dataset = dataset
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            if int8_io:
                converter.inference_input_type = tf.int8
                converter.inference_output_type = tf.int8
        return converter.convert()

    try:
        return configure(tf.lite.TFLiteConverter.from_keras_model(model))
    except Exception as first:
        log.info("from_keras_model failed (%s); converting from a SavedModel", first)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                model.export(tmp, verbose=False)
                return configure(tf.lite.TFLiteConverter.from_saved_model(tmp))
        except Exception as second:
            raise ExportError(
                f"conversion to {mode} failed: from the Keras model ({type(first).__name__}: {first}); "
                f"from a SavedModel ({type(second).__name__}: {second})"
            ) from second


def measure(
    handle: ModelHandle,
    content: bytes,
    mode: str,
    int8_io: bool,
    images: np.ndarray,
    labels: np.ndarray,
    keras_bytes: int,
    max_accuracy_drop: float = DEFAULT_MAX_DROP,
    latency_calls: int = LATENCY_CALLS,
) -> BuildReport:
    """The report card of one build: everything measured here, against the Keras model."""
    tflite = TFLiteModel(content)
    keras_proba = handle.predict_images(images)
    tflite_proba = tflite(images)
    classes = list(handle.classes)
    unknown = sorted({str(v) for v in labels} - set(classes))
    if unknown:
        raise InvalidInputError(f"held-out labels {unknown[:5]} are not among the model's classes {classes}")
    truth = np.asarray([classes.index(str(v)) for v in labels])
    keras_top, tflite_top = keras_proba.argmax(axis=1), tflite_proba.argmax(axis=1)
    per_class = {}
    for k, name in enumerate(classes):
        mask = truth == k
        if mask.any():
            per_class[name] = round(100.0 * float((tflite_top[mask] == k).mean() - (keras_top[mask] == k).mean()), 3)
    one = images[:1]
    # Against what the service runs for Keras (the compiled graph of handle.predict_images), not an
    # eager call, which costs several times more and would flatter LiteRT.
    for _ in range(5):  # warm both
        tflite(one)
        handle.predict_images(one)
    tflite_ms = _median_ms(lambda: tflite(one), latency_calls)
    keras_ms = _median_ms(lambda: handle.predict_images(one), latency_calls)
    report = BuildReport(
        model=handle.model_name,
        version=handle.version,
        mode=mode,
        int8_io=bool(int8_io and mode == "int8"),
        size_bytes=len(content),
        keras_bytes=keras_bytes,
        tflite_ms=tflite_ms,
        keras_ms=keras_ms,
        accuracy=float((tflite_top == truth).mean()),
        keras_accuracy=float((keras_top == truth).mean()),
        agreement=float((tflite_top == keras_top).mean()),
        max_probability_diff=float(np.abs(tflite_proba - keras_proba).max()),
        per_class_change=per_class,
        holdout_images=len(images),
    )
    return report.gated(max_accuracy_drop)


def _median_ms(fn: Callable[[], Any], calls: int) -> float:
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return 1000.0 * statistics.median(times)


def export_version(
    registry: Any,
    handle: ModelHandle,
    modes: Sequence[str],
    *,
    int8_io: bool = False,
    max_accuracy_drop: float = DEFAULT_MAX_DROP,
    progress: Callable[[str, float], None] | None = None,
) -> list[Build]:
    """Convert, measure, register (or reuse) one build per mode of a loaded Keras version.

    ``progress(text, fraction)`` reports each step.

    Raises:
        InvalidInputError: not a Keras image model, no reference/held-out data, unknown mode.
        ExportError: a conversion failed (builds of earlier modes stay registered).
    """

    if handle.kind != "image":
        raise InvalidInputError(
            f"{handle.model_name} v{handle.version} is a tabular scikit-learn model; TFLite export is for Keras "
            "image models (scikit-learn versions are compiled to ONNX instead: python -m core compile)"
        )
    if handle.runtime != "keras":
        raise InvalidInputError(f"export needs the Keras model itself, not a {handle.runtime} handle")
    wanted = list(dict.fromkeys(normalise_mode(m) for m in modes))
    if not wanted:
        raise InvalidInputError("choose at least one export mode")
    say = progress or (lambda _text, _fraction: None)
    model, version = handle.model_name, handle.version
    say("reading the version's reference and held-out images", 0.0)
    reference = load_version_frame(registry, model, version, "reference")
    holdout = load_version_frame(registry, model, version, "holdout")
    representative = reference_tensor(reference, handle)
    representative = representative[
        np.random.default_rng(0).choice(len(representative), min(REPRESENTATIVE_IMAGES, len(representative)), False)
    ]
    images, labels = reference_tensor(holdout, handle), holdout[TARGET].astype(str).to_numpy()
    keras_bytes = _keras_size(registry, model, version)
    builds = []
    for i, mode in enumerate(wanted):
        key = build_key(mode, int8_io)
        base = i / len(wanted)
        existing = stored_build(registry.tracking_uri, model, version, key)
        if existing is not None:
            say(f"{key}: reusing the stored build", base + 0.9 / len(wanted))
            report = existing.report.gated(max_accuracy_drop)
            if report.max_accuracy_drop != existing.report.max_accuracy_drop:
                _tag(registry, report)  # the gate decision follows the limit asked for now
            builds.append(Build(report=report, path=existing.path, reused=True))
            continue
        say(f"{key}: converting", base + 0.1 / len(wanted))
        content = convert(handle.model, mode, representative, int8_io)
        say(f"{key}: measuring on {len(images)} held-out images", base + 0.5 / len(wanted))
        report = measure(handle, content, mode, int8_io, images, labels, keras_bytes, max_accuracy_drop)
        say(f"{key}: registering", base + 0.9 / len(wanted))
        builds.append(_register(registry, report, content))
    say("done", 1.0)
    return builds


def _keras_size(registry: Any, model: str, version: int) -> int:
    from mlflow.artifacts import download_artifacts

    base = registry.client.get_model_version_download_uri(model, str(version))  # this registry, not the default
    local = Path(download_artifacts(artifact_uri=base, tracking_uri=registry.tracking_uri))
    files = sorted(local.glob("data/*.keras"))
    return files[0].stat().st_size if files else 0


def _register(registry: Any, report: BuildReport, content: bytes) -> Build:
    """Upload the build and its report together, then tag the version (the tag is the commit)."""
    info = registry.client.get_model_version(report.model, str(report.version))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "model.tflite").write_bytes(content)
        (folder / "report.json").write_text(report.to_json())
        registry.client.log_artifacts(info.run_id, str(folder), artifact_path=f"{ARTIFACT_DIR}/{report.key}")
    _tag(registry, report)
    stored = stored_build(registry.tracking_uri, report.model, report.version, report.key)
    assert stored is not None
    return Build(report=report, path=stored.path, reused=False)


def _tag(registry: Any, report: BuildReport) -> None:
    registry.client.set_model_version_tag(
        report.model, str(report.version), TAG_PREFIX + report.key, json.dumps(report.summary())
    )
