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
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InvalidInputError, ModelOpsError
from core.handles import ModelHandle

log = logging.getLogger(__name__)

MODES = ("float32", "dynamic-range", "float16", "int8")
MODE_ALIASES = {"fp32": "float32", "dynamic": "dynamic-range", "fp16": "float16", "full-integer": "int8"}
ARTIFACT_DIR = "tflite"
TAG_PREFIX = "modelops.tflite."
DEFAULT_MAX_DROP = 1.0  # accuracy points
REPRESENTATIVE_IMAGES = 200
LATENCY_CALLS = 200


class ExportError(ModelOpsError):
    """A conversion or its measurement failed; nothing was registered."""


def normalise_mode(mode: str) -> str:
    """The canonical mode name for ``mode`` (accepts ``dynamic``, ``fp16``, ...).

    Raises:
        InvalidInputError: an unknown mode.
    """
    canonical = MODE_ALIASES.get(mode.strip().lower(), mode.strip().lower())
    if canonical not in MODES:
        raise InvalidInputError(f"unknown export mode {mode!r}; choose from {', '.join(MODES)}")
    return canonical


def build_key(mode: str, int8_io: bool = False) -> str:
    """Where a build lives: the mode, plus ``-int8io`` for full-integer builds with int8 I/O."""
    return f"{mode}-int8io" if mode == "int8" and int8_io else mode


@dataclass
class BuildReport:
    """The report card of one TFLite build against its Keras model (same run, same images)."""

    model: str
    version: int
    mode: str
    int8_io: bool
    size_bytes: int
    keras_bytes: int
    tflite_ms: float
    keras_ms: float
    accuracy: float
    keras_accuracy: float
    agreement: float
    max_probability_diff: float
    per_class_change: dict[str, float]
    holdout_images: int
    max_accuracy_drop: float = DEFAULT_MAX_DROP
    accepted: bool = True
    reason: str = ""
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def key(self) -> str:
        """The build's key (see :func:`build_key`)."""
        return build_key(self.mode, self.int8_io)

    @property
    def size_ratio(self) -> float:
        """TFLite file size over the Keras file size."""
        return self.size_bytes / self.keras_bytes if self.keras_bytes else float("nan")

    @property
    def latency_ratio(self) -> float:
        """LiteRT latency over the direct Keras call's latency (below 1 = faster)."""
        return self.tflite_ms / self.keras_ms if self.keras_ms else float("nan")

    @property
    def accuracy_change(self) -> float:
        """Held-out accuracy change in points (negative = worse than Keras)."""
        return 100.0 * (self.accuracy - self.keras_accuracy)

    def gated(self, max_accuracy_drop: float) -> BuildReport:
        """The same report judged against ``max_accuracy_drop`` points."""
        drop = -self.accuracy_change
        accepted = drop <= max_accuracy_drop + 1e-9
        reason = (
            f"accuracy {self.accuracy_change:+.2f} points is within the allowed drop of {max_accuracy_drop:g}"
            if accepted
            else f"rejected: accuracy dropped {drop:.2f} points, more than the allowed {max_accuracy_drop:g}"
        )
        return replace(self, max_accuracy_drop=max_accuracy_drop, accepted=accepted, reason=reason)

    def to_json(self) -> str:
        """The report as JSON (``report.json`` next to the build)."""
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> BuildReport:
        """Parse :meth:`to_json` output."""
        return cls(**json.loads(text))

    def summary(self) -> dict[str, Any]:
        """The headline numbers, stored as the version tag."""
        return {
            "accepted": self.accepted,
            "size_bytes": self.size_bytes,
            "size_ratio": round(self.size_ratio, 4),
            "accuracy_change": round(self.accuracy_change, 3),
            "agreement": round(self.agreement, 4),
            "latency_ratio": round(self.latency_ratio, 3),
            "max_accuracy_drop": self.max_accuracy_drop,
        }


@dataclass
class Build:
    """A stored build: its report and where its file is on this machine."""

    report: BuildReport
    path: Path
    reused: bool

    def read_bytes(self) -> bytes:
        """The ``.tflite`` file's content."""
        return self.path.read_bytes()


class TFLiteModel:
    """A TFLite build in the LiteRT interpreter, called like the Keras model (float in, float out)."""

    def __init__(self, content: bytes) -> None:
        from ai_edge_litert.interpreter import Interpreter

        try:
            self._interpreter = Interpreter(model_content=content)
            self._interpreter.allocate_tensors()
        except Exception as exc:
            raise ExportError(f"the TFLite build does not load in LiteRT: {exc}") from exc
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        self._lock = threading.Lock()

    @property
    def input_dtype(self) -> Any:
        """The build's input tensor type (float32, or int8 for int8 I/O)."""
        return self._input["dtype"]

    def __call__(self, batch: Any) -> np.ndarray:
        """Class probabilities for a batch of model-space images, one interpreter call per image."""
        x = np.asarray(batch, dtype="float32")
        out = np.empty((len(x), int(self._output["shape"][-1])), dtype="float64")
        with self._lock:
            for i in range(len(x)):
                self._interpreter.set_tensor(self._input["index"], self._quantise(x[i : i + 1]))
                self._interpreter.invoke()
                out[i] = self._dequantise(self._interpreter.get_tensor(self._output["index"]))[0]
        return out

    def _quantise(self, x: np.ndarray) -> np.ndarray:
        dtype = self._input["dtype"]
        if dtype == np.float32:
            return x
        scale, zero = self._input["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)

    def _dequantise(self, y: np.ndarray) -> np.ndarray:
        if self._output["dtype"] == np.float32:
            return y.astype("float64")
        scale, zero = self._output["quantization"]
        return (y.astype("float64") - zero) * scale


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
    for _ in range(5):  # warm both
        tflite(one)
        handle.model(one, training=False)
    tflite_ms = _median_ms(lambda: tflite(one), latency_calls)
    keras_ms = _median_ms(lambda: handle.model(one, training=False), max(latency_calls // 4, 10))
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


def list_builds(registry: Any, model: str, version: int) -> dict[str, dict[str, Any]]:
    """Stored builds of a version from its tags: key → summary (accepted, size, accuracy change...).

    ``registry`` is anything with an MLflow ``client`` and a ``tracking_uri`` (a :class:`Registry`).
    """
    return _builds_in(registry.client.get_model_version(model, str(version)).tags)


def _builds_in(tags: dict[str, str] | None) -> dict[str, dict[str, Any]]:
    builds = {}
    for tag, value in (tags or {}).items():
        if tag.startswith(TAG_PREFIX):
            try:
                builds[tag[len(TAG_PREFIX) :]] = json.loads(value)
            except ValueError:
                continue
    return builds


def stored_build(registry: Any, model: str, version: int, key: str) -> Build | None:
    """The registered build ``key`` of a version, downloaded, or ``None`` if there is none."""
    from mlflow.artifacts import download_artifacts

    info = registry.client.get_model_version(model, str(version))
    summary = _builds_in(info.tags).get(key)
    if summary is None:
        return None
    local = Path(
        download_artifacts(
            run_id=info.run_id, artifact_path=f"{ARTIFACT_DIR}/{key}", tracking_uri=registry.tracking_uri
        )
    )
    report = BuildReport.from_json((local / "report.json").read_text())
    # The tag holds the current decision (a re-export may have judged the build against a new limit).
    limit = summary.get("max_accuracy_drop", report.max_accuracy_drop)
    return Build(report=report.gated(float(limit)), path=local / "model.tflite", reused=True)


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
    from core.explain import reference_tensor
    from core.reference import TARGET, load_version_frame

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
        existing = stored_build(registry, model, version, key)
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

    local = Path(download_artifacts(artifact_uri=f"models:/{model}/{version}", tracking_uri=registry.tracking_uri))
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
    stored = stored_build(registry, report.model, report.version, report.key)
    assert stored is not None
    return Build(report=report, path=stored.path, reused=False)


def _tag(registry: Any, report: BuildReport) -> None:
    registry.client.set_model_version_tag(
        report.model, str(report.version), TAG_PREFIX + report.key, json.dumps(report.summary())
    )


def report_frame(reports: Sequence[BuildReport]) -> Any:
    """The report card as a table: one row per build."""
    import pandas as pd

    rows = [
        {
            "build": r.key,
            "size (KiB)": round(r.size_bytes / 1024, 1),
            "size vs Keras": round(r.size_ratio, 3),
            "LiteRT (ms)": round(r.tflite_ms, 3),
            "Keras call (ms)": round(r.keras_ms, 3),
            "latency ratio": round(r.latency_ratio, 3),
            "accuracy": round(r.accuracy, 4),
            "change (points)": round(r.accuracy_change, 2),
            "top-1 agreement": round(r.agreement, 4),
            "max prob diff": float(f"{r.max_probability_diff:.3g}"),
            "gate": "accepted" if r.accepted else "rejected",
            "reason": r.reason,
        }
        for r in reports
    ]
    return pd.DataFrame(rows)


def per_class_frame(reports: Sequence[BuildReport]) -> Any:
    """Per-class accuracy change in points: one row per class, one column per build."""
    import pandas as pd

    return pd.DataFrame({r.key: r.per_class_change for r in reports}).rename_axis("class").reset_index()


def builds_frame(versions: Sequence[Any]) -> Any:
    """Every stored build of the given versions (``VersionInfo``-like, with ``tags``), from their tags."""
    import pandas as pd

    rows = []
    for v in versions:
        for key, summary in sorted(_builds_in(v.tags).items()):
            rows.append(
                {
                    "version": v.version,
                    "build": key,
                    "gate": "accepted" if summary.get("accepted") else "rejected",
                    "size (KiB)": round(summary.get("size_bytes", 0) / 1024, 1),
                    "size vs Keras": summary.get("size_ratio"),
                    "accuracy change (points)": summary.get("accuracy_change"),
                    "top-1 agreement": summary.get("agreement"),
                    "latency ratio": summary.get("latency_ratio"),
                }
            )
    columns = [
        "version",
        "build",
        "gate",
        "size (KiB)",
        "size vs Keras",
        "accuracy change (points)",
        "top-1 agreement",
        "latency ratio",
    ]
    return pd.DataFrame(rows, columns=columns)
