"""One path for every served prediction: run the model, log the request durably, count it.

The predict route, its shadow copy and the classify route all go through
:meth:`Predictor.serve`, so what is logged and counted for a request is decided once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from core import names
from core.errors import InvalidInputError, ModelFailedError
from core.runtime.handles import REGRESSION
from core.runtime.tabular import ANY
from core.serving.manager import Arm, ServedModel
from core.serving.metrics import ServiceMetrics
from core.serving.routing import SHADOW, choose_arm
from core.store.predlog import PredictionLog, PredictionRecord
from core.store.traffic import TrafficConfig

log = logging.getLogger(__name__)

#: Arm and status of a refused request in the prediction log.
REJECTED = "rejected"

#: Runs the model of an arm on the request's input: probabilities, one row per input row.
Score = Callable[[Arm], Awaitable[np.ndarray]]


@dataclass(frozen=True)
class Prediction:
    """What one served request answered, and who answered it."""

    labels: list[Any]
    probabilities: np.ndarray | None  # None for a regressor: its labels are the predicted values
    classes: list[Any]
    class_names: list[str]
    model: str
    version: int
    arm: str
    request_id: str

    def body(self) -> dict[str, Any]:
        """The predict route's answer (:class:`core.api.schemas.PredictResponse`), JSON-ready."""
        return {
            "predictions": self.labels,
            "probabilities": None if self.probabilities is None else self.probabilities.tolist(),
            "classes": self.classes,
            "class_names": self.class_names,
            "model": self.model,
            "version": self.version,
            "arm": self.arm,
            "request_id": self.request_id,
        }


class Predictor:
    """Serves requests on the arms of a model and keeps the log and the metrics of each."""

    def __init__(self, prediction_log: PredictionLog, metrics: ServiceMetrics) -> None:
        self.log = prediction_log
        self.metrics = metrics
        self._shadow_tasks: set[asyncio.Task] = set()

    @staticmethod
    def choose(served: ServedModel, routing_key: str | None) -> Arm:
        """The arm that answers: sticky by ``routing_key`` when given, by the traffic split otherwise."""
        arms = dict(served.arms)  # one consistent snapshot, even if a swap lands meanwhile
        alias = choose_arm(served.traffic or TrafficConfig(served.name), routing_key, names.CHALLENGER in arms)
        return arms.get(alias) or arms[names.CHAMPION]

    async def serve(
        self,
        arm: Arm,
        score: Score,
        *,
        route: str,
        inputs: dict[str, Any],
        routing_key: str | None,
        started: float,
        shadow: bool = False,
    ) -> Prediction:
        """Run ``score`` on ``arm``, log the request and count it; returns what it answered.

        The record is committed before this returns, so no answer is sent for a prediction a
        crash could lose. A shadow copy is logged under the arm ``shadow`` without waiting and
        is not counted in the request metrics (nobody is answered from it).

        Raises:
            ModelFailedError: the model raised; the request is logged with status ``error``.
        """
        handle = arm.handle
        alias = SHADOW if shadow else arm.alias
        request_id = uuid.uuid4().hex
        try:
            proba = await score(arm)
        except Exception as exc:
            # Without a signature nothing checked the values first: a value the model cannot convert is the
            # request's fault (422), not the model's (500).
            refused = isinstance(exc, (ValueError, TypeError)) and any(c.type == ANY for c in handle.columns)
            if not refused:
                log.exception("%s v%s failed to predict", handle.model_name, handle.version)
            failed = PredictionRecord(
                request_id=request_id,
                model=handle.model_name,
                version=handle.version,
                arm=alias,
                routing_key=routing_key,
                inputs=inputs,
                outputs=[],
                probabilities=None,
                latency_ms=(time.perf_counter() - started) * 1000,
                at=datetime.now(UTC),
                status="rejected" if refused else "error",
            )
            await self._write(failed, shadow)
            if not shadow:
                code = "422" if refused else "500"
                self.metrics.requests.labels(handle.model_name, str(arm.version), alias, route, code).inc()
            if refused:
                raise InvalidInputError(
                    f"{handle.model_name} v{handle.version} has no signature, so its inputs are not checked before "
                    f"the model, and the model could not use these values: {str(exc)[:300]}"
                ) from exc
            raise ModelFailedError(f"{handle.model_name} v{handle.version} failed to predict: {exc}") from exc
        classes = handle.classes
        if handle.task == REGRESSION:
            labels, proba = [float(v) for v in proba[:, 0]], None
        else:
            labels = [classes[i] for i in np.argmax(proba, axis=1)]
        await self._write(
            PredictionRecord.served(request_id, handle, alias, routing_key, inputs, labels, proba, started), shadow
        )
        if not shadow:
            self.observe(arm, route, started, labels)
        return Prediction(
            labels, proba, classes, handle.class_names, handle.model_name, handle.version, alias, request_id
        )

    def shadow(
        self, served: ServedModel, score: Score, *, route: str, inputs: dict[str, Any], routing_key: str | None
    ) -> None:
        """In shadow mode, serve a copy on the challenger in the background (the caller does not wait)."""
        traffic = served.traffic
        challenger = served.arms.get(names.CHALLENGER)
        if traffic is None or not traffic.shadow or challenger is None:
            return
        task = asyncio.create_task(self._shadow_copy(challenger, score, route, inputs, routing_key))
        self._shadow_tasks.add(task)  # keep a reference until it is done
        task.add_done_callback(self._shadow_tasks.discard)

    async def _shadow_copy(
        self, arm: Arm, score: Score, route: str, inputs: dict[str, Any], routing_key: str | None
    ) -> None:
        started = time.perf_counter()
        with contextlib.suppress(ModelFailedError):  # logged as a failed shadow request; nobody waits for it
            await self.serve(
                arm, score, route=route, inputs=inputs, routing_key=routing_key, started=started, shadow=True
            )

    def reject(self, served: ServedModel, route: str, detail: str) -> None:
        """Log a refused request (4xx) of a served model, so Monitoring counts every answered request.

        Written without waiting (nothing is answered from it), against the champion's version when one
        is loaded (0 otherwise), under the arm ``rejected``, which no A/B arm statistic reads.
        """
        champion = served.arms.get(names.CHAMPION)
        record = PredictionRecord(
            request_id=uuid.uuid4().hex,
            model=served.name,
            version=champion.version if champion is not None else 0,
            arm=REJECTED,
            routing_key=None,
            inputs={"route": route, "detail": detail[:500]},
            outputs=[],
            probabilities=None,
            latency_ms=0.0,
            at=datetime.now(UTC),
            status=REJECTED,
        )
        self.log.append_nowait(record)

    def observe(self, arm: Arm, route: str, started: float, labels: list[Any]) -> None:
        """Count one answered request: status 200, its latency and its predicted classes."""
        model, version = arm.handle.model_name, str(arm.version)
        self.metrics.requests.labels(model, version, arm.alias, route, "200").inc()
        self.metrics.latency.labels(model, version, arm.alias, route).observe(time.perf_counter() - started)
        for label in labels:
            self.metrics.predicted_class.labels(model, version, str(label)).inc()

    async def _write(self, record: PredictionRecord, shadow: bool) -> None:
        if shadow:
            self.log.append_nowait(record)
        else:
            await self.log.append(record)
