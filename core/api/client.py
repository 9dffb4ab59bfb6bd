"""A small typed client of the prediction service, used by the dashboard and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from core.config import Settings
from core.errors import ModelOpsError


class ServiceUnreachableError(ModelOpsError):
    """The prediction service did not answer (not started, wrong URL, or failing)."""


@dataclass(frozen=True)
class ServiceStatus:
    """What the service says about itself."""

    url: str
    alive: bool
    ready: bool
    models: dict[str, dict[str, Any]]
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

    def status(self) -> ServiceStatus:
        """Liveness, readiness and what each model's arms serve; never raises."""
        try:
            ready = self._request("GET", "/readyz").status_code == 200
            models = {m["name"]: m for m in self._request("GET", "/v1/models").json()["models"]}
        except ServiceUnreachableError as exc:
            return ServiceStatus(self.url, False, False, {}, str(exc))
        return ServiceStatus(self.url, True, ready, models)

    def reload(self) -> dict[str, dict[str, Any]]:
        """Ask the service to follow the registry now; returns the served models by name."""
        body = self._request("POST", "/v1/admin/reload", auth=True, timeout=120).json()
        return {m["name"]: m for m in body["models"]}

    def set_traffic(self, model: str, challenger_share: float, shadow: bool = False) -> dict[str, Any]:
        """Set the A/B split of ``model``."""
        return self._request(
            "PUT",
            f"/v1/models/{model}/traffic",
            auth=True,
            json={"challenger_share": challenger_share, "shadow": shadow},
        ).json()

    def online_state(self, model: str) -> dict[str, Any]:
        """The online candidate of ``model``: parent version, rows since, last gate decision."""
        return self._request("GET", f"/v1/models/{model}/train").json()

    def online_evaluate(self, model: str, register: bool, promote: bool = False) -> dict[str, Any]:
        """Judge the candidate now; register (and promote) it if it passes."""
        params = {"register": str(register).lower(), "promote": str(promote).lower()}
        return self._request("POST", f"/v1/models/{model}/train/evaluate", auth=True, params=params, timeout=120).json()

    def online_reset(self, model: str) -> dict[str, Any]:
        """Discard the candidate; it restarts from the champion."""
        return self._request("POST", f"/v1/models/{model}/train/reset", auth=True, timeout=60).json()
