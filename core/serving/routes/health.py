"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from core.api.schemas import HealthResponse, ReadyResponse
from core.serving.state import Service

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive", response_model=HealthResponse)
async def healthz() -> HealthResponse:
    return HealthResponse(status="ok")


@router.get(
    "/readyz",
    summary="Every model with a champion serves it",
    response_model=ReadyResponse,
    responses={503: {"model": ReadyResponse, "description": "not ready: the same body, `ready` false"}},
)
async def readyz(service: Service) -> JSONResponse:
    manager = service.manager
    ready = ReadyResponse(ready=manager.ready(), models={m.name: m.state for m in manager.models.values()})
    return JSONResponse(ready.model_dump(), status_code=200 if ready.ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format)",
    response_class=PlainTextResponse,
)
async def prometheus_metrics(service: Service) -> PlainTextResponse:
    return PlainTextResponse(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)
