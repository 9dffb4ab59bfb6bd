"""What the registry facade answers: models, versions, comparisons, and who is acting."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from core import names


@dataclass(frozen=True)
class ModelSummary:
    """One registered model with its aliases."""

    name: str
    description: str
    latest_version: int | None
    version_count: int
    aliases: dict[str, int]
    updated_at: datetime | None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def champion(self) -> int | None:
        """The version carrying ``champion``, if any."""
        return self.aliases.get(names.CHAMPION)

    @property
    def challenger(self) -> int | None:
        """The version carrying ``challenger``, if any."""
        return self.aliases.get(names.CHALLENGER)


@dataclass(frozen=True)
class VersionInfo:
    """One model version with what its run logged."""

    model: str
    version: int
    run_id: str | None
    source: str
    status: str
    created_at: datetime
    aliases: tuple[str, ...]
    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]
    description: str
    experiment_id: str | None = None


@dataclass(frozen=True)
class VersionComparison:
    """Two versions side by side: metric deltas (b - a) and parameters that differ."""

    model: str
    a: VersionInfo
    b: VersionInfo
    metrics: pd.DataFrame
    params: pd.DataFrame


def current_actor() -> str:
    """Who is acting: ``MODELOPS_ACTOR`` if set, else the OS user name."""
    actor = os.environ.get(names.ENV_ACTOR)
    if actor:
        return actor
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (some containers)
        return "unknown"
