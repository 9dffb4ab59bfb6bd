"""MLflow ``python_function`` models behind the estimator calls the rest of ModelOps makes.

A pyfunc version is a custom ``mlflow.pyfunc.PythonModel`` or any flavor MLflow loads as pyfunc
(XGBoost, LightGBM, statsmodels...). Loading it runs the model's own Python code, so it loads only
for a model an operator trusted (:mod:`core.store.trust`), like a pickled scikit-learn version.

Its task is read from what it returns, on probe rows (the logged input example) and from its
output schema, unless the version's ``modelops.task`` tag says it:

- one float per row: a **regression**;
- a table of per-class probabilities (numeric columns named by class, rows summing to 1): a
  **classification** with probabilities;
- one label per row (strings, integers, booleans): a **classification** that gives labels only;
  its probabilities are 0/1 and its classes are those it returned on the probe rows plus the
  labels of its training dataset (or the ``modelops.classes`` tag, a JSON list).

:class:`PyfuncClassifier` and :class:`PyfuncRegressor` expose ``predict_proba``/``predict``,
``classes_`` and ``feature_names_in_`` like a scikit-learn estimator.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import names
from core.errors import InvalidInputError, UntrustedModelError

CLASSIFICATION = "classification"
REGRESSION = "regression"
#: How far a probability row may sum from 1 (float32 softmax outputs).
SUM_TOLERANCE = 1e-3
_LABEL_TYPES = {"string", "long", "integer", "boolean", "bool", "str", "int"}
_FLOAT_TYPES = {"double", "float"}


def load_local(local: Path, model_uri: str, *, trusted: bool, model_name: str) -> Any:
    """The version's ``mlflow.pyfunc`` model, loaded only when the operator trusted ``model_name``.

    Raises:
        UntrustedModelError: nobody trusted the model.
    """
    if not trusted:
        raise UntrustedModelError(
            f"{model_uri} is a python_function model: loading it runs its own Python code, so ModelOps loads it "
            f"only when an operator trusts the model: set {names.ENV_TRUSTED_MODELS}={model_name} (or *), or press "
            f"'Trust this model' on the Registry page (POST /v1/models/{model_name}/trust)."
        )
    import mlflow.pyfunc

    return mlflow.pyfunc.load_model(str(local))


def adapt(
    model: Any,
    columns: list[str],
    probe: pd.DataFrame | None,
    output_types: list[str],
    tags: dict[str, str],
    labels: list[Any] | None = None,
) -> PyfuncClassifier | PyfuncRegressor:
    """Wrap a loaded pyfunc ``model`` as a classifier or a regressor (see the module docstring).

    ``labels``: the training labels MLflow holds for the version, if any (classes a label-only
    model did not return on the probe rows).

    Raises:
        InvalidInputError: the task cannot be told (no probe rows, no output schema, no tag) or
            the model's answer on the probe rows is neither a number, a label nor a probability table.
    """
    declared = tags.get(names.TAG_TASK, "").strip().lower()
    if declared and declared not in (CLASSIFICATION, REGRESSION):
        raise InvalidInputError(f"tag {names.TAG_TASK}={declared!r}: use {CLASSIFICATION!r} or {REGRESSION!r}")
    out = outputs(model.predict(probe)) if probe is not None and len(probe) else None
    tagged_classes = _tagged_classes(tags)
    if isinstance(out, pd.DataFrame) and is_probability_table(out):
        if declared == REGRESSION:
            raise InvalidInputError(f"tagged {REGRESSION!r} but the model returns a table of probabilities")
        return PyfuncClassifier(model, columns, list(out.columns), probabilities=True)
    if isinstance(out, pd.DataFrame):
        raise InvalidInputError(
            f"the model returns {out.shape[1]} columns ({', '.join(map(str, out.columns[:5]))}) that are not "
            "class probabilities (numbers in [0, 1] summing to 1 per row); ModelOps serves one prediction per row "
            "or a probability table"
        )
    task = declared or _task_of(out, output_types)
    if task == REGRESSION:
        if out is not None and out.dtype.kind not in "fiu":
            raise InvalidInputError(f"tagged {REGRESSION!r} but the model returns {out.dtype} values")
        return PyfuncRegressor(model, columns)
    seen = sorted({_plain(v) for v in (*([] if out is None else out), *(labels or []))}, key=str)
    classes = tagged_classes or seen
    if len(classes) < 2:
        shown = f"only {classes[0]!r}" if classes else "no label"
        rows = 0 if probe is None else len(probe)
        raise InvalidInputError(
            f"this python_function model returns labels and gave {shown} on the {rows} rows MLflow holds for it "
            "(input example or training data, without labels): a classifier ModelOps serves needs all its "
            f"classes. Tag the version {names.TAG_CLASSES}='[...]' with every class (JSON list), or log its "
            "training data with the labels (mlflow.log_input)"
        )
    return PyfuncClassifier(model, columns, classes, probabilities=False)


def outputs(raw: Any) -> np.ndarray | pd.DataFrame:
    """A pyfunc answer as a 1-D array (one prediction per row) or a DataFrame (several columns)."""
    if isinstance(raw, dict):
        raw = pd.DataFrame(raw)
    if isinstance(raw, pd.DataFrame):
        return raw.iloc[:, 0].to_numpy() if raw.shape[1] == 1 else raw
    array = np.asarray(raw.to_numpy() if isinstance(raw, pd.Series) else raw)
    if array.ndim == 2 and array.shape[1] == 1:
        return array[:, 0]
    if array.ndim == 2:
        return pd.DataFrame(array)
    return array.reshape(-1)


def is_probability_table(out: pd.DataFrame) -> bool:
    """Numeric columns, every value in [0, 1], every row summing to 1."""
    try:
        values = out.to_numpy(dtype="float64")
    except (TypeError, ValueError):
        return False
    return (
        out.shape[1] >= 2
        and bool(np.isfinite(values).all())
        and bool(((values >= -SUM_TOLERANCE) & (values <= 1 + SUM_TOLERANCE)).all())
        and bool(np.allclose(values.sum(axis=1), 1.0, atol=SUM_TOLERANCE))
    )


def _task_of(out: np.ndarray | None, output_types: list[str]) -> str:
    types = {t.lower() for t in output_types}
    if out is not None:
        if out.dtype.kind == "f":
            return REGRESSION
        if out.dtype.kind in "iubOSU":
            return CLASSIFICATION
    if len(types) == 1 and types <= _FLOAT_TYPES:
        return REGRESSION
    if types and types <= _LABEL_TYPES:
        return CLASSIFICATION
    raise InvalidInputError(
        "cannot tell whether this python_function model classifies or regresses: log an input example or an "
        f"output signature with it, or tag the version {names.TAG_TASK}=classification|regression"
    )


def _tagged_classes(tags: dict[str, str]) -> list[Any]:
    raw = tags.get(names.TAG_CLASSES)
    if not raw:
        return []
    try:
        classes = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"tag {names.TAG_CLASSES} is not JSON: {exc}") from exc
    if not isinstance(classes, list) or not classes:
        raise InvalidInputError(f"tag {names.TAG_CLASSES} must be a non-empty JSON list of class labels")
    return classes


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


class _Pyfunc:
    """Common parts: the wrapped model and the frame it is called with."""

    def __init__(self, model: Any, columns: list[str]) -> None:
        self.model = model
        self.feature_names_in_ = np.asarray(columns, dtype=object)

    def _frame(self, X: Any) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            return X
        return pd.DataFrame(np.asarray(X, dtype=object), columns=list(self.feature_names_in_))


class PyfuncRegressor(_Pyfunc):
    """A pyfunc model that returns one number per row."""

    def predict(self, X: Any) -> np.ndarray:
        """One float prediction per row."""
        out = outputs(self.model.predict(self._frame(X)))
        if isinstance(out, pd.DataFrame):
            raise ValueError(f"the model returned {out.shape[1]} columns where one prediction per row was expected")
        return np.asarray(out, dtype="float64").reshape(-1)


class PyfuncClassifier(_Pyfunc):
    """A pyfunc model that returns per-class probabilities, or labels (probabilities 0/1)."""

    def __init__(self, model: Any, columns: list[str], classes: list[Any], *, probabilities: bool) -> None:
        super().__init__(model, columns)
        self.classes_ = np.asarray(classes, dtype=object)
        self.gives_probabilities = probabilities
        self._index = {str(c): i for i, c in enumerate(classes)}

    def predict_proba(self, X: Any) -> np.ndarray:
        """Per-class probabilities in ``classes_`` order."""
        out = outputs(self.model.predict(self._frame(X)))
        if self.gives_probabilities:
            if not isinstance(out, pd.DataFrame):
                raise ValueError("the model returned one value per row where it returned class probabilities before")
            missing = [c for c in self.classes_ if c not in out.columns]
            if missing:
                raise ValueError(f"the model's probability table lacks classes {missing}")
            return out[list(self.classes_)].to_numpy(dtype="float64")
        if isinstance(out, pd.DataFrame):
            raise ValueError(f"the model returned {out.shape[1]} columns where one label per row was expected")
        proba = np.zeros((len(out), len(self.classes_)))
        for row, label in enumerate(out):
            column = self._index.get(str(_plain(label)))
            if column is None:
                raise ValueError(
                    f"the model returned {label!r}, not one of its classes {list(self.classes_)}; tag the version "
                    f"{names.TAG_CLASSES} with every class"
                )
            proba[row, column] = 1.0
        return proba

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
