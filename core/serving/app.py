"""The FastAPI application: ``python -m core serve``.

Routes are thin: they parse, call core functions (tabular parsing, routing, the model
manager, the prediction log) and shape the answer.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Annotated, Any

import numpy as np
from fastapi import Depends, FastAPI, File, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from core import __version__, names
from core.analysis.explain import ExplainerCache, TabularExplainer, explained_classes
from core.analysis.image_drift import image_stats
from core.api.schemas import (
    ClassifyResponse,
    ClassScore,
    ErrorResponse,
    ExplainRequest,
    ExplainResponse,
    FeedbackRequest,
    FeedbackResponse,
    PredictRequest,
    PredictResponse,
    TrafficRequest,
    TrainRequest,
)
from core.config import Settings
from core.errors import (
    InvalidInputError,
    ModelNotFoundError,
    ModelOpsError,
    RequestNotFoundError,
    VersionNotFoundError,
)
from core.online.learner import update_json
from core.registry.facade import current_actor
from core.registry.reference import load_version_frame
from core.runtime.classify import classify_images
from core.runtime.tabular import PAYLOAD_KEYS, payload_to_matrix
from core.serving.config import ServiceConfig
from core.serving.drift_monitor import DriftMonitor
from core.serving.manager import Arm, ModelManager, ServedModel
from core.serving.metrics import ServiceMetrics
from core.serving.online import NotServedError, OnlineService
from core.serving.routing import SHADOW, choose_arm
from core.store.predlog import PredictionLog, PredictionRecord, record_feedback
from core.store.traffic import TrafficConfig, save_traffic

log = logging.getLogger(__name__)

ERRORS = {
    400: {"model": ErrorResponse},
    404: {"model": ErrorResponse},
    413: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
    503: {"model": ErrorResponse},
}
AUTH_ERRORS = {401: {"model": ErrorResponse}, **ERRORS}


class ServiceUnavailableError(ModelOpsError):
    """The model exists but no version of it is loaded."""


class BodyLimitMiddleware:
    """Refuse bodies over the limit with 413 before the route reads them (pure ASGI)."""

    def __init__(self, app: Any, json_limit: int, upload_limit: int) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.upload_limit if scope["path"].endswith("/classify") else self.json_limit
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        received = 0

        async def limited_receive() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await _too_large(send, limit)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Any, limit: int) -> None:
    body = json.dumps({"detail": f"request body is larger than the limit of {limit:,} bytes"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def create_app(settings: Settings | None = None, config: ServiceConfig | None = None) -> FastAPI:
    """Build the service for ``settings`` (default: from the environment)."""
    settings = settings or Settings.from_env()
    config = config or ServiceConfig.from_env()
    token = settings.resolve_api_token()
    metrics = ServiceMetrics()
    manager = ModelManager(settings, config, metrics)
    prediction_log = PredictionLog(manager.registry.store, batch_max=config.log_batch_max)
    drift_monitor = DriftMonitor(manager, metrics, config.drift_interval_s, config.drift_window)
    online = OnlineService(manager, config, metrics)
    require_token = Depends(BearerToken(token))
    explainers = ExplainerCache(
        lambda model, version: load_version_frame(manager.registry, model, version, "reference")
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(manager.sync)
        manager.start_polling()
        drift_monitor.start()
        online.start()
        # Loaded models (MLflow, sklearn, Keras) are large object graphs the collector would
        # otherwise re-scan in every full collection: measured p99 170 ms -> 17 ms at 16 clients.
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        yield
        drift_monitor.stop()
        online.stop()
        manager.stop()
        prediction_log.close()

    app = FastAPI(
        title="ModelOps prediction service",
        version=__version__,
        description="MLflow-compatible predictions with A/B routing, zero-downtime version swaps, "
        "a durable prediction log and Prometheus metrics.",
        lifespan=lifespan,
    )
    app.state.manager = manager
    app.state.prediction_log = prediction_log
    app.state.metrics = metrics
    app.state.online = online
    app.add_middleware(BodyLimitMiddleware, json_limit=config.max_body_bytes, upload_limit=config.max_image_bytes)

    # -- errors: always a JSON body naming the problem ------------------------------------
    @app.exception_handler(_Unauthorized)
    async def _unauthorized(request: Request, exc: _Unauthorized) -> JSONResponse:
        return _reject(request, 401, str(exc), headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(ModelOpsError)
    async def _modelops_error(request: Request, exc: ModelOpsError) -> JSONResponse:
        status = 422
        if isinstance(exc, (ModelNotFoundError, VersionNotFoundError, RequestNotFoundError)):
            status = 404
        elif isinstance(exc, (ServiceUnavailableError, NotServedError)):
            status = 503
        return _reject(request, status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                problems.append(f"malformed JSON: {err.get('ctx', {}).get('error', err.get('msg'))}")
                continue
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
            problems.append(f"{where}: {err.get('msg')}")
        return _reject(request, 422, "; ".join(problems) or "invalid request")

    def _reject(request: Request, status: int, detail: str, headers: dict | None = None) -> JSONResponse:
        metrics.rejected.labels(_route_name(request), str(status)).inc()
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)

    # -- routes -------------------------------------------------------------------------------
    @app.get("/healthz", tags=["health"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], summary="Every model with a champion serves it", responses=ERRORS)
    async def readyz() -> JSONResponse:
        ready = manager.ready()
        body = {"ready": ready, "models": {m.name: m.state for m in manager.models.values()}}
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["health"], summary="Prometheus metrics", response_class=PlainTextResponse)
    async def prometheus_metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models", tags=["models"], summary="What is served: versions per arm, traffic, load state")
    async def list_served() -> dict[str, Any]:
        return manager.describe()

    @app.post(
        "/v1/models/{name}/predict",
        tags=["predict"],
        summary="Predict tabular rows (MLflow scoring protocol)",
        response_model=PredictResponse,
        responses=ERRORS,
    )
    async def predict(name: str, body: PredictRequest) -> JSONResponse:
        started = time.perf_counter()
        served = _served(name, "tabular")
        arm = _pick_arm(served, body.routing_key)
        # Attribute access, not model_dump(): dumping would deep-copy every row once more.
        payload = {key: getattr(body, key) for key in PAYLOAD_KEYS}
        matrix = payload_to_matrix(payload, arm.handle.columns, config.max_rows)
        try:
            proba = await arm.batcher.predict(matrix)
        except Exception as exc:  # the model itself failed: log it against the arm, answer 500
            log.exception("%s v%s failed to predict", name, arm.version)
            failed = PredictionRecord.served(
                uuid.uuid4().hex, arm.handle, arm.alias, body.routing_key, {}, [], np.zeros((0, 0)), started
            )
            await prediction_log.append(replace(failed, status="error"))
            metrics.requests.labels(name, str(arm.version), arm.alias, "predict", "500").inc()
            return JSONResponse({"detail": f"{name} v{arm.version} failed to predict: {exc}"}, status_code=500)
        classes = arm.handle.classes
        labels = [classes[i] for i in np.argmax(proba, axis=1)]
        request_id = uuid.uuid4().hex
        # Logged in dataframe_split form: compact, and it replays through the predict route.
        inputs = {"columns": [c.name for c in arm.handle.columns], "data": matrix.tolist()}
        await prediction_log.append(
            PredictionRecord.served(request_id, arm.handle, arm.alias, body.routing_key, inputs, labels, proba, started)
        )
        _observe(name, arm, "predict", started, labels)
        _shadow(served, body.routing_key, lambda shadow_arm: _shadow_predict(shadow_arm, matrix, inputs, body))
        # Returned as a response, so FastAPI does not re-validate what we just built;
        # `response_model` above still documents the shape.
        return JSONResponse(
            {
                "predictions": labels,
                "probabilities": proba.tolist(),
                "classes": classes,
                "model": name,
                "version": arm.version,
                "arm": arm.alias,
                "request_id": request_id,
            }
        )

    async def _shadow_predict(arm: Arm, matrix: np.ndarray, inputs: dict, body: PredictRequest) -> None:
        started = time.perf_counter()
        proba = await arm.batcher.predict(matrix)
        labels = [arm.handle.classes[i] for i in np.argmax(proba, axis=1)]
        prediction_log.append_nowait(
            PredictionRecord.served(
                uuid.uuid4().hex, arm.handle, SHADOW, body.routing_key, inputs, labels, proba, started
            )
        )

    @app.post(
        "/v1/models/{name}/classify",
        tags=["predict"],
        summary="Classify one image (multipart field `image`)",
        response_model=ClassifyResponse,
        responses=ERRORS,
    )
    async def classify(
        name: str,
        image: Annotated[UploadFile, File(description="PNG, JPEG, WebP, BMP, GIF or TIFF")],
        k: Annotated[int, Query(ge=1, le=100, description="how many classes to return")] = 5,
        routing_key: Annotated[str | None, Query(max_length=256)] = None,
    ) -> ClassifyResponse:
        started = time.perf_counter()
        served = _served(name, "image")
        arm = _pick_arm(served, routing_key)
        data = await image.read(config.max_image_bytes + 1)
        if len(data) > config.max_image_bytes:
            raise InvalidInputError(f"the image is larger than the limit of {config.max_image_bytes:,} bytes")
        (result,) = await asyncio.to_thread(
            classify_images, arm.handle, [(image.filename or "image", data)], max_pixels=config.max_image_pixels
        )
        if not result.ok:
            raise InvalidInputError(result.error or "the image could not be classified")
        top = [ClassScore(label=label, probability=p) for label, p in result.top_k(k)]
        proba = result.probabilities
        decoded = result.original
        request_id = uuid.uuid4().hex
        await prediction_log.append(
            PredictionRecord.served(
                request_id,
                arm.handle,
                arm.alias,
                routing_key,
                {"filename": image.filename, "bytes": len(data), **image_stats(decoded)},
                [top[0].label],
                proba[None, :],
                started,
            )
        )
        _observe(name, arm, "classify", started, [top[0].label])
        return ClassifyResponse(top_k=top, model=name, version=arm.version, arm=arm.alias, request_id=request_id)

    @app.post(
        "/v1/models/{name}/explain",
        tags=["predict"],
        summary="SHAP values of tabular rows (any predict payload shape)",
        response_model=ExplainResponse,
        responses=ERRORS,
    )
    async def explain(name: str, body: ExplainRequest) -> JSONResponse:
        started = time.perf_counter()
        served = manager.get(name)
        if served.kind == "image":
            raise InvalidInputError(
                f"model {name!r} is an image model; the API explains tabular rows. "
                "Image saliency is on the dashboard's Explain and Classify pages"
            )
        served = _served(name, "tabular")
        arms = dict(served.arms)
        if body.version is None:
            arm = arms[names.CHAMPION]
        else:
            arm = next((a for a in arms.values() if a.version == body.version), None)
            if arm is None:
                serving = sorted({a.version for a in arms.values()})
                raise VersionNotFoundError(f"version {body.version} of {name!r} is not served; served: {serving}")
        payload = {key: getattr(body, key) for key in PAYLOAD_KEYS}
        matrix = payload_to_matrix(payload, arm.handle.columns, config.max_explain_rows)
        explainer = await asyncio.to_thread(explainers.get, arm.handle)
        assert isinstance(explainer, TabularExplainer)
        expl = await asyncio.to_thread(explainer.explain, matrix)
        ks = explained_classes(expl, body.output_class)
        rows = range(expl.data.shape[0])
        outputs = expl.outputs
        _observe(name, arm, "explain", started, [])
        return JSONResponse(
            {
                "model": name,
                "version": arm.version,
                "method": expl.method,
                "feature_names": expl.feature_names,
                "classes": expl.classes,
                "explained_class": [expl.classes[k] for k in ks],
                "base_value": [float(expl.base_values[k]) for k in ks],
                "shap_values": [expl.values[i, :, k].tolist() for i, k in zip(rows, ks, strict=True)],
                "output": [float(outputs[i, k]) for i, k in zip(rows, ks, strict=True)],
            }
        )

    @app.post(
        "/v1/models/{name}/train",
        tags=["online learning"],
        summary="Apply labelled rows to the model's online candidate (authenticated)",
        responses=AUTH_ERRORS,
        dependencies=[require_token],
    )
    async def train(name: str, body: TrainRequest) -> dict[str, Any]:
        served = _served(name, "tabular")
        learner = await _learner(name)
        payload = {key: getattr(body, key) for key in PAYLOAD_KEYS}
        matrix = payload_to_matrix(payload, served.arms[names.CHAMPION].handle.columns, config.max_rows)
        result = await asyncio.wrap_future(learner.submit(matrix, body.labels))
        metrics.online_batches.labels(name).inc(result.rows)
        if result.update is not None:
            metrics.online_updates.labels(name, result.update.event).inc()
        return {
            "model": name,
            "batch": result.batch,
            "rows": result.rows,
            "rows_since_parent": result.rows_since_parent,
            "parent_version": result.parent_version,
            "update": None if result.update is None else update_json(result.update),
        }

    @app.post(
        "/v1/models/{name}/train/evaluate",
        tags=["online learning"],
        summary="Judge the candidate now; register (and promote) it if it passes (authenticated)",
        responses=AUTH_ERRORS,
        dependencies=[require_token],
    )
    async def train_evaluate(
        name: str,
        register: Annotated[bool | None, Query(description="register if it passes (default: configured)")] = None,
        promote: Annotated[bool | None, Query(description="promote once registered (default: configured)")] = None,
    ) -> dict[str, Any]:
        learner = await _learner(name)
        update = await asyncio.wrap_future(learner.evaluate(register, promote))
        metrics.online_updates.labels(name, update.event).inc()
        return {"model": name, **update_json(update)}

    @app.post(
        "/v1/models/{name}/train/reset",
        tags=["online learning"],
        summary="Discard the candidate; it restarts from the champion (authenticated)",
        responses=AUTH_ERRORS,
        dependencies=[require_token],
    )
    async def train_reset(name: str) -> dict[str, Any]:
        learner = await _learner(name)
        return await asyncio.wrap_future(learner.reset())

    @app.get(
        "/v1/models/{name}/train",
        tags=["online learning"],
        summary="The online candidate: parent version, rows since, last gate decision",
        responses=ERRORS,
    )
    async def train_state(name: str) -> dict[str, Any]:
        _served(name, "tabular")
        return online.describe(name)

    @app.post(
        "/v1/feedback",
        tags=["predict"],
        summary="Attach the true label to a served request",
        response_model=FeedbackResponse,
        responses=ERRORS,
    )
    async def post_feedback(body: FeedbackRequest) -> FeedbackResponse:
        stored = await asyncio.to_thread(record_feedback, manager.registry.store, body.request_id, body.label)
        return FeedbackResponse(**stored)

    @app.put(
        "/v1/models/{name}/traffic",
        tags=["admin"],
        summary="Set the A/B split (authenticated)",
        responses=AUTH_ERRORS,
        dependencies=[require_token],
    )
    async def put_traffic(name: str, body: TrafficRequest) -> dict[str, Any]:
        served = manager.get(name)
        config_ = TrafficConfig(name, body.challenger_share, body.shadow)
        await asyncio.to_thread(save_traffic, manager.registry.store, config_, current_actor())
        served.traffic = config_
        return served.describe()

    @app.post(
        "/v1/admin/reload",
        tags=["admin"],
        summary="Follow the registry now: load and swap in moved aliases (authenticated)",
        responses=AUTH_ERRORS,
        dependencies=[require_token],
    )
    async def reload() -> dict[str, Any]:
        return await asyncio.to_thread(manager.sync)

    # -- helpers ------------------------------------------------------------------------------
    async def _learner(name: str) -> Any:
        """The online candidate of a served tabular model (built off the event loop on first use)."""
        _served(name, "tabular")
        return await asyncio.to_thread(online.learner, name)

    def _served(name: str, kind: str) -> ServedModel:
        served = manager.get(name)
        if names.CHAMPION not in served.arms:
            raise ServiceUnavailableError(
                f"model {name!r} has no loaded version yet" + (f": {served.last_error}" if served.last_error else "")
            )
        if served.kind != kind:
            route = "predict" if served.kind == "tabular" else "classify"
            raise InvalidInputError(f"model {name!r} is an {served.kind} model; use POST /v1/models/{name}/{route}")
        return served

    def _pick_arm(served: ServedModel, routing_key: str | None) -> Arm:
        arms = dict(served.arms)  # one consistent snapshot, even if a swap lands meanwhile
        alias = choose_arm(served.traffic or TrafficConfig(served.name), routing_key, names.CHALLENGER in arms)
        return arms.get(alias) or arms[names.CHAMPION]

    def _shadow(served: ServedModel, routing_key: str | None, run: Any) -> None:
        traffic = served.traffic
        challenger = served.arms.get(names.CHALLENGER)
        if traffic is not None and traffic.shadow and challenger is not None:
            task = asyncio.create_task(run(challenger))
            _background.add(task)
            task.add_done_callback(_background.discard)

    def _observe(name: str, arm: Arm, route: str, started: float, labels: list) -> None:
        version = str(arm.version)
        metrics.requests.labels(name, version, arm.alias, route, "200").inc()
        metrics.latency.labels(name, version, arm.alias, route).observe(time.perf_counter() - started)
        for label in labels:
            metrics.predicted_class.labels(name, version, str(label)).inc()

    return app


_background: set[asyncio.Task] = set()


class _Unauthorized(Exception):
    pass


class BearerToken(HTTPBearer):
    """``Authorization: Bearer <token>`` must carry the service's token (constant-time check)."""

    def __init__(self, token: str) -> None:
        super().__init__(auto_error=False, description="MODELOPS_API_TOKEN")
        self._token = token.encode()

    async def __call__(self, request: Request) -> HTTPAuthorizationCredentials:  # type: ignore[override]
        creds = await super().__call__(request)
        if creds is None:
            raise _Unauthorized("missing bearer token: send 'Authorization: Bearer $MODELOPS_API_TOKEN'")
        if not secrets.compare_digest(creds.credentials.encode(), self._token):
            raise _Unauthorized("invalid bearer token")
        return creds


def _route_name(request: Request) -> str:
    path = request.url.path
    for route in ("predict", "classify", "explain", "train", "evaluate", "reset", "feedback", "traffic", "reload"):
        if path.endswith(route):
            return route
    return "other"


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Run the service with uvicorn (blocking)."""
    import sys

    import uvicorn

    # The predict thread runs Python-level loops (a forest visits each tree); with the default
    # 5 ms switch interval the event loop waits that long for the GIL on every hand-over.
    sys.setswitchinterval(float(os.environ.get("MODELOPS_GIL_SWITCH_S", "0.0005")))
    if workers > 1:
        uvicorn.run("core.serving.app:create_app", factory=True, host=host, port=port, workers=workers)
    else:
        uvicorn.run(create_app(), host=host, port=port, log_level="info", access_log=False)
