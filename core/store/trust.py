"""Which models an operator trusts to load pickled versions: decisions recorded, newest wins (append-only).

A model is trusted when ``MODELOPS_TRUSTED_MODELS`` names it (or is ``*``), or when the latest
recorded decision for it is "trusted". Every decision keeps who made it, when and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa

from core import names
from core.store.db import Store, trust_decisions


@dataclass(frozen=True)
class Trust:
    """Whether a model's pickled versions may load, and on whose word."""

    model: str
    trusted: bool
    why: str


def record_trust(store: Store, model: str, trusted: bool, actor: str, reason: str = "") -> None:
    """Append a decision for ``model``."""
    with store.engine.begin() as conn:
        conn.execute(
            trust_decisions.insert().values(
                model=model, trusted=trusted, actor=actor, reason=reason, at=datetime.now(UTC)
            )
        )


def trust_of(store: Store, model: str, trusted_models: tuple[str, ...] = ()) -> Trust:
    """The trust of ``model``: the environment's list first, then the latest recorded decision."""
    if "*" in trusted_models or model in trusted_models:
        return Trust(model, True, f"{names.ENV_TRUSTED_MODELS} includes it")
    query = (
        sa.select(trust_decisions)
        .where(trust_decisions.c.model == model)
        .order_by(trust_decisions.c.id.desc())
        .limit(1)
    )
    with store.engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        return Trust(model, False, "no operator has trusted it")
    verb = "trusted" if row["trusted"] else "withdrew trust"
    at = row["at"].replace(tzinfo=UTC) if row["at"].tzinfo is None else row["at"]
    because = f": {row['reason']}" if row["reason"] else ""
    return Trust(model, bool(row["trusted"]), f"{row['actor']} {verb} on {at:%Y-%m-%d %H:%M} UTC{because}")


def trust_history(store: Store, model: str, limit: int = 100) -> pd.DataFrame:
    """The newest ``limit`` decisions for ``model``, newest first."""
    query = (
        sa.select(trust_decisions.c.at, trust_decisions.c.trusted, trust_decisions.c.actor, trust_decisions.c.reason)
        .where(trust_decisions.c.model == model)
        .order_by(trust_decisions.c.id.desc())
        .limit(limit)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    frame = pd.DataFrame([dict(r) for r in rows], columns=["at", "trusted", "actor", "reason"])
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame.rename(columns={"at": "when", "actor": "who"})
