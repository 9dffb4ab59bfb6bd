"""Online-learning events (gate decisions, registrations, promotions, rollbacks) in the store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from core.store.db import Store, online_updates


def record_event(store: Store, model: str, event: str, **values: Any) -> None:
    """Append one online-learning event to the store."""
    with store.engine.begin() as conn:
        conn.execute(online_updates.insert().values(model=model, at=datetime.now(UTC), event=event, **values))


def updates_frame(store: Store, model: str, limit: int = 500) -> pd.DataFrame:
    """Online-learning events of ``model``, oldest first (the newest ``limit``)."""
    columns = [c.name for c in online_updates.columns if c.name not in ("id", "model")]
    query = (
        sa.select(*[online_updates.c[c] for c in columns])
        .where(online_updates.c.model == model)
        .order_by(online_updates.c.id.desc())
        .limit(limit)
    )
    with store.engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).mappings().all(), columns=columns)
    if frame.empty:
        return frame
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame.iloc[::-1].reset_index(drop=True)
