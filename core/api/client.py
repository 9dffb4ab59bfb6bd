"""A small typed client of the prediction service, used by the dashboard and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from core.api.schemas import EvaluateResponse, OnlineState, ServedModelInfo, ServedModels
from core.config import Settings
from core.errors import ServiceUnreachableError

Answer = TypeVar("Answer", bound=BaseModel)


@dataclass(frozen=True)
class ServiceStatus:
    """What the service says about itself."""

    url: str
    alive: bool
    ready: bool
    models: dict[str, ServedModelInfo]
    error: str | None = None


class ServiceClient:
    """Calls the service at ``settings.api_url`` with the bearer token for mutating routes."""

    def __init__(self, settings: Settings, timeout: float = 5.0) -> None:
        self.url = settings.api_url
        self._settings = settings
        self.timeout = timeout

    def _request(self, method: str, path: str, *, auth: bool = False, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._settings.resolve_api_token()}"} if auth else {}
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = httpx.request(method, f"{self.url}{path}", headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise ServiceUnreachableError(f"the prediction service at {self.url} did not answer: {exc}") from exc
        if response.status_code >= 400 and path != "/readyz":
            detail = response.json().get("detail") if "json" in response.headers.get("content-type", "") else ""
            raise ServiceUnreachableError(f"{method} {path} answered {response.status_code}: {detail or response.text}")
        return response

    def _call(self, answer: type[Answer], method: str, path: str, **kwargs: Any) -> Answer:
        """``method path`` answered as ``answer`` (a service that answers another shape is an error too)."""
        response = self._request(method, path, **kwargs)
        try:
            return answer.model_validate_json(response.content)
        except ValidationError as exc:
            raise ServiceUnreachableError(
                f"{method} {path} answered a body that is not a {answer.__name__} "
                f"(is {self.url} a ModelOps service of this version?): {exc.errors()[0]['msg']}"
            ) from exc

    def status(self) -> ServiceStatus:
        """Liveness, readiness and what each model's arms serve; never raises."""
        try:
            ready = self._request("GET", "/readyz").status_code == 200
            served = self._call(ServedModels, "GET", "/v1/models")
        except ServiceUnreachableError as exc:
            return ServiceStatus(self.url, False, False, {}, str(exc))
        return ServiceStatus(self.url, True, ready, served.by_name())

    def reload(self) -> ServedModels:
        """Ask the service to follow the registry now; returns what it serves afterwards."""
        return self._call(ServedModels, "POST", "/v1/admin/reload", auth=True, timeout=120)

    def set_traffic(self, model: str, challenger_share: float, shadow: bool = False) -> ServedModelInfo:
        """Set the A/B split of ``model``; returns its serving state with the new split."""
        body = {"challenger_share": challenger_share, "shadow": shadow}
        return self._call(ServedModelInfo, "PUT", f"/v1/models/{model}/traffic", auth=True, json=body)

    def online_state(self, model: str) -> OnlineState:
        """The online candidate of ``model``: parent version, rows since, last gate decision."""
        return self._call(OnlineState, "GET", f"/v1/models/{model}/train")

    def online_evaluate(self, model: str, register: bool, promote: bool = False) -> EvaluateResponse:
        """Judge the candidate now; register (and promote) it if it passes."""
        params = {"register": str(register).lower(), "promote": str(promote).lower()}
        path = f"/v1/models/{model}/train/evaluate"
        return self._call(EvaluateResponse, "POST", path, auth=True, params=params, timeout=120)

    def online_reset(self, model: str) -> OnlineState:
        """Discard the candidate; it restarts from the champion."""
        return self._call(OnlineState, "POST", f"/v1/models/{model}/train/reset", auth=True, timeout=60)
