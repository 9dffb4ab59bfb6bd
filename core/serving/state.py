"""Everything one running service holds, reached by routes through the :data:`Service` dependency."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from fastapi import Depends, Request
from pydantic import BaseModel

from core import names
from core.analysis.explain import ExplainerCache
from core.config import Settings
from core.errors import InvalidInputError, ServiceUnavailableError
from core.labels import as_classes
from core.online.learner import OnlineLearner
from core.registry.reference import load_version_frame
from core.runtime.handles import REGRESSION
from core.runtime.tabular import PAYLOAD_KEYS, Column, payload_to_matrix
from core.serving.config import ServiceConfig
from core.serving.drift_monitor import DriftMonitor
from core.serving.manager import ModelManager, ServedModel
from core.serving.metrics import ServiceMetrics
from core.serving.online import OnlineService
from core.serving.predictor import Predictor
from core.store.predlog import PredictionLog


@dataclass(frozen=True)
class ServiceState:
    """The parts of one service: what is served, the log, the metrics, learners and explainers."""

    settings: Settings
    config: ServiceConfig
    metrics: ServiceMetrics
    manager: ModelManager
    prediction_log: PredictionLog
    predictor: Predictor
    drift_monitor: DriftMonitor
    online: OnlineService
    explainers: ExplainerCache

    @classmethod
    def build(cls, settings: Settings, config: ServiceConfig) -> ServiceState:
        """Wire the parts together (nothing is loaded until :meth:`start`)."""
        metrics = ServiceMetrics()
        manager = ModelManager(settings, config, metrics)
        prediction_log = PredictionLog(manager.registry.store, batch_max=config.log_batch_max)
        return cls(
            settings=settings,
            config=config,
            metrics=metrics,
            manager=manager,
            prediction_log=prediction_log,
            predictor=Predictor(prediction_log, metrics),
            drift_monitor=DriftMonitor(manager, metrics, config.drift_interval_s, config.drift_window),
            online=OnlineService(manager, config, metrics),
            explainers=ExplainerCache(
                lambda model, version: load_version_frame(manager.registry, model, version, "reference")
            ),
        )

    async def start(self) -> None:
        """Load what the registry's aliases name, then follow the registry in the background."""
        await asyncio.to_thread(self.manager.sync)
        self.manager.start_polling()
        self.drift_monitor.start()
        self.online.start()

    def stop(self) -> None:
        """Stop the background work and flush the prediction log."""
        self.drift_monitor.stop()
        self.online.stop()
        self.manager.stop()
        self.prediction_log.close()

    # -- what routes ask for ----------------------------------------------------------------
    def served(self, name: str, kind: str) -> ServedModel:
        """``name`` with a loaded champion, of ``kind`` (``tabular`` or ``image``).

        Raises:
            ModelNotFoundError: ``name`` is not served.
            ServiceUnavailableError: no version of it is loaded (yet).
            InvalidInputError: it is the other kind of model (the error names the right route).
        """
        served = self.manager.get(name)
        if names.CHAMPION not in served.arms:
            raise ServiceUnavailableError(
                f"model {name!r} has no loaded version yet" + (f": {served.last_error}" if served.last_error else "")
            )
        if served.kind != kind:
            route = "predict" if served.kind == "tabular" else "classify"
            article = "an" if (served.kind or "")[:1] in ("a", "e", "i", "o", "u") else "a"
            raise InvalidInputError(
                f"model {name!r} is {article} {served.kind} model; use POST /v1/models/{name}/{route}"
            )
        return served

    def feedback_label(self, model: str, version: int, label: Any) -> Any:
        """``label`` as a class of ``model`` v``version`` (the served champion's when that is not loaded).

        Raises:
            InvalidInputError: the label is not one of the model's classes.
        """
        served = self.manager.models.get(model)
        arms = dict(served.arms) if served else {}
        same = [a.handle for a in arms.values() if a.version == version]
        handle = same[0] if same else (arms[names.CHAMPION].handle if names.CHAMPION in arms else None)
        if handle is not None and handle.task == REGRESSION:
            if type(label) not in (int, float) or not math.isfinite(label):
                raise InvalidInputError(
                    f"{model} v{version} is a regressor: the label must be a finite number, got {label!r}"[:300]
                )
            return float(label)
        if handle is None or not handle.classes:
            return label
        return as_classes([label], handle.classes, handle.class_names, what="label")[0]

    async def learner(self, name: str) -> OnlineLearner:
        """The online candidate of a served tabular model (built off the event loop on first use)."""
        self.served(name, "tabular")
        return await asyncio.to_thread(self.online.learner, name)


def rows_of(body: BaseModel, columns: list[Column], max_rows: int) -> np.ndarray:
    """The validated feature matrix of a request in any MLflow scoring payload shape."""
    # Attribute access, not model_dump(): dumping would deep-copy every row once more.
    payload = {key: getattr(body, key) for key in PAYLOAD_KEYS}
    return payload_to_matrix(payload, columns, max_rows)


async def get_service(request: Request) -> ServiceState:
    """The service of the app answering ``request`` (async: no thread hop per request)."""
    return request.app.state.service


#: A route parameter ``service: Service`` receives the running :class:`ServiceState`.
Service = Annotated[ServiceState, Depends(get_service)]
