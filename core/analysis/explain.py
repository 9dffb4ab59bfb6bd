"""SHAP explanations per model version: tabular (tree or model-agnostic) and image (gradients).

An explainer is built once per version from the model and a background sample of the
version's reference data; callers cache it (the dashboard in ``resources``, the service per
loaded handle). Explanations are plain typed results; :mod:`core.plots` draws them.

Methods:
    ``tree``: shap's exact TreeExplainer (path-dependent) for scikit-learn trees and forests.
    ``permutation``: shap's PermutationExplainer over ``predict_proba`` with an independent
    masker on the background sample, for every other classifier (exactly additive by
    construction: the values of a row sum to its output minus the background mean).
    ``gradient``: shap's GradientExplainer (expected gradients) for Keras image models.
    ``integrated-gradients``: our own fallback through ``tf.GradientTape`` when shap's Keras
    path fails on the installed TensorFlow (or when asked for).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.analysis.explain_images import ImageExplainer, sample_rows
from core.errors import InvalidInputError
from core.runtime.handles import REGRESSION, ModelHandle
from core.runtime.inputs import reference_tensor
from core.runtime.tabular import NUMERIC_TYPES, is_typed

log = logging.getLogger(__name__)

TABULAR_METHODS = ("tree", "permutation")
BACKGROUND_ROWS = 100
PERMUTATION_BACKGROUND = 50
PERMUTATIONS = 8  # shap's own default budget (500 evaluations) for 30 features
PROBABILITY_TREES = (
    "DecisionTreeClassifier",
    "ExtraTreeClassifier",
    "RandomForestClassifier",
    "ExtraTreesClassifier",
    # Regressors whose raw output is the prediction itself.
    "DecisionTreeRegressor",
    "ExtraTreeRegressor",
    "RandomForestRegressor",
    "ExtraTreesRegressor",
    "GradientBoostingRegressor",
)
#: The single "class" of a regressor's explanation: its predicted value.
PREDICTION = "prediction"


@dataclass(frozen=True)
class TabularExplanation:
    """SHAP values of tabular rows for every class.

    Attributes:
        values: ``(rows, features, classes)`` contributions to each class probability.
        base_values: ``(classes,)`` the expected output over the background.
        data: ``(rows, features)`` the explained rows in signature order.
    """

    model_name: str
    version: int
    method: str
    feature_names: list[str]
    classes: list[Any]
    data: np.ndarray
    values: np.ndarray
    base_values: np.ndarray
    class_names: list[str] = field(default_factory=list)  # display names, in ``classes`` order

    def class_label(self, k: int) -> str:
        """The display name of class index ``k`` (``benign`` rather than ``1`` when the version names it)."""
        return self.class_names[k] if len(self.class_names) == len(self.classes) else str(self.classes[k])

    @property
    def outputs(self) -> np.ndarray:
        """``(rows, classes)`` model outputs recovered from the values (additivity)."""
        return self.base_values[None, :] + self.values.sum(axis=1)

    def class_index(self, label: Any) -> int:
        """The position of class ``label`` (compared as text, so ``1`` and ``"1"`` agree)."""
        for i, c in enumerate(self.classes):
            if str(c) == str(label):
                return i
        raise InvalidInputError(f"unknown class {label!r}; the model's classes are {self.classes}")

    def default_class(self, row: int = 0) -> int:
        """The class to show by default: the positive class of a binary model, else the predicted one."""
        if len(self.classes) == 2:
            return 1
        return int(np.argmax(self.outputs[row]))

    def for_class(self, k: int) -> np.ndarray:
        """``(rows, features)`` values for class index ``k``."""
        return self.values[:, :, k]

    def importance(self, k: int) -> pd.Series:
        """Mean absolute SHAP value per feature for class ``k``, largest first."""
        mean = np.abs(self.for_class(k)).mean(axis=0)
        return pd.Series(mean, index=self.feature_names, name="mean |SHAP|").sort_values(ascending=False)

    def row_frame(self, row: int, k: int) -> pd.DataFrame:
        """One row's features, values and contributions to class ``k``, largest contribution first."""
        values = self.data[row] if self.data.dtype != object else [str(v) for v in self.data[row]]
        frame = pd.DataFrame({"feature": self.feature_names, "value": values, "shap": self.values[row, :, k]})
        return frame.reindex(frame["shap"].abs().sort_values(ascending=False).index).reset_index(drop=True)

    def strongest_interaction(self, feature: int, k: int) -> int | None:
        """The feature that most changes ``feature``'s contribution (shap's approximate interactions)."""
        from shap.utils import approximate_interactions

        if len(self.feature_names) < 2 or self.data.shape[0] < 2 or self.data.dtype == object:
            return None  # shap's estimate needs numbers; strings and dates have no order to interact along
        order = approximate_interactions(feature, self.for_class(k), self.data)
        return int(order[0]) if len(order) else None

    def subset(self, rows: list[int] | np.ndarray) -> TabularExplanation:
        """The same explanation restricted to ``rows``."""
        idx = np.asarray(rows, dtype=int)
        return TabularExplanation(
            self.model_name,
            self.version,
            self.method,
            self.feature_names,
            self.classes,
            self.data[idx],
            self.values[idx],
            self.base_values,
            self.class_names,
        )


class TabularExplainer:
    """Explains a tabular handle's class probabilities; build once per version, reuse."""

    def __init__(self, handle: ModelHandle, background: np.ndarray, method: str | None = None) -> None:
        if handle.kind != "tabular":
            raise InvalidInputError(f"{handle.model_name} v{handle.version} is not a tabular model")
        if method is not None and method not in TABULAR_METHODS:
            raise InvalidInputError(f"unknown tabular method {method!r}; choose one of {TABULAR_METHODS}")
        self.handle = handle
        self.feature_names = [c.name for c in handle.columns]
        self.classes = [PREDICTION] if handle.task == REGRESSION else list(handle.classes)
        self._lock = threading.Lock()
        # String, boolean and date columns travel as objects (SHAP on the original columns, not encodings).
        self.dtype = object if is_typed(handle.columns) else "float64"
        self._codes = CategoryCodes(handle.columns) if self.dtype == object else None
        background = np.asarray(background, dtype=self.dtype)
        if background.ndim != 2 or background.shape[1] != len(self.feature_names) or len(background) == 0:
            raise InvalidInputError(
                f"background must be rows of the {len(self.feature_names)} signature features, got {background.shape}"
            )
        self.background = sample_rows(background, BACKGROUND_ROWS)
        self._tree = None
        if method in (None, "tree") and self.dtype != object:
            self._tree = _tree_explainer(handle.model)
            if self._tree is None and method == "tree":
                raise InvalidInputError(
                    f"{handle.model_name} v{handle.version} ({_estimator_name(handle.model)}) is not a tree model; "
                    "use the permutation method"
                )
        self.method = "tree" if self._tree is not None else "permutation"
        if self._tree is not None:
            expected = np.atleast_1d(np.asarray(self._tree.expected_value, dtype="float64"))
            self.base_values = expected
        else:
            import shap

            self.background = sample_rows(self.background, PERMUTATION_BACKGROUND)
            masked = self._codes.encode(self.background) if self._codes else self.background
            masker = shap.maskers.Independent(masked, max_samples=len(masked))
            self._permutation = shap.PermutationExplainer(self._proba, masker, seed=0)
            # Each permutation costs 2 x features evaluations over the background; a few
            # antithetic permutations are enough for a stable ranking, and additivity is exact anyway.
            self.max_evals = 2 * len(self.feature_names) * PERMUTATIONS + 1
            self.base_values = self._proba(self.background).mean(axis=0)
            # shap's masker JIT-compiles on first use (≈8 s once per process): pay it while building.
            self._permutation(masked[:1], max_evals=self.max_evals, silent=True)

    def _proba(self, matrix: np.ndarray) -> np.ndarray:
        if self._codes is not None and np.asarray(matrix).dtype != object:
            matrix = self._codes.decode(matrix)  # shap's masker works on codes
        return self.handle.score(np.asarray(matrix, dtype=self.dtype))

    def explain(self, matrix: np.ndarray, progress: Callable[[int, int], None] | None = None) -> TabularExplanation:
        """SHAP values of ``matrix`` (rows in signature order) for every class."""
        X = np.asarray(matrix, dtype=self.dtype)
        if X.ndim != 2 or X.shape[1] != len(self.feature_names):
            raise InvalidInputError(f"expected rows of {len(self.feature_names)} features, got shape {X.shape}")
        if not len(X):
            raise InvalidInputError("no rows to explain")
        if self.dtype != object and not np.isfinite(X).all():
            raise InvalidInputError("rows contain NaN or infinite values; SHAP needs finite inputs")
        if self._tree is not None:
            # scikit-learn trees compare float32 inputs; explaining the same rounded rows keeps the
            # explanation on the same side of every threshold as the served prediction.
            X32 = X.astype("float32").astype("float64")
            with self._lock:
                values = np.asarray(self._tree.shap_values(X32, check_additivity=False), dtype="float64")
            if values.ndim == 2:  # single-output trees return (rows, features)
                values = values[:, :, None]
            if progress:
                progress(len(X), len(X))
            return self._result(X32, values)
        chunks = []
        step = 10
        coded = self._codes.encode(X) if self._codes else X
        for start in range(0, len(X), step):
            part = coded[start : start + step]
            with self._lock:
                out = self._permutation(part, max_evals=self.max_evals, silent=True)
            chunks.append(np.asarray(out.values, dtype="float64"))
            if progress:
                progress(min(start + step, len(X)), len(X))
        values = np.concatenate(chunks)
        if values.ndim == 2:
            values = values[:, :, None]
        return self._result(X, values)

    def _result(self, X: np.ndarray, values: np.ndarray) -> TabularExplanation:
        h = self.handle
        return TabularExplanation(
            h.model_name,
            h.version,
            self.method,
            self.feature_names,
            self.classes,
            X,
            values,
            self.base_values,
            [PREDICTION] if h.task == REGRESSION else list(h.class_names),
        )


class CategoryCodes:
    """Strings, booleans and dates as numeric codes for shap's maskers, and back (numbers pass through)."""

    def __init__(self, columns: list[Any]) -> None:
        self.coded = [c.type not in NUMERIC_TYPES for c in columns]
        self.values: list[list[Any]] = [[] for _ in columns]
        self._codes: list[dict[Any, int]] = [{} for _ in columns]

    def encode(self, matrix: np.ndarray) -> np.ndarray:
        """``matrix`` (objects) as floats; a value not seen before gets the next code."""
        out = np.empty(matrix.shape, dtype="float64")
        for j, coded in enumerate(self.coded):
            if not coded:
                out[:, j] = np.asarray(matrix[:, j], dtype="float64")
                continue
            seen, codes = self.values[j], self._codes[j]
            for i, value in enumerate(matrix[:, j]):
                if value not in codes:
                    codes[value] = len(seen)
                    seen.append(value)
                out[i, j] = codes[value]
        return out

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Codes back to the original values."""
        out = np.asarray(codes, dtype=object).copy()
        for j, coded in enumerate(self.coded):
            if coded:
                out[:, j] = [self.values[j][round(float(c))] for c in codes[:, j]]
        return out


def build_explainer(
    handle: ModelHandle, reference: pd.DataFrame | None, method: str | None = None
) -> TabularExplainer | ImageExplainer:
    """The explainer for ``handle`` with a background drawn from its reference frame.

    An image model without reference data is explained by integrated gradients from a black
    image; a tabular model needs its reference rows.

    Raises:
        InvalidInputError: no or unsuitable reference data for a tabular model, or a method that does not fit.
    """
    if handle.kind == "image":
        return ImageExplainer(handle, None if reference is None else reference_tensor(reference, handle), method)
    if reference is None:
        raise InvalidInputError(
            f"{handle.model_name} v{handle.version} has no reference data to draw a SHAP background from; "
            "log reference/reference.parquet with the version"
        )
    names = [c.name for c in handle.columns]
    missing = [n for n in names if n not in reference.columns]
    if missing:
        raise InvalidInputError(f"the reference data lacks the model's features {missing[:5]}")
    dtype = object if is_typed(handle.columns) else "float64"
    return TabularExplainer(handle, reference[names].to_numpy(dtype=dtype), method)


def explainer_for(
    handle: ModelHandle, load_reference: Callable[[str, int], pd.DataFrame]
) -> TabularExplainer | ImageExplainer:
    """:func:`build_explainer` with the version's reference frame, if it has one."""
    try:
        reference = load_reference(handle.model_name, handle.version)
    except InvalidInputError:
        reference = None  # build_explainer says what that means for this kind of model
    return build_explainer(handle, reference)


def _unwrap(model: Any) -> Any:
    """The fitted estimator inside a search (``best_estimator_``)."""
    while hasattr(model, "best_estimator_"):
        model = model.best_estimator_
    return model


def _estimator_name(model: Any) -> str:
    return type(_unwrap(model)).__name__


def _tree_explainer(model: Any) -> Any:
    """shap's TreeExplainer for ``model``, or ``None`` when it is not a supported tree model."""
    import shap

    estimator = _unwrap(model)
    # Only trees whose output *is* the class probability: boosting explains log-odds instead.
    if type(estimator).__name__ not in PROBABILITY_TREES:
        return None
    try:
        return shap.TreeExplainer(estimator)
    except Exception as exc:  # e.g. boosting variants shap does not parse: use the agnostic path
        log.info("TreeExplainer refused %s: %s", type(estimator).__name__, exc)
        return None


class ExplainerCache:
    """Explainers built on first use and kept for the most recent ``size`` versions (thread-safe).

    Two callers asking for the same version at once build it once; the second waits.
    """

    def __init__(self, load_reference: Callable[[str, int], pd.DataFrame], size: int = 8) -> None:
        from collections import OrderedDict

        self._load_reference = load_reference
        self._size = size
        self._items: OrderedDict[tuple[str, int], TabularExplainer | ImageExplainer] = OrderedDict()
        self._locks: dict[tuple[str, int], threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, handle: ModelHandle) -> TabularExplainer | ImageExplainer:
        """The explainer of ``handle``'s version, building it from its reference data if needed."""
        key = (handle.model_name, handle.version)
        with self._guard:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in self._items:
                    return self._items[key]
            built = explainer_for(handle, self._load_reference)
            with self._guard:
                self._items[key] = built
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
                self._locks.pop(key, None)
            return built


def explained_classes(expl: TabularExplanation, label: Any = None) -> list[int]:
    """Which class each row is explained for: ``label`` if given, else :meth:`~TabularExplanation.default_class`."""
    if label is not None:
        k = expl.class_index(label)
        return [k] * expl.data.shape[0]
    return [expl.default_class(i) for i in range(expl.data.shape[0])]
