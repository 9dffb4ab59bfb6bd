"""The A/B split of each model, stored so that every replica and the dashboard agree."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa

from core.errors import InvalidInputError
from core.store.db import Store, traffic

DEFAULT_CHALLENGER_SHARE = 0.0


@dataclass(frozen=True)
class TrafficConfig:
    """How one model's traffic is split.

    Attributes:
        challenger_share: Fraction of requests the challenger answers (0..1).
        shadow: The champion answers everything and the challenger gets a copy.
        updated_at: When it was last stored (``None`` for the default, never stored).
    """

    model: str
    challenger_share: float = DEFAULT_CHALLENGER_SHARE
    shadow: bool = False
    updated_at: datetime | None = field(default=None, compare=False)

    @property
    def champion_share(self) -> float:
        """Fraction of requests the champion answers."""
        return 1.0 if self.shadow else 1.0 - self.challenger_share


def validate_share(share: float) -> float:
    """``share`` if it is a finite fraction in [0, 1]."""
    if not isinstance(share, (int, float)) or isinstance(share, bool) or not 0.0 <= float(share) <= 1.0:
        raise InvalidInputError(f"challenger_share must be a number between 0 and 1, got {share!r}")
    return float(share)


def load_traffic(store: Store, model: str) -> TrafficConfig:
    """The stored traffic config of ``model`` (all to the champion if none is stored)."""
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(traffic).where(traffic.c.model == model)).mappings().first()
    if row is None:
        return TrafficConfig(model)
    at = row["updated_at"]
    at = at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at
    return TrafficConfig(model, float(row["challenger_share"]), bool(row["shadow"]), at)


def save_traffic(store: Store, config: TrafficConfig, actor: str) -> TrafficConfig:
    """Store ``config`` (insert or replace) and return it as stored.

    Saving the split that is already stored changes nothing: its ``updated_at`` (which starts the
    sample-ratio check's period) stays, so re-saving a form does not restart the check.
    """
    validate_share(config.challenger_share)
    current = load_traffic(store, config.model)
    if current.updated_at is not None and current == config:
        return current
    values = {
        "challenger_share": config.challenger_share,
        "shadow": config.shadow,
        "updated_by": actor,
        "updated_at": datetime.now(UTC),
    }
    with store.engine.begin() as conn:
        updated = conn.execute(traffic.update().where(traffic.c.model == config.model).values(**values))
        if updated.rowcount == 0:
            conn.execute(traffic.insert().values(model=config.model, **values))
    return TrafficConfig(config.model, config.challenger_share, config.shadow, values["updated_at"])
