"""What is served, the A/B split, and following the registry now."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from core import names
from core.api.schemas import ServedModelInfo, ServedModels, TrafficRequest, TrustRequest, TrustResponse
from core.errors import InvalidInputError
from core.registry.types import current_actor
from core.serving.auth import REQUIRE_TOKEN
from core.serving.errors import AUTH_ERRORS
from core.serving.state import Service
from core.store.traffic import TrafficConfig, save_traffic
from core.store.trust import record_trust, trust_of

router = APIRouter()


@router.get(
    "/v1/models",
    tags=["models"],
    summary="What is served: versions per arm, traffic, load state",
    response_model=ServedModels,
)
async def list_served(service: Service) -> ServedModels:
    return service.manager.describe()


@router.put(
    "/v1/models/{name}/traffic",
    tags=["admin"],
    summary="Set the A/B split (authenticated)",
    response_model=ServedModelInfo,
    responses=AUTH_ERRORS,
    dependencies=[REQUIRE_TOKEN],
)
async def put_traffic(name: str, body: TrafficRequest, service: Service) -> ServedModelInfo:
    served = service.manager.get(name)
    if (body.challenger_share > 0 or body.shadow) and names.CHALLENGER not in served.wanted:
        raise InvalidInputError(
            f"model {name!r} has no challenger, so there is nothing to send traffic to; set the "
            f"'{names.CHALLENGER}' alias on a version first (Registry page, or MLflow's set_registered_model_alias)"
        )
    wanted = TrafficConfig(name, body.challenger_share, body.shadow)
    served.traffic = await asyncio.to_thread(save_traffic, service.manager.registry.store, wanted, current_actor())
    return served.describe()


@router.post(
    "/v1/admin/reload",
    tags=["admin"],
    summary="Follow the registry now: load and swap in moved aliases (authenticated)",
    response_model=ServedModels,
    responses=AUTH_ERRORS,
    dependencies=[REQUIRE_TOKEN],
)
async def reload(service: Service) -> ServedModels:
    return await asyncio.to_thread(service.manager.sync, True)


@router.post(
    "/v1/models/{name}/trust",
    tags=["admin"],
    summary="Trust (or stop trusting) a model's pickled versions (authenticated, recorded)",
    response_model=TrustResponse,
    responses=AUTH_ERRORS,
    dependencies=[REQUIRE_TOKEN],
)
async def trust(name: str, body: TrustRequest, service: Service) -> TrustResponse:
    registry = service.manager.registry
    await asyncio.to_thread(registry.get_model, name)  # 404 for a model the registry does not have
    await asyncio.to_thread(record_trust, registry.store, name, body.trusted, current_actor(), body.reason)
    state = await asyncio.to_thread(service.manager.sync, True)  # failed loads are tried again now
    decided = trust_of(registry.store, name, service.settings.trusted_models)
    served = next((m for m in state.models if m.name == name), None)
    return TrustResponse(model=name, trusted=decided.trusted, why=decided.why, served=served)
