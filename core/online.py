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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from core import names
from core.errors import InvalidInputError
from core.handles import ModelHandle
from core.reference import TARGET
from core.store import AliasMove, Store, online_updates

log = logging.getLogger(__name__)

SEED = 0
INITIAL_ROWS = 80  # the seeded v1 sees only these, so live labels have something to teach it
INITIAL_EPOCHS = 5
AUTO_ROLLBACK_ACTOR = "modelops-auto-rollback"


@dataclass(frozen=True)
class OnlineConfig:
    """How candidates are judged and what happens when they pass.

    Attributes:
        eval_every: Evaluate the candidate after this many new rows (0: only on demand).
        margin_points: A candidate may be this many accuracy points below the champion and pass.
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


def partial_fit(model: Any, X: pd.DataFrame, y: np.ndarray, classes: list[Any]) -> None:
    """One ``partial_fit`` pass of ``model`` (in place) on a labelled batch."""
    if not hasattr(model, "steps"):
        model.partial_fit(X, y, classes=classes)
        return
    data: Any = X
    for _, step in model.steps[:-1]:
        step.partial_fit(data)
        data = step.transform(data)
    model.steps[-1][1].partial_fit(data, y, classes=classes)


def holdout_metrics(proba: np.ndarray, classes: list[Any], truth: np.ndarray) -> dict[str, float]:
    """Accuracy (and F1 / ROC AUC for binary models) of class probabilities on held-out labels."""
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    predicted = np.asarray(classes)[np.argmax(proba, axis=1)]
    metrics = {"accuracy": float(accuracy_score(truth, predicted))}
    if len(classes) == 2 and len(set(truth.tolist())) == 2:
        metrics["f1"] = float(f1_score(truth, predicted, pos_label=classes[1]))
        metrics["roc_auc"] = float(roc_auc_score(truth == classes[1], proba[:, 1]))
    return metrics


@dataclass(frozen=True)
class GateDecision:
    """What the gate said about one candidate."""

    accepted: bool
    candidate_accuracy: float
    champion_accuracy: float
    champion_version: int
    margin_points: float
    rows: int
    reason: str
    metrics: dict[str, float] = field(default_factory=dict)


def gate(
    candidate_accuracy: float, champion_accuracy: float, champion_version: int, margin_points: float, rows: int
) -> GateDecision:
    """Accept a candidate not worse than the champion by more than ``margin_points``."""
    gap = 100.0 * (candidate_accuracy - champion_accuracy)
    accepted = gap >= -margin_points - 1e-9
    verdict = "passes" if accepted else "fails"
    reason = (
        f"candidate accuracy {candidate_accuracy:.4f} vs champion v{champion_version} {champion_accuracy:.4f} "
        f"({gap:+.2f} points, allowed −{margin_points:g}): {verdict} the gate after {rows} rows"
    )
    return GateDecision(accepted, candidate_accuracy, champion_accuracy, champion_version, margin_points, rows, reason)


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
        self.classes = list(handle.classes)
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
        """Labels as the model's class values (see :func:`check_labels`)."""
        return check_labels(labels, rows, self.classes)

    def _apply(self, batch: int, matrix: np.ndarray, y: np.ndarray) -> BatchResult:
        self._follow_champion()
        partial_fit(self.candidate, pd.DataFrame(matrix, columns=self.columns), y, self.classes)
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
        from core.reference import load_version_frame

        if version not in self._holdout:
            self._holdout[version] = load_version_frame(self.registry, self.model_name, version, "holdout")
        return self._holdout[version]


def check_labels(labels: list[Any], rows: int, classes: list[Any]) -> np.ndarray:
    """``labels`` as class values of the model (compared as text, so ``1`` and ``"1"`` agree).

    Raises:
        InvalidInputError: wrong count, or labels that are not classes of the model.
    """
    if len(labels) != rows:
        raise InvalidInputError(f"labels: {len(labels)} labels for {rows} rows; send one label per row")
    by_text = {str(c): c for c in classes}
    unknown = sorted({str(v) for v in labels if str(v) not in by_text})
    if unknown:
        raise InvalidInputError(f"labels: unknown labels {unknown[:5]}; the model's classes are {classes}")
    return np.asarray([by_text[str(v)] for v in labels])


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
    }


def register_candidate(
    registry: Any, settings: Any, model: str, candidate: Any, parent: int, decision: GateDecision, actor: str
) -> int:
    """Log the candidate as a new version of ``model`` with its parent's reference data; returns the version."""
    import tempfile
    from pathlib import Path

    import mlflow
    from mlflow.artifacts import download_artifacts
    from mlflow.models import infer_signature

    from core.demo import configure_mlflow
    from core.flavors import sklearn_skops
    from core.flavors.onnx_compile import compile_version

    experiment = configure_mlflow(settings)
    parent_info = registry.get_version(model, parent)
    with tempfile.TemporaryDirectory() as tmp:
        frames = {}
        for which in ("reference", "holdout"):
            path = download_artifacts(
                run_id=parent_info.run_id,
                artifact_path=f"{names.REFERENCE_DIR}/{which}.parquet",
                tracking_uri=registry.tracking_uri,
                dst_path=tmp,
            )
            frames[which] = Path(path)
        reference = pd.read_parquet(frames["reference"])
        features = reference.drop(columns=[TARGET])
        with mlflow.start_run(experiment_id=experiment, run_name=f"{model}-online-from-v{parent}"):
            mlflow.log_params(
                {"parent_version": parent, "rows": decision.rows, "margin_points": decision.margin_points}
            )
            mlflow.log_metrics(decision.metrics)
            for path in frames.values():
                mlflow.log_artifact(str(path), artifact_path=names.REFERENCE_DIR)
            info = sklearn_skops.log_model(
                candidate,
                signature=infer_signature(features, candidate.predict(features)),
                input_example=features.head(3),
                registered_model_name=model,
            )
    version = int(info.registered_model_version)
    client = registry.client
    for key, value in {
        names.TAG_FLAVOR: "sklearn",
        names.TAG_KIND: "sgd-online",
        names.TAG_ONLINE: "true",
        names.TAG_ONLINE_PARENT: str(parent),
        names.TAG_ONLINE_ROWS: str(decision.rows),
    }.items():
        client.set_model_version_tag(model, str(version), key, value)
    client.update_model_version(
        model, str(version), description=f"partial_fit update of v{parent} with {decision.rows} labelled rows"
    )
    compile_version(registry, model, version)  # ONNX when it verifies; the service falls back otherwise
    log.info("%s: registered v%s from v%s (%s rows) by %s", model, version, parent, decision.rows, actor)
    return version


def record_event(store: Store, model: str, event: str, **values: Any) -> None:
    """Append one online-learning event to the store."""
    with store.engine.begin() as conn:
        conn.execute(online_updates.insert().values(model=model, at=datetime.now(UTC), event=event, **values))


def updates_frame(store: Store, model: str, limit: int = 500) -> pd.DataFrame:
    """Online-learning events of ``model``, oldest first (the newest ``limit``)."""
    columns = [c.name for c in online_updates.columns if c.name not in ("id", "model")]
    query = (
        sa.select(*[online_updates.c[c] for c in columns])
        .where(online_updates.c.model == model)
        .order_by(online_updates.c.id.desc())
        .limit(limit)
    )
    with store.engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).mappings().all(), columns=columns)
    if frame.empty:
        return frame
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame.iloc[::-1].reset_index(drop=True)


@dataclass(frozen=True)
class RollbackCheck:
    """The live comparison behind an automatic rollback decision."""

    model: str
    version: int
    predecessor: int
    labels: int
    accuracy: float
    predecessor_labels: int
    predecessor_accuracy: float
    threshold_points: float

    @property
    def gap_points(self) -> float:
        """How far the new version is below its predecessor, in points (negative: above)."""
        return 100.0 * (self.predecessor_accuracy - self.accuracy)

    @property
    def should_roll_back(self) -> bool:
        """True when the gap exceeds the threshold."""
        return self.gap_points > self.threshold_points

    def reason(self) -> str:
        """The sentence the alias history records."""
        return (
            f"automatic rollback: live accuracy of v{self.version} {self.accuracy:.3f} over {self.labels} labels is "
            f"{self.gap_points:.1f} points below v{self.predecessor}'s {self.predecessor_accuracy:.3f} over "
            f"{self.predecessor_labels} labels (threshold {self.threshold_points:g})"
        )


def live_comparison(registry: Any, model: str, min_labels: int, threshold_points: float) -> RollbackCheck | None:
    """The newly promoted champion's live accuracy against its predecessor's, or ``None``.

    ``None`` when the champion's last move was not a promotion, the alias has since moved
    outside ModelOps, or either version has fewer than ``min_labels`` labelled requests
    (the predecessor's counted before the promotion, the champion's after).
    """
    from core.ab import load_outcomes

    moves = registry.history(model, alias=names.CHAMPION, limit=1)
    if not moves or moves[0].action != "promote" or moves[0].from_version is None:
        return None
    last: AliasMove = moves[0]
    if registry.resolve_alias(model, names.CHAMPION) != last.to_version:
        return None
    outcomes = load_outcomes(registry.store, model)
    if outcomes.empty:
        return None
    labelled = outcomes[outcomes["correct"].notna() & (outcomes["arm"] != "shadow")]
    promoted_at = pd.Timestamp(last.at)
    promoted_at = promoted_at.tz_localize("UTC") if promoted_at.tzinfo is None else promoted_at
    new = labelled[(labelled["version"] == last.to_version) & (labelled["at"] >= promoted_at)]
    old = labelled[(labelled["version"] == last.from_version) & (labelled["at"] < promoted_at)]
    if len(new) < min_labels or len(old) < min_labels:
        return None
    return RollbackCheck(
        model,
        last.to_version,
        last.from_version,
        len(new),
        float(new["correct"].astype(bool).mean()),
        len(old),
        float(old["correct"].astype(bool).mean()),
        threshold_points,
    )


def check_auto_rollback(
    registry: Any, model: str, min_labels: int, threshold_points: float, actor: str = AUTO_ROLLBACK_ACTOR
) -> AliasMove | None:
    """Roll the champion back if a newly promoted version does worse live than its predecessor."""
    check = live_comparison(registry, model, min_labels, threshold_points)
    if check is None or not check.should_roll_back:
        return None
    move = registry.rollback(model, actor=actor, reason=check.reason())
    record_event(
        registry.store,
        model,
        "rollback",
        parent_version=check.version,
        new_version=move.to_version,
        rows=check.labels,
        candidate_accuracy=check.accuracy,
        champion_version=check.predecessor,
        champion_accuracy=check.predecessor_accuracy,
        reason=check.reason(),
        actor=actor,
    )
    return move


def seed_online(experiment_id: str, registry: Any) -> list[int]:
    """Register v1 of the online demo model: fitted by ``partial_fit`` on the first rows only."""
    import mlflow
    from mlflow.models import infer_signature

    from core.demo import _log_frames, _tag_version, breast_cancer_split
    from core.flavors import sklearn_skops
    from core.flavors.onnx_compile import compile_version

    X_train, X_test, y_train, y_test = breast_cancer_split()
    model = new_online_model()
    for _ in range(INITIAL_EPOCHS):
        partial_fit(model, X_train.iloc[:INITIAL_ROWS], y_train.iloc[:INITIAL_ROWS].to_numpy(), [0, 1])
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{names.BREAST_CANCER_ONLINE}-sgd"):
        metrics = holdout_metrics(model.predict_proba(X_test), [0, 1], y_test.to_numpy())
        mlflow.log_params({"rows": INITIAL_ROWS, "epochs": INITIAL_EPOCHS, "loss": "log_loss", "alpha": 1e-4})
        mlflow.log_metrics(metrics)
        _log_frames(
            {
                "reference.parquet": X_train.assign(**{TARGET: y_train.values}),
                "holdout.parquet": X_test.assign(**{TARGET: y_test.values}),
            }
        )
        info = sklearn_skops.log_model(
            model,
            signature=infer_signature(X_train, model.predict(X_train)),
            input_example=X_train.head(3),
            registered_model_name=names.BREAST_CANCER_ONLINE,
        )
    version = int(info.registered_model_version)
    _tag_version(
        registry,
        names.BREAST_CANCER_ONLINE,
        version,
        "sklearn",
        "sgd-online",
        f"Scaler + logistic SGD fitted by partial_fit on the first {INITIAL_ROWS} training rows; "
        "POST /v1/models/breast-cancer-online/train teaches it more.",
    )
    registry.client.set_model_version_tag(names.BREAST_CANCER_ONLINE, str(version), names.TAG_ONLINE, "true")
    compile_version(registry, names.BREAST_CANCER_ONLINE, version)
    return [version]
