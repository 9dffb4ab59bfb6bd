"""The project's own store: alias history (and, later, the prediction log).

SQLite in ``MODELOPS_HOME`` by default (WAL mode, busy timeout), PostgreSQL by URL.
MLflow keeps no history of alias moves; this store does, append-only.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

metadata = sa.MetaData()

alias_history = sa.Table(
    "alias_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(256), nullable=False, index=True),
    sa.Column("alias", sa.String(128), nullable=False),
    sa.Column("from_version", sa.Integer, nullable=True),
    sa.Column("to_version", sa.Integer, nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

# One row per model; updating it inside a transaction serialises alias moves of that model
# across threads and processes (a row lock on PostgreSQL, the write lock on SQLite).
model_locks = sa.Table(
    "model_locks",
    metadata,
    sa.Column("model", sa.String(256), primary_key=True),
    sa.Column("moves", sa.Integer, nullable=False, default=0),
)

predictions = sa.Table(
    "predictions",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("model", sa.String(256), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("arm", sa.String(32), nullable=False),
    sa.Column("routing_key", sa.String(256), nullable=True),
    sa.Column("inputs", sa.Text, nullable=False),  # JSON records
    sa.Column("outputs", sa.Text, nullable=False),  # JSON list of predicted labels
    sa.Column("probabilities", sa.Text, nullable=True),  # JSON list of lists
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="ok"),
)

feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(64), nullable=False, index=True),
    sa.Column("label", sa.Text, nullable=False),  # JSON
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

version_edits = sa.Table(
    "version_edits",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(256), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("field", sa.String(300), nullable=False),  # "description" or "tag:<key>"
    sa.Column("old", sa.Text, nullable=True),
    sa.Column("new", sa.Text, nullable=True),  # None: the tag was deleted
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

trust_decisions = sa.Table(
    "trust_decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(256), nullable=False, index=True),
    sa.Column("trusted", sa.Boolean, nullable=False),
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

traffic = sa.Table(
    "traffic",
    metadata,
    sa.Column("model", sa.String(256), primary_key=True),
    sa.Column("challenger_share", sa.Float, nullable=False),
    sa.Column("shadow", sa.Boolean, nullable=False, default=False),
    sa.Column("updated_by", sa.String(256), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

online_updates = sa.Table(
    "online_updates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(256), nullable=False, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column(
        "event", sa.String(32), nullable=False
    ),  # evaluated | registered | promoted | rejected | rollback | rebased
    sa.Column("parent_version", sa.Integer, nullable=True),
    sa.Column("rows", sa.Integer, nullable=False, default=0),
    sa.Column("candidate_accuracy", sa.Float, nullable=True),
    sa.Column("champion_version", sa.Integer, nullable=True),
    sa.Column("champion_accuracy", sa.Float, nullable=True),
    sa.Column("new_version", sa.Integer, nullable=True),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("actor", sa.String(256), nullable=False, default=""),
)


@dataclass(frozen=True)
class AliasMove:
    """One recorded alias move."""

    id: int
    model: str
    alias: str
    from_version: int | None
    to_version: int
    action: str
    actor: str
    reason: str
    at: datetime


def _on_sqlite_connect(dbapi_conn: object, _record: object) -> None:
    cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: a committed prediction-log batch survives power loss, not only a killed process;
    # group commit keeps the fsync cost per request small.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def get_engine(url: str) -> Engine:
    """A process-wide engine for ``url`` with the schema created."""
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            kwargs: dict[str, object] = {"pool_pre_ping": True}
            if url.startswith("sqlite"):
                kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
            engine = sa.create_engine(url, **kwargs)
            if engine.dialect.name == "sqlite":
                sa.event.listen(engine, "connect", _on_sqlite_connect)
            metadata.create_all(engine)
            _engines[url] = engine
        return engine


class Store:
    """Typed access to the project's tables."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = get_engine(url)

    @contextlib.contextmanager
    def model_lock(self, model: str) -> Iterator[Connection]:
        """A transaction holding the per-model write lock; commits on success."""
        with contextlib.suppress(sa.exc.IntegrityError), self.engine.begin() as conn:
            exists = conn.execute(sa.select(model_locks.c.model).where(model_locks.c.model == model)).first()
            if exists is None:
                conn.execute(model_locks.insert().values(model=model, moves=0))
        with self.engine.begin() as conn:
            # The UPDATE is the first statement so the lock is taken before anything is read.
            conn.execute(model_locks.update().where(model_locks.c.model == model).values(moves=model_locks.c.moves + 1))
            yield conn

    @staticmethod
    def record_move(
        conn: Connection,
        *,
        model: str,
        alias: str,
        from_version: int | None,
        to_version: int,
        action: str,
        actor: str,
        reason: str,
    ) -> AliasMove:
        """Append one alias move inside the caller's transaction and return it."""
        at = datetime.now(UTC)
        result = conn.execute(
            alias_history.insert().values(
                model=model,
                alias=alias,
                from_version=from_version,
                to_version=to_version,
                action=action,
                actor=actor,
                reason=reason,
                at=at,
            )
        )
        (new_id,) = result.inserted_primary_key  # type: ignore[misc]
        return AliasMove(int(new_id), model, alias, from_version, to_version, action, actor, reason, at)

    def alias_moves(
        self,
        model: str | None = None,
        alias: str | None = None,
        limit: int | None = None,
        conn: Connection | None = None,
    ) -> list[AliasMove]:
        """Recorded moves, newest first, optionally for one model and alias."""
        query = sa.select(alias_history).order_by(alias_history.c.id.desc())
        if model is not None:
            query = query.where(alias_history.c.model == model)
        if alias is not None:
            query = query.where(alias_history.c.alias == alias)
        if limit is not None:
            query = query.limit(limit)
        if conn is not None:
            rows = conn.execute(query).mappings().all()
        else:
            with self.engine.connect() as own:
                rows = own.execute(query).mappings().all()
        return [_move_from_row(row) for row in rows]


def _move_from_row(row: sa.RowMapping) -> AliasMove:
    at = row["at"]
    if at.tzinfo is None:  # SQLite returns naive datetimes; they were written in UTC.
        at = at.replace(tzinfo=UTC)
    return AliasMove(
        id=row["id"],
        model=row["model"],
        alias=row["alias"],
        from_version=row["from_version"],
        to_version=row["to_version"],
        action=row["action"],
        actor=row["actor"],
        reason=row["reason"] or "",
        at=at,
    )
