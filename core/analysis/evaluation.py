"""How good a version is, per class: on its held-out data and on live labelled traffic, side by side.

One :func:`evaluate` turns true labels and class probabilities into the views explainerdashboard
and MLflow users expect — confusion matrix, per-class precision/recall/F1, ROC and precision–recall
curves with their areas, and a calibration (reliability) curve. :func:`holdout_evaluation` feeds it
the version's held-out frame, :func:`live_evaluation` the labelled requests it served.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.analysis.image_drift import reference_images
from core.errors import InvalidInputError
from core.labels import as_label_of
from core.names import TARGET
from core.registry.facade import Registry
from core.registry.reference import load_version_frame
from core.runtime.handles import ModelHandle
from core.runtime.images import preprocess
from core.runtime.tabular import is_typed
from core.store.db import Store
from core.store.log_reads import labelled_probabilities

CALIBRATION_BINS = 10
MICRO = "micro-average"


@dataclass(frozen=True)
class Evaluation:
    """One version judged on one set of labelled rows.

    Attributes:
        source: ``held-out`` or ``live``.
        confusion: counts, rows = true class, columns = predicted class (display names).
        per_class: ``class, precision, recall, f1, support`` per class.
        curves: ``kind (roc|pr), class, x, y`` — the positive class's curve for a binary model, the
            micro-average over every class (one-vs-rest) otherwise; ROC: false vs true positive
            rate, PR: recall vs precision.
        areas: ``class, roc_auc, average_precision`` per class (the positive class only for a
            binary model), plus a ``micro-average`` row for a multiclass one.
        calibration: ``predicted, observed, count`` per confidence bin (the positive class for a
            binary model, the top class otherwise).
    """

    source: str
    rows: int
    accuracy: float
    confusion: pd.DataFrame
    per_class: pd.DataFrame
    curves: pd.DataFrame
    areas: pd.DataFrame
    calibration: pd.DataFrame


def evaluate(truth: list[Any], proba: np.ndarray, classes: list[Any], names: list[str], source: str) -> Evaluation:
    """The evaluation of ``proba`` (rows × classes, in ``classes`` order) against ``truth``.

    Raises:
        InvalidInputError: no rows, or probabilities that do not match the classes.
    """
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

    proba = np.asarray(proba, dtype=float)
    if len(truth) == 0:
        raise InvalidInputError(f"no labelled rows to evaluate on ({source})")
    if proba.ndim != 2 or proba.shape != (len(truth), len(classes)):
        raise InvalidInputError(f"probabilities of shape {proba.shape} do not match {len(truth)} rows × {classes}")
    index = {str(c): i for i, c in enumerate(classes)}
    true_k = np.array([index.get(str(as_label_of(classes[0], t)), -1) for t in truth])
    keep = true_k >= 0  # a label outside the classes cannot be scored
    if not keep.any():
        raise InvalidInputError(f"none of the {len(truth)} labels is a class of the model ({classes}); {source}")
    true_k, proba = true_k[keep], proba[keep]
    pred_k = proba.argmax(axis=1)
    k = len(classes)
    confusion = np.zeros((k, k), dtype=int)
    np.add.at(confusion, (true_k, pred_k), 1)
    tp = np.diag(confusion).astype(float)
    precision = np.divide(tp, confusion.sum(axis=0), out=np.full(k, np.nan), where=confusion.sum(axis=0) > 0)
    recall = np.divide(tp, confusion.sum(axis=1), out=np.full(k, np.nan), where=confusion.sum(axis=1) > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.full(k, np.nan), where=(precision + recall) > 0)
    per_class = pd.DataFrame(
        {"class": names, "precision": precision, "recall": recall, "f1": f1, "support": confusion.sum(axis=1)}
    )
    curves: list[dict[str, Any]] = []
    areas: list[dict[str, Any]] = []

    def add(label: str, positive: np.ndarray, score: np.ndarray, draw: bool) -> None:
        if positive.min() == positive.max():  # one class only: no curve, no area
            areas.append({"class": label, "roc_auc": np.nan, "average_precision": np.nan})
            return
        fpr, tpr, _ = roc_curve(positive, score)
        prec, rec, _ = precision_recall_curve(positive, score)
        if draw:
            curves.extend({"kind": "roc", "class": label, "x": x, "y": y} for x, y in zip(fpr, tpr, strict=True))
            curves.extend({"kind": "pr", "class": label, "x": x, "y": y} for x, y in zip(rec, prec, strict=True))
        areas.append(
            {
                "class": label,
                "roc_auc": float(auc(fpr, tpr)),
                "average_precision": float(average_precision_score(positive, score)),
            }
        )

    if k == 2:
        add(names[1], (true_k == 1).astype(int), proba[:, 1], draw=True)
    else:
        for c in range(k):
            add(names[c], (true_k == c).astype(int), proba[:, c], draw=False)
        onehot = np.eye(k, dtype=int)[true_k]
        add(MICRO, onehot.ravel(), proba.ravel(), draw=True)
    return Evaluation(
        source=source,
        rows=len(true_k),
        accuracy=float((pred_k == true_k).mean()) if len(true_k) else float("nan"),
        confusion=pd.DataFrame(confusion, index=pd.Index(names, name="true"), columns=names),
        per_class=per_class,
        curves=pd.DataFrame(curves, columns=["kind", "class", "x", "y"]),
        areas=pd.DataFrame(areas, columns=["class", "roc_auc", "average_precision"]),
        calibration=calibration_table(true_k, proba),
    )


def calibration_table(true_k: np.ndarray, proba: np.ndarray, bins: int = CALIBRATION_BINS) -> pd.DataFrame:
    """Mean predicted probability against the observed frequency, per equal-width bin (empty bins left out).

    Binary: P(positive class) against how often the positive class is true. Multiclass: the top
    class's probability (the confidence) against how often the top class is right.
    """
    if proba.shape[1] == 2:
        confidence, hit = proba[:, 1], (true_k == 1)
    else:
        confidence, hit = proba.max(axis=1), (proba.argmax(axis=1) == true_k)
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    rows = [
        {"predicted": float(confidence[which == b].mean()), "observed": float(hit[which == b].mean()), "count": n}
        for b in range(bins)
        if (n := int((which == b).sum()))
    ]
    return pd.DataFrame(rows, columns=["predicted", "observed", "count"])


def holdout_evaluation(registry: Registry, handle: ModelHandle) -> Evaluation:
    """``handle``'s version on the held-out frame stored with it.

    Raises:
        InvalidInputError: the version has no held-out data.
    """
    frame = load_version_frame(registry, handle.model_name, handle.version, "holdout")
    truth = frame.pop(TARGET).tolist()
    if handle.kind == "image":
        spec = handle.input_spec
        images = reference_images(frame, invert=bool(spec and spec.invert))
        batch = np.stack([preprocess(img, spec) for img in images]).astype("float32")
        proba = handle.predict_images(batch)
        # the demo stores digit images with their index; the model names its classes "0".."9"
        truth = [handle.classes[t] if isinstance(t, int) and 0 <= t < len(handle.classes) else t for t in truth]
    else:
        dtype = object if is_typed(handle.columns) else "float64"  # string, boolean, date columns stay as they are
        proba = handle.predict_proba(frame[[c.name for c in handle.columns]].to_numpy(dtype=dtype))
    return evaluate(truth, proba, handle.classes, _names(handle), "held-out")


def live_evaluation(store: Store, handle: ModelHandle) -> Evaluation | None:
    """``handle``'s version on the requests it served that got a label (``None`` before any)."""
    truth, proba = labelled_probabilities(store, handle.model_name, handle.version)
    if not truth:
        return None
    return evaluate(truth, np.asarray(proba), handle.classes, _names(handle), "live")


def _names(handle: ModelHandle) -> list[str]:
    if len(handle.class_names) == len(handle.classes):
        return list(handle.class_names)
    return [str(c) for c in handle.classes]


def headline_auc(evaluation: Evaluation) -> float:
    """The ROC AUC to headline: the positive class's (binary) or the micro-average (multiclass)."""
    areas = evaluation.areas.set_index("class")["roc_auc"]
    if MICRO in areas.index:
        return float(areas[MICRO])
    return float(areas.iloc[0]) if len(areas) else float("nan")


def per_class_table(evaluation: Evaluation) -> pd.DataFrame:
    """Precision, recall, F1, support and (one-vs-rest) ROC AUC per class, columns suffixed by the source."""
    areas = evaluation.areas[evaluation.areas["class"] != MICRO][["class", "roc_auc"]]
    table = evaluation.per_class.merge(areas, on="class", how="left")
    return table.rename(columns={c: f"{c} ({evaluation.source})" for c in table.columns if c != "class"})
