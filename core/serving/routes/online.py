"""Online learning: labelled rows for a model's candidate, its evaluation, reset and state."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query

from core import names
from core.api.schemas import EvaluateResponse, OnlineState, OnlineUpdate, TrainRequest, TrainResponse
from core.online.learner import update_json
from core.serving.auth import REQUIRE_TOKEN
from core.serving.errors import AUTH_ERRORS, ERRORS
from core.serving.state import Service, rows_of

router = APIRouter(tags=["online learning"])


@router.post(
    "/v1/models/{name}/train",
    summary="Apply labelled rows to the model's online candidate (authenticated)",
    response_model=TrainResponse,
    responses=AUTH_ERRORS,
    dependencies=[REQUIRE_TOKEN],
)
async def train(name: str, body: TrainRequest, service: Service) -> TrainResponse:
    served = service.served(name, "tabular")
    learner = await service.learner(name)
    matrix = rows_of(body, served.arms[names.CHAMPION].handle.columns, service.config.max_rows)
    result = await asyncio.wrap_future(learner.submit(matrix, body.labels))
    service.metrics.online_batches.labels(name).inc(result.rows)
    if result.update is not None:
        service.metrics.online_updates.labels(name, result.update.event).inc()
    return TrainResponse(
        model=name,
        batch=result.batch,
        rows=result.rows,
        rows_since_parent=result.rows_since_parent,
        parent_version=result.parent_version,
        update=None if result.update is None else OnlineUpdate.model_validate(update_json(result.update)),
    )


@router.post(
    "/v1/models/{name}/train/evaluate",
    summary="Judge the candidate now; register (and promote) it if it passes (authenticated)",
    response_model=EvaluateResponse,
    responses=AUTH_ERRORS,
    dependencies=[REQUIRE_TOKEN],
)
async def train_evaluate(
    name: str,
    service: Service,
    register: Annotated[bool | None, Query(description="register if it passes (default: configured)")] = None,
    promote: Annotated[bool | None, Query(description="promote once registered (default: configured)")] = None,
) -> EvaluateResponse:
    learner = await service.learner(name)
    update = await asyncio.wrap_future(learner.evaluate(register, promote))
    service.metrics.online_updates.labels(name, update.event).inc()
    return EvaluateResponse(model=name, **update_json(update))


@router.post(
    "/v1/models/{name}/train/reset",
    summary="Discard the candidate; it restarts from the champion (authenticated)",
    response_model=OnlineState,
    responses=AUTH_ERRORS,
    dependencies=[REQUIRE_TOKEN],
)
async def train_reset(name: str, service: Service) -> OnlineState:
    learner = await service.learner(name)
    return OnlineState.model_validate(await asyncio.wrap_future(learner.reset()))


@router.get(
    "/v1/models/{name}/train",
    summary="The online candidate: parent version, rows since, last gate decision",
    response_model=OnlineState,
    responses=ERRORS,
)
async def train_state(name: str, service: Service) -> OnlineState:
    service.served(name, "tabular")
    return service.online.describe(name)
