"""Every error the service answers, in one place: exception → HTTP status, always ``{"detail": ...}``.

Routes raise; nothing below a route builds an error response itself.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from core.api.schemas import ErrorResponse
from core.errors import (
    ModelFailedError,
    ModelNotFoundError,
    ModelOpsError,
    NotServedError,
    RequestNotFoundError,
    ServiceUnavailableError,
    UnauthorizedError,
    VersionNotFoundError,
)
from core.serving.metrics import ServiceMetrics

#: The first matching class decides; any other :class:`ModelOpsError` is the caller's input (422).
STATUS: tuple[tuple[type[ModelOpsError], int], ...] = (
    (UnauthorizedError, 401),
    (ModelNotFoundError, 404),
    (VersionNotFoundError, 404),
    (RequestNotFoundError, 404),
    (ModelFailedError, 500),
    (ServiceUnavailableError, 503),
    (NotServedError, 503),
    (ModelOpsError, 422),
)

#: ``responses=`` of the routes, so ``/docs`` shows the error body for each status.
ERRORS = {status: {"model": ErrorResponse} for status in (400, 404, 413, 422, 503)}
AUTH_ERRORS = {401: {"model": ErrorResponse}, **ERRORS}
PREDICT_ERRORS = {**ERRORS, 500: {"model": ErrorResponse}}

#: Routes whose refused requests are written to the prediction log (with status ``rejected``).
LOGGED_ROUTES = ("predict", "classify", "explain")

#: Route names for ``modelops_rejected_requests_total``, matched on the end of the path.
ROUTE_NAMES = ("predict", "classify", "explain", "train", "evaluate", "reset", "feedback", "traffic", "reload")


def status_of(exc: ModelOpsError) -> int:
    """The HTTP status that answers ``exc``."""
    return next(status for kind, status in STATUS if isinstance(exc, kind))


def route_name(request: Request) -> str:
    """The route a request was for, as a metric label (``other`` when it is none of ours)."""
    path = request.url.path
    return next((route for route in ROUTE_NAMES if path.endswith(route)), "other")


def validation_detail(exc: RequestValidationError) -> str:
    """Every problem pydantic found, each naming its field (``dataframe_split.data: ...``)."""
    problems = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            problems.append(f"malformed JSON: {err.get('ctx', {}).get('error', err.get('msg'))}")
            continue
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        problems.append(f"{where}: {err.get('msg')}")
    return "; ".join(problems) or "invalid request"


def install_error_handlers(app: FastAPI, metrics: ServiceMetrics) -> None:
    """Answer every :class:`ModelOpsError` and validation error as JSON, counting refusals."""

    def answer(request: Request, status: int, detail: str) -> JSONResponse:
        if status < 500:  # a 500 reached the model and is counted (and logged) with the requests
            route = route_name(request)
            metrics.rejected.labels(route, str(status)).inc()
            _log_rejection(request, route, detail)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)

    @app.exception_handler(ModelOpsError)
    async def modelops_error(request: Request, exc: ModelOpsError) -> JSONResponse:
        return answer(request, status_of(exc), str(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return answer(request, 422, validation_detail(exc))


def _log_rejection(request: Request, route: str, detail: str) -> None:
    """A refused predict/classify/explain request of a served model goes into the prediction log too."""
    if route not in LOGGED_ROUTES:
        return
    name = request.path_params.get("name")
    service = getattr(request.app.state, "service", None)
    served = service.manager.models.get(name) if service is not None and isinstance(name, str) else None
    if served is not None:  # unknown model names never write rows
        service.predictor.reject(served, route, detail)
