"""A loaded, warmed model version ready to serve, and how one is loaded."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import names
from core.errors import InvalidInputError, UntrustedModelError
from core.flavors import pyfunc_model, sklearn_skops
from core.flavors.keras_model import InputSpec
from core.registry.reference import mlflow_reference, stored_class_names, stored_input_spec
from core.runtime.fast import forest_proba, onnx_proba
from core.runtime.inputs import frame_images
from core.runtime.ood import OodReference, calibrate, feature_extractor, features_in_batches, stored_reference
from core.runtime.tabular import (
    POSITIONAL,
    Column,
    estimator_columns,
    example_columns,
    output_types,
    positional_columns,
    probe_rows,
    signature_columns,
    typed_frame,
    with_known_categories,
)
from core.runtime.tflite import TFLiteModel, stored_build

CLASSIFICATION = "classification"
REGRESSION = "regression"


@dataclass
class ModelHandle:
    """One model version in memory.

    ``kind`` is ``"tabular"`` (scikit-learn, ``predict`` route) or ``"image"`` (Keras,
    ``classify`` route); ``task`` is ``"classification"`` or ``"regression"`` (a tabular model
    without ``predict_proba``). Handles are immutable once built; a swap replaces the handle.
    """

    model_name: str
    version: int
    kind: str
    runtime: str
    model: Any
    task: str = CLASSIFICATION
    columns: list[Column] = field(default_factory=list)
    classes: list[Any] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)  # display name of each class, in ``classes`` order
    input_spec: InputSpec | None = None
    loaded_at: float = field(default_factory=time.time)
    # Keras models are not safe to call from several threads at once on every backend.
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    fast_proba: Any = field(default=None, repr=False)
    runtime_reason: str = ""
    compiled: Any = field(default=None, repr=False)
    # Image models: the out-of-distribution check (core.runtime.ood), or why there is none.
    features: Any = field(default=None, repr=False)
    ood: OodReference | None = field(default=None, repr=False)
    ood_reason: str = ""

    def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
        """Class probabilities for each row of a feature matrix in signature order (tabular models)."""
        if self.fast_proba is not None:
            return self.fast_proba(matrix)
        return self.sklearn_proba(matrix)

    def score(self, matrix: np.ndarray) -> np.ndarray:
        """What the service computes per row: class probabilities, or ``(rows, 1)`` predictions of a regressor."""
        if self.task == REGRESSION:
            return self.predict_values(matrix)[:, None]
        return self.predict_proba(matrix)

    @property
    def positional(self) -> bool:
        """Columns taken by position (no signature, fitted on an array): the model gets the bare matrix."""
        return bool(self.columns) and self.columns[0].name.startswith(POSITIONAL)

    def predict_values(self, matrix: np.ndarray) -> np.ndarray:
        """A regressor's predictions, one per row."""
        frame = typed_frame(matrix, self.columns) if self.columns and not self.positional else matrix
        return np.asarray(self.model.predict(frame), dtype="float64").reshape(len(matrix))

    def sklearn_proba(self, matrix: np.ndarray) -> np.ndarray:
        """Probabilities from the estimator's own ``predict_proba``."""
        frame = typed_frame(matrix, self.columns) if self.columns and not self.positional else matrix
        return np.asarray(self.model.predict_proba(frame), dtype="float64")

    def predict_images(self, batch: np.ndarray) -> np.ndarray:
        """Class probabilities for a batch of preprocessed images (image models).

        Calls a compiled graph of the model: ``model.predict`` costs ~30 ms of overhead per
        call and even an eager ``model(x)`` ~3 ms; the graph ~0.5 ms for one digit image.
        """
        with self.lock:
            out = (self.compiled or self.model)(batch)
        return np.asarray(out, dtype="float64")

    def ood_scores(self, batch: np.ndarray) -> np.ndarray | None:
        """Out-of-distribution score of each preprocessed image (above 1: flagged); ``None`` without a check."""
        if self.ood is None or self.features is None:
            return None
        with self.lock:
            features = self.features(batch)
        return self.ood.scores(features)


def _positional(model: Any) -> list[Column]:
    """Columns by position for an estimator fitted on an array (``n_features_in_`` but no names), else none."""
    count = getattr(model, "n_features_in_", None)
    return positional_columns(int(count)) if isinstance(count, int | np.integer) and count > 0 else []


def load_handle(
    tracking_uri: str, model_name: str, version: int, tflite: str | None = None, *, trusted: bool = False
) -> ModelHandle:
    """Load, validate and warm one registered version.

    ``tflite`` names a TFLite build key (``int8``, ``float16``, ...): a Keras version with an
    accepted build of that key is served by LiteRT instead of Keras; otherwise Keras serves
    and ``runtime_reason`` says why. ``trusted``: an operator trusted the model
    (:mod:`core.store.trust`), so its pickled scikit-learn versions may load.

    Raises:
        UntrustedModelError: the artifact is not a format we load safely.
        InvalidInputError: the version has no flavor we can serve.
    """
    import mlflow
    import mlflow.artifacts
    import yaml

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    uri = f"models:/{model_name}/{version}"
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    mlmodel = yaml.safe_load((local / "MLmodel").read_text())
    flavors = mlmodel.get("flavors") or {}
    if "sklearn" in flavors:
        model = sklearn_skops.load_local(local, uri, allow_pickle=trusted, model_name=model_name)
        return _load_tabular(uri, model_name, version, local, tracking_uri, model, "sklearn")
    if "tensorflow" in flavors or "keras" in flavors:
        handle = _load_keras(model_name, version, local, tracking_uri)
        if tflite:
            _use_tflite(handle, tracking_uri, tflite)
        return handle
    if "python_function" in flavors:
        loaded = pyfunc_model.load_local(local, uri, trusted=trusted, model_name=model_name)
        return _load_tabular(uri, model_name, version, local, tracking_uri, loaded, "pyfunc")
    raise InvalidInputError(
        f"{model_name} v{version} has flavors {sorted(flavors)}; ModelOps serves 'sklearn', 'tensorflow' (Keras) "
        "and 'python_function' models"
    )


def _load_tabular(
    uri: str, model_name: str, version: int, local: Path, tracking_uri: str, model: Any, runtime: str
) -> ModelHandle:
    """A tabular handle around a scikit-learn estimator, or a pyfunc model wrapped as one (``runtime="pyfunc"``)."""
    from mlflow import MlflowClient
    from mlflow.models import Model

    signature = Model.load(str(local / "MLmodel")).signature
    declared = signature_columns(signature)
    if runtime == "pyfunc":
        columns = declared or example_columns(local)
        client = MlflowClient(tracking_uri, tracking_uri)
        info = client.get_model_version(model_name, str(version))
        # Probe on up to 200 training rows (more of its classes show) when MLflow has them, else the example.
        reference = mlflow_reference(client, tracking_uri, model_name, version, info.run_id)
        labels: list[Any] = []
        if reference is not None and {c.name for c in columns} <= set(reference.columns):
            sample = reference[[c.name for c in columns]].sample(min(len(reference), 200), random_state=0)
            frame = typed_frame(sample.to_numpy(dtype=object), columns)  # e.g. ISO text -> datetime64
            labels = list(reference[names.TARGET].dropna().unique()) if names.TARGET in reference else []
        else:
            probe = probe_rows(local, columns) if columns else None
            frame = typed_frame(probe, columns) if probe is not None else None
        model = pyfunc_model.adapt(model, [c.name for c in columns], frame, output_types(signature), info.tags, labels)
    if hasattr(model, "n_jobs"):
        # Serving calls are small and frequent; joblib's per-call thread start-up costs more than it saves.
        model.n_jobs = 1
    task = CLASSIFICATION if hasattr(model, "predict_proba") else REGRESSION
    if task == REGRESSION and not hasattr(model, "predict"):
        raise InvalidInputError(f"{uri} has neither predict_proba nor predict; it is not a model ModelOps can serve")
    handle = ModelHandle(
        model_name=model_name,
        version=version,
        kind="tabular",
        runtime=runtime,
        model=model,
        task=task,
        columns=with_known_categories(declared or estimator_columns(model) or _positional(model), model),
        classes=[c.item() if hasattr(c, "item") else c for c in getattr(model, "classes_", [])],
    )
    if handle.columns and not declared:
        source = "the input example's columns" if runtime == "pyfunc" else "the estimator's feature_names_in_"
        if handle.columns[0].name.startswith(POSITIONAL):
            source = f"the {len(handle.columns)} numbers each request brings, by position, whatever their names"
        handle.runtime_reason = f"no signature logged: the input columns are {source}"
    if getattr(model, "gives_probabilities", True) is False:
        handle.runtime_reason = "; ".join(
            r for r in (handle.runtime_reason, "the model returns labels only: probabilities are 0 or 1") if r
        )
    handle.class_names = stored_class_names(tracking_uri, model_name, version, handle.classes)
    probe = probe_rows(local, handle.columns) if handle.columns else None
    if probe is not None and task == REGRESSION:
        handle.predict_values(probe)  # warm
        return handle
    if probe is not None and runtime == "pyfunc":
        handle.sklearn_proba(probe)  # warm
        return handle
    if probe is not None:  # warm: the first call pays for lazy initialisation, not a user
        expected = handle.sklearn_proba(probe)
        onnx, reason = onnx_proba(uri, model_name, version)
        if onnx is not None:
            handle.fast_proba, handle.runtime = onnx, "onnxruntime"
            onnx(probe)  # warm
        else:
            fast = forest_proba(model)
            if fast is not None and np.array_equal(fast(probe), expected):
                handle.fast_proba, handle.runtime = fast, "sklearn-trees"
        handle.runtime_reason = "; ".join(r for r in (handle.runtime_reason, reason) if r)
    return handle


def _load_keras(model_name: str, version: int, local: Path, tracking_uri: str) -> ModelHandle:
    import keras

    files = sorted(local.glob("data/*.keras"))
    if not files:
        raise UntrustedModelError(
            f"{model_name} v{version} has no native .keras file; ModelOps loads Keras models with safe_mode only"
        )
    model = keras.saving.load_model(files[0], safe_mode=True, compile=False)
    spec = _input_spec(model_name, version, tracking_uri, model)
    handle = ModelHandle(
        model_name=model_name,
        version=version,
        kind="image",
        runtime="keras",
        model=model,
        classes=list(spec.class_names),
        class_names=[str(c) for c in spec.class_names],
        input_spec=spec,
        compiled=_compile(model),
    )
    handle.predict_images(np.zeros((1, spec.height, spec.width, spec.channels), dtype="float32"))  # traces the graph
    _attach_ood(handle, tracking_uri)
    return handle


OOD_FALLBACK_PICTURES = 600


def _attach_ood(handle: ModelHandle, tracking_uri: str) -> None:
    """Give an image handle its out-of-distribution check: the logged pool, else one from its reference pictures."""
    from mlflow import MlflowClient
    from mlflow.artifacts import download_artifacts

    try:
        handle.features = feature_extractor(handle.model)
        spec = handle.input_spec
        assert spec is not None
        handle.features(np.zeros((1, spec.height, spec.width, spec.channels), dtype="float32"))  # traces the graph
        client = MlflowClient(tracking_uri, tracking_uri)
        run_id = client.get_model_version(handle.model_name, str(handle.version)).run_id
        handle.ood = stored_reference(tracking_uri, run_id)
        if handle.ood is not None:
            handle.ood_reason = handle.ood.describe()
            return
        try:
            path = download_artifacts(
                run_id=run_id, artifact_path=f"{names.REFERENCE_DIR}/reference.parquet", tracking_uri=tracking_uri
            )
        except Exception:
            handle.ood_reason = (
                f"no {names.OOD_REFERENCE_FILE} and no reference pictures ({names.REFERENCE_DIR}/reference.parquet) "
                "logged with this version: pictures are not checked against the training data"
            )
            return
        frame = pd.read_parquet(path)
        frame = frame.sample(min(len(frame), OOD_FALLBACK_PICTURES), random_state=0)
        features = features_in_batches(handle.features, frame_images(frame, spec))
        half = len(features) // 2
        handle.ood = calibrate(features[:half], features[half:], source="built on load from the reference pictures")
        handle.ood_reason = handle.ood.describe()
    except Exception as exc:  # the check is an aid: it never stops a version from serving
        handle.ood, handle.ood_reason = None, f"out-of-distribution check unavailable ({type(exc).__name__}: {exc})"


def _use_tflite(handle: ModelHandle, tracking_uri: str, key: str) -> None:
    """Serve ``handle`` from its accepted TFLite build ``key`` if there is one (never raises)."""
    try:
        build = stored_build(tracking_uri, handle.model_name, handle.version, key)
        if build is None:
            handle.runtime_reason = f"no {key} TFLite build registered; serving Keras"
            return
        if not build.report.accepted:
            handle.runtime_reason = f"the {key} TFLite build was {build.report.reason}; serving Keras"
            return
        runner = TFLiteModel(build.read_bytes())
        spec = handle.input_spec
        assert spec is not None
        runner(np.zeros((1, spec.height, spec.width, spec.channels), dtype="float32"))  # warm
        handle.compiled, handle.runtime = runner, f"litert-{key}"
        handle.runtime_reason = f"{key} build: accuracy {build.report.accuracy_change:+.2f} points vs Keras"
    except Exception as exc:  # a broken build must never stop the version from serving
        handle.runtime_reason = f"TFLite build {key} not loaded ({type(exc).__name__}: {exc}); serving Keras"


def _compile(model: Any) -> Any:
    """``model(x, training=False)`` as a TensorFlow graph that accepts any batch size."""
    import tensorflow as tf

    def call(x: Any) -> Any:
        return model(x, training=False)

    _, h, w, c = model.input_shape
    signature = [tf.TensorSpec((None, h, w, c), tf.float32)]
    return tf.function(call, input_signature=signature, autograph=False)


def _input_spec(model_name: str, version: int, tracking_uri: str, model: Any) -> InputSpec:
    stored = stored_input_spec(tracking_uri, model_name, version)
    if stored is not None:
        return stored
    # No spec stored: derive one from the model's input shape; classes are unit indices.
    _, h, w, c = model.input_shape
    units = int(model.output_shape[-1])
    return InputSpec(height=int(h), width=int(w), channels=int(c), class_names=[str(i) for i in range(units)])
