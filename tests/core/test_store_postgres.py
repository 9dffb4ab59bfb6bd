"""The project's store on a real PostgreSQL (127.0.0.1:5432): alias moves, prediction log, feedback."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Iterator

import numpy as np
import pytest
import sqlalchemy as sa

from core import names
from core.config import Settings
from core.errors import RequestNotFoundError
from core.registry.facade import Registry
from core.store.db import Store, feedback, predictions
from core.store.predlog import PredictionLog, PredictionRecord, record_feedback
from core.store.traffic import TrafficConfig, load_traffic, save_traffic

PG_ADMIN_URL = os.environ.get("MODELOPS_TEST_PG_ADMIN", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A database of its own for this test, dropped afterwards."""
    name = f"modelops_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        from core.store import db as store_module

        engine = store_module._engines.pop(url, None)
        if engine is not None:
            engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_concurrent_rollbacks_serialise_on_postgres(
    bc_home: Settings, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The alias history of the seeded registry lives in SQLite; replay it into PostgreSQL.
    sqlite_moves = Registry.from_settings(bc_home).history(names.BREAST_CANCER)
    store = Store(pg_url)
    with store.engine.begin() as conn:
        for m in reversed(sqlite_moves):
            store.record_move(
                conn,
                model=m.model,
                alias=m.alias,
                from_version=m.from_version,
                to_version=m.to_version,
                action=m.action,
                actor=m.actor,
                reason=m.reason,
            )
    monkeypatch.setenv(names.ENV_DB_URL, pg_url)
    settings = Settings.from_env()
    barrier = threading.Barrier(2)
    moves = []

    def worker() -> None:
        reg = Registry.from_settings(settings)
        barrier.wait()
        moves.append(reg.rollback(names.BREAST_CANCER))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted((m.from_version, m.to_version) for m in moves) == [(2, 1), (3, 2)]
    assert Registry.from_settings(settings).resolve_alias(names.BREAST_CANCER, names.CHAMPION) == 1


def test_prediction_log_traffic_and_feedback_on_postgres(pg_url: str) -> None:
    store = Store(pg_url)
    log = PredictionLog(store, batch_max=64)

    class Handle:
        model_name, version = "m", 7

    async def write_many() -> list[str]:
        ids = [uuid.uuid4().hex for _ in range(200)]
        await asyncio.gather(
            *(
                log.append(
                    PredictionRecord.served(
                        i,
                        Handle,
                        "champion",
                        None,
                        {"columns": ["a"], "data": [[1.0]]},
                        [1],
                        np.array([[0.25, 0.75]]),
                        0.0,
                    )
                )
                for i in ids
            )
        )
        return ids

    ids = asyncio.run(write_many())
    log.close()
    assert log.commits < 200  # group commit: fewer transactions than records
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(predictions)).scalar_one() == 200
    assert record_feedback(store, ids[0], 1)["version"] == 7
    with pytest.raises(RequestNotFoundError):
        record_feedback(store, "missing", 1)
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(feedback.c.request_id)).scalars().all() == [ids[0]]
    save_traffic(store, TrafficConfig("m", 0.3, True), "pytest")
    save_traffic(store, TrafficConfig("m", 0.25, False), "pytest")
    assert load_traffic(store, "m") == TrafficConfig("m", 0.25, False)


def test_api_token_is_generated_once_and_kept_private(tmp_path) -> None:
    settings = Settings.from_env({names.ENV_HOME: str(tmp_path)})
    token = settings.resolve_api_token()
    assert len(token) >= 32 and settings.resolve_api_token() == token
    assert (tmp_path / "api_token").stat().st_mode & 0o777 == 0o600
    assert (
        Settings.from_env({names.ENV_HOME: str(tmp_path), names.ENV_API_TOKEN: "given"}).resolve_api_token() == "given"
    )
