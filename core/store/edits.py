"""The record of edits to versions' descriptions and tags: who changed what, when (append-only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa

from core.store.db import Store, version_edits


@dataclass(frozen=True)
class VersionEdit:
    """One changed field of one version."""

    model: str
    version: int
    field: str  # "description" or "tag:<key>"
    old: str | None
    new: str | None  # None: a deleted tag
    actor: str
    at: datetime


def record_edits(store: Store, edits: list[VersionEdit]) -> None:
    """Append ``edits`` in one transaction."""
    if not edits:
        return
    with store.engine.begin() as conn:
        conn.execute(version_edits.insert(), [e.__dict__ for e in edits])


def edits_frame(store: Store, model: str, limit: int = 200) -> pd.DataFrame:
    """The newest ``limit`` edits of ``model``'s versions, newest first."""
    query = (
        sa.select(
            version_edits.c.at,
            version_edits.c.version,
            version_edits.c.field,
            version_edits.c.old,
            version_edits.c.new,
            version_edits.c.actor,
        )
        .where(version_edits.c.model == model)
        .order_by(version_edits.c.id.desc())
        .limit(limit)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    frame = pd.DataFrame([dict(r) for r in rows], columns=["at", "version", "field", "old", "new", "actor"])
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame.rename(columns={"at": "when", "actor": "who"})


def now() -> datetime:
    """The time an edit is stamped with."""
    return datetime.now(UTC)
