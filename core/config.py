"""Settings read from the environment, with embedded defaults.

Nothing is written outside ``MODELOPS_HOME`` unless a URL in the environment says so.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from core import names

DEFAULT_HOME = "./.modelops"
DEFAULT_API_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Settings:
    """Resolved configuration of one process.

    Attributes:
        home: Directory holding every file ModelOps writes by default.
        tracking_uri: MLflow tracking and registry URI.
        db_url: SQLAlchemy URL of the project's own store (alias history, prediction log).
        api_url: Base URL of the prediction service.
        api_token: Bearer token for mutating service routes (``None`` until generated).
        mlflow_ui_url: Base URL of an MLflow UI over the same tracking store; pages link runs to it.
        trusted_models: Models whose pickled (cloudpickle/pickle) versions may load, from
            ``MODELOPS_TRUSTED_MODELS`` (comma-separated names, or ``*`` for every model).
    """

    home: Path
    tracking_uri: str
    db_url: str
    api_url: str
    api_token: str | None
    mlflow_ui_url: str | None = None
    trusted_models: tuple[str, ...] = ()

    @property
    def artifact_root(self) -> Path:
        """Where MLflow artifacts go when the tracking URI is a local database."""
        return self.home / "artifacts"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read the settings from ``env`` (default: ``os.environ``)."""
        env = dict(os.environ if env is None else env)
        home = Path(env.get(names.ENV_HOME) or DEFAULT_HOME).expanduser().resolve()
        tracking_uri = env.get(names.ENV_TRACKING_URI) or f"sqlite:///{home / 'mlflow.db'}"
        db_url = env.get(names.ENV_DB_URL) or f"sqlite:///{home / 'modelops.db'}"
        return cls(
            home=home,
            tracking_uri=tracking_uri,
            db_url=db_url,
            api_url=(env.get(names.ENV_API_URL) or DEFAULT_API_URL).rstrip("/"),
            api_token=env.get(names.ENV_API_TOKEN) or None,
            mlflow_ui_url=(env.get(names.ENV_MLFLOW_UI_URL) or "").rstrip("/") or None,
            trusted_models=tuple(n.strip() for n in (env.get(names.ENV_TRUSTED_MODELS) or "").split(",") if n.strip()),
        )

    def ensure_home(self) -> Path:
        """Create ``home`` (and the artifact root) if missing; return ``home``."""
        self.artifact_root.mkdir(parents=True, exist_ok=True)
        return self.home

    def resolve_api_token(self) -> str:
        """The API token: from the environment, else the one kept in ``home``, else a new one.

        A generated token is written to ``home/api_token`` with mode 0600 so the dashboard,
        running as the same user, can read it.
        """
        if self.api_token:
            return self.api_token
        path = self.ensure_home() / "api_token"
        if path.exists():
            token = path.read_text().strip()
            if token:
                return token
        token = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(token)
        return token
