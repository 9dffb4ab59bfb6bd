"""TFLite builds at run time: build keys, stored builds and their report cards, the LiteRT runner.

What :mod:`core.edge.export` writes (``tflite/<key>/model.tflite`` + ``report.json`` on the
version's run, tagged ``modelops.tflite.<key>``) is read back here, by the service and the pages.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ExportError, InvalidInputError

MODES = ("float32", "dynamic-range", "float16", "int8")


MODE_ALIASES = {"fp32": "float32", "dynamic": "dynamic-range", "fp16": "float16", "full-integer": "int8"}


ARTIFACT_DIR = "tflite"


TAG_PREFIX = "modelops.tflite."


DEFAULT_MAX_DROP = 1.0  # accuracy points


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
        """LiteRT latency over the served Keras graph's latency (below 1 = faster)."""
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


def list_builds(tracking_uri: str, model: str, version: int) -> dict[str, dict[str, Any]]:
    """Stored builds of a version from its tags: key → summary (accepted, size, accuracy change...)."""
    return builds_in_tags(_client(tracking_uri).get_model_version(model, str(version)).tags)


def builds_in_tags(tags: dict[str, str] | None) -> dict[str, dict[str, Any]]:
    """The build summaries held in a version's ``modelops.tflite.<key>`` tags, by key."""
    builds = {}
    for tag, value in (tags or {}).items():
        if tag.startswith(TAG_PREFIX):
            try:
                builds[tag[len(TAG_PREFIX) :]] = json.loads(value)
            except ValueError:
                continue
    return builds


def stored_build(tracking_uri: str, model: str, version: int, key: str) -> Build | None:
    """The registered build ``key`` of a version, downloaded, or ``None`` if there is none."""
    from mlflow.artifacts import download_artifacts

    info = _client(tracking_uri).get_model_version(model, str(version))
    summary = builds_in_tags(info.tags).get(key)
    if summary is None:
        return None
    local = Path(
        download_artifacts(run_id=info.run_id, artifact_path=f"{ARTIFACT_DIR}/{key}", tracking_uri=tracking_uri)
    )
    report = BuildReport.from_json((local / "report.json").read_text())
    # The tag holds the current decision (a re-export may have judged the build against a new limit).
    limit = summary.get("max_accuracy_drop", report.max_accuracy_drop)
    return Build(report=report.gated(float(limit)), path=local / "model.tflite", reused=True)


def _client(tracking_uri: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri, tracking_uri)
