"""Online learning under gates: ``partial_fit`` updates that become registry versions.

The serving model is never changed in place. Labelled batches update a *candidate* copy of
the champion, one batch at a time in arrival order. Every N rows (or on demand) the
candidate is evaluated on the version's held-out set against the current champion; when it
is not worse by more than a margin it is registered as a new version (tagged with its
parent version and the rows it saw) and, if configured, promoted. Otherwise it stays a
candidate and the decision says why. Every decision is recorded in the project's store.

:func:`check_auto_rollback` moves the champion back when a newly promoted version's live
accuracy (from feedback) falls below its predecessor's by more than a threshold.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from core import names
from core.errors import InvalidInputError
from core.labels import as_classes
from core.names import TARGET
from core.online.candidates import register_candidate
from core.online.gate import GateDecision, gate, holdout_metrics, regression_gate, regression_metrics
from core.registry.reference import load_version_frame
from core.runtime.handles import REGRESSION, ModelHandle
from core.store.events import record_event

log = logging.getLogger(__name__)

SEED = 0


@dataclass(frozen=True)
class OnlineConfig:
    """How candidates are judged and what happens when they pass.

    Attributes:
        eval_every: Evaluate the candidate after this many new rows (0: only on demand).
        margin_points: A candidate may be this many accuracy points below the champion and pass
            (a regressor: its MAE this many percent above the champion's).
        auto_register: Register a candidate that passes the gate.
        auto_promote: Promote a registered candidate to ``champion``.
        min_rows: Rows a candidate must have seen since its parent before it is judged.
    """

    eval_every: int = 200
    margin_points: float = 1.0
    auto_register: bool = True
    auto_promote: bool = False
    min_rows: int = 1


def new_online_model() -> Any:
    """An untrained scaler + logistic-loss SGD pipeline, every step supporting ``partial_fit``."""
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline(
        [("scale", StandardScaler()), ("sgd", SGDClassifier(loss="log_loss", alpha=1e-4, random_state=SEED))]
    )


def supports_partial_fit(model: Any) -> bool:
    """True for an estimator with ``partial_fit``, or a pipeline whose every step has it."""
    steps = [s for _, s in model.steps] if hasattr(model, "steps") else [model]
    *head, last = steps
    return hasattr(last, "partial_fit") and all(hasattr(s, "partial_fit") and hasattr(s, "transform") for s in head)


def partial_fit(model: Any, X: pd.DataFrame, y: np.ndarray, classes: list[Any] | None) -> None:
    """One ``partial_fit`` pass of ``model`` (in place) on a labelled batch (``classes=None``: a regressor)."""
    extra = {} if classes is None else {"classes": classes}
    if not hasattr(model, "steps"):
        model.partial_fit(X, y, **extra)
        return
    data: Any = X
    for _, step in model.steps[:-1]:
        step.partial_fit(data)
        data = step.transform(data)
    model.steps[-1][1].partial_fit(data, y, **extra)


@dataclass(frozen=True)
class BatchResult:
    """One applied training batch."""

    batch: int
    rows: int
    rows_since_parent: int
    parent_version: int
    update: UpdateResult | None = None


@dataclass(frozen=True)
class UpdateResult:
    """An evaluation and what followed from it."""

    event: str  # rejected | evaluated | registered | promoted
    decision: GateDecision
    parent_version: int
    new_version: int | None = None


class OnlineLearner:
    """The candidate of one model and the single worker that updates it, in arrival order.

    ``champion()`` returns the currently served champion handle; ``promote(version, reason)``
    moves the champion and makes the service follow. Both come from the caller (the service).
    """

    def __init__(
        self,
        registry: Any,
        settings: Any,
        handle: ModelHandle,
        config: OnlineConfig,
        champion: Callable[[], ModelHandle],
        promote: Callable[[int, str], None],
        actor: str = "online-learning",
    ) -> None:
        if handle.kind != "tabular" or not supports_partial_fit(handle.model):
            raise InvalidInputError(
                f"{handle.model_name} v{handle.version} ({type(handle.model).__name__}) does not support partial_fit; "
                "online learning needs an estimator (or a pipeline of steps) with partial_fit, like "
                f"{names.BREAST_CANCER_ONLINE}"
            )
        self.registry, self.settings, self.config = registry, settings, config
        self.model_name = handle.model_name
        self.columns = [c.name for c in handle.columns]
        self.regression = handle.task == REGRESSION
        self.classes = list(handle.classes)
        self.class_names = list(handle.class_names)
        self._champion, self._promote, self.actor = champion, promote, actor
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"online-{handle.model_name}")
        self._lock = threading.Lock()
        self._holdout: dict[int, pd.DataFrame] = {}
        self.batches = 0
        self.last_update: UpdateResult | None = None
        self._rebase(handle)

    # -- state ------------------------------------------------------------------------------
    def _rebase(self, handle: ModelHandle) -> None:
        self.parent_version = handle.version
        self.champion_seen = handle.version
        self.candidate = copy.deepcopy(handle.model)
        self.rows_since_parent = 0
        self.rows_since_eval = 0

    def describe(self) -> dict[str, Any]:
        """The candidate's state, JSON-ready."""
        last = self.last_update
        return {
            "model": self.model_name,
            "parent_version": self.parent_version,
            "rows_since_parent": self.rows_since_parent,
            "batches": self.batches,
            "eval_every": self.config.eval_every,
            "margin_points": self.config.margin_points,
            "auto_register": self.config.auto_register,
            "auto_promote": self.config.auto_promote,
            "last_update": None if last is None else update_json(last),
        }

    # -- work, in arrival order -------------------------------------------------------------
    def submit(self, matrix: np.ndarray, labels: list[Any]) -> Future[BatchResult]:
        """Queue one labelled batch; it is applied after every batch submitted before it."""
        y = self.check_labels(labels, len(matrix))
        with self._lock:  # numbering and queueing together: batch n is applied n-th
            self.batches += 1
            return self._executor.submit(self._apply, self.batches, matrix, y)

    def evaluate(self, register: bool | None = None, promote: bool | None = None) -> Future[UpdateResult]:
        """Queue an evaluation of the candidate (after the batches already queued)."""
        with self._lock:
            return self._executor.submit(self._evaluate, register, promote)

    def reset(self) -> Future[dict[str, Any]]:
        """Queue discarding the candidate: it restarts from the current champion."""

        def discard() -> dict[str, Any]:
            champion = self._champion()
            self._restart(
                champion,
                "discarded",
                f"candidate discarded ({self.rows_since_parent} rows since v{self.parent_version}); "
                f"restarted from champion v{champion.version}",
            )
            self.last_update = None
            return self.describe()

        with self._lock:
            return self._executor.submit(discard)

    def close(self) -> None:
        """Finish queued work and stop the worker."""
        self._executor.shutdown(wait=True)

    def check_labels(self, labels: list[Any], rows: int) -> np.ndarray:
        """Labels as the model's class values (see :func:`check_labels`), or finite numbers for a regressor."""
        if len(labels) != rows:
            raise InvalidInputError(f"labels: {len(labels)} labels for {rows} rows; send one label per row")
        if self.regression:
            bad = next(
                (i for i, v in enumerate(labels) if type(v) not in (int, float) or not np.isfinite(float(v))), None
            )
            if bad is not None:
                raise InvalidInputError(
                    f"labels: {self.model_name} is a regressor: label {bad} must be a finite number, got "
                    f"{labels[bad]!r}"[:300]
                )
            return np.asarray(labels, dtype="float64")
        return np.asarray(as_classes(labels, self.classes, self.class_names))

    def _apply(self, batch: int, matrix: np.ndarray, y: np.ndarray) -> BatchResult:
        self._follow_champion()
        classes = None if self.regression else self.classes
        partial_fit(self.candidate, pd.DataFrame(matrix, columns=self.columns), y, classes)
        self.rows_since_parent += len(y)
        self.rows_since_eval += len(y)
        update = None
        if self.config.eval_every and self.rows_since_eval >= self.config.eval_every:
            update = self._evaluate(None, None)
        return BatchResult(batch, len(y), self.rows_since_parent, self.parent_version, update)

    def _follow_champion(self) -> None:
        """Start again from the champion if it moved (a rollback, a promotion elsewhere).

        A registered but unpromoted candidate keeps its own lineage; if its parent becomes the
        champion, the candidate carries on.
        """
        champion = self._champion()
        if champion.version == self.champion_seen:
            return
        if champion.version == self.parent_version:
            self.champion_seen = champion.version
            return
        self._restart(
            champion,
            "rebased",
            f"champion moved from v{self.champion_seen} to v{champion.version}: {self.rows_since_parent} "
            f"unregistered rows dropped, candidate restarted from v{champion.version}",
        )

    def _restart(self, champion: ModelHandle, event: str, reason: str) -> None:
        """Record why the candidate is dropped, then start again from ``champion``."""
        record_event(
            self.registry.store,
            self.model_name,
            event,
            parent_version=self.parent_version,
            rows=self.rows_since_parent,
            reason=reason,
            actor=self.actor,
        )
        self._rebase(champion)

    def _evaluate(self, register: bool | None, promote: bool | None) -> UpdateResult:
        self._follow_champion()
        register = self.config.auto_register if register is None else register
        promote = self.config.auto_promote if promote is None else promote
        champion = self._champion()
        holdout = self._holdout_frame(self.parent_version)
        X, truth = holdout[self.columns], holdout[TARGET].to_numpy()
        if self.regression:
            candidate_metrics = regression_metrics(self.candidate.predict(X), truth)
            champion_metrics = regression_metrics(champion.predict_values(X.to_numpy(dtype="float64")), truth)
            decision = regression_gate(
                candidate_metrics["mae"],
                champion_metrics["mae"],
                champion.version,
                self.config.margin_points,
                self.rows_since_parent,
            )
        else:
            candidate_metrics = holdout_metrics(self.candidate.predict_proba(X), self.classes, truth)
            champion_metrics = holdout_metrics(
                champion.predict_proba(X.to_numpy(dtype="float64")), list(champion.classes), truth
            )
            decision = gate(
                candidate_metrics["accuracy"],
                champion_metrics["accuracy"],
                champion.version,
                self.config.margin_points,
                self.rows_since_parent,
            )
        decision = replace(decision, metrics=candidate_metrics)
        self.rows_since_eval = 0
        parent = self.parent_version
        if self.rows_since_parent < self.config.min_rows:
            decision = replace(decision, accepted=False, reason=f"no rows since v{parent}: nothing to judge")
        if not decision.accepted or not register:
            event = "rejected" if not decision.accepted else "evaluated"
            result = UpdateResult(event, decision, parent)
        else:
            version = register_candidate(
                self.registry, self.settings, self.model_name, self.candidate, parent, decision, self.actor
            )
            event = "registered"
            if promote:
                self._promote(version, f"online update of v{parent}: {decision.reason}")
                self.champion_seen = version
                event = "promoted"
            result = UpdateResult(event, decision, parent, version)
            # The candidate carries on from what was just registered.
            self.parent_version, self.rows_since_parent = version, 0
            self._holdout[version] = holdout
        record_event(
            self.registry.store,
            self.model_name,
            result.event,
            parent_version=parent,
            rows=decision.rows,
            candidate_accuracy=decision.candidate_accuracy,
            champion_version=decision.champion_version,
            champion_accuracy=decision.champion_accuracy,
            new_version=result.new_version,
            reason=decision.reason,
            actor=self.actor,
        )
        self.last_update = result
        return result

    def _holdout_frame(self, version: int) -> pd.DataFrame:

        if version not in self._holdout:
            self._holdout[version] = load_version_frame(self.registry, self.model_name, version, "holdout")
        return self._holdout[version]


def update_json(update: UpdateResult) -> dict[str, Any]:
    """An evaluation and its outcome, JSON-ready (the API's and the page's shape)."""
    d = update.decision
    return {
        "event": update.event,
        "accepted": d.accepted,
        "parent_version": update.parent_version,
        "new_version": update.new_version,
        "rows": d.rows,
        "candidate_accuracy": d.candidate_accuracy,
        "champion_version": d.champion_version,
        "champion_accuracy": d.champion_accuracy,
        "margin_points": d.margin_points,
        "reason": d.reason,
        "metric": d.metric,
    }
