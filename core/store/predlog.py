"""The durable prediction log with group commit.

``await log.append(record)`` returns only once the record is committed, so a response is
never sent for a prediction that a ``kill -9`` could lose. One writer thread commits
whatever has queued up in one transaction, so throughput does not pay one fsync per request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from core.errors import RequestNotFoundError
from core.store.db import Store, feedback, predictions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PredictionRecord:
    """One served request."""

    request_id: str
    model: str
    version: int
    arm: str
    routing_key: str | None
    inputs: dict[str, Any]  # dataframe_split form for tabular rows; file facts for images
    outputs: list[Any]
    probabilities: list[list[float]] | None
    latency_ms: float
    at: datetime
    status: str = "ok"

    @classmethod
    def served(
        cls,
        request_id: str,
        handle: Any,
        arm: str,
        routing_key: str | None,
        inputs: dict[str, Any],
        outputs: list[Any],
        probabilities: Any,
        started: float,
    ) -> PredictionRecord:
        """A record of what ``handle`` answered, with latency since ``started`` (perf_counter)."""
        return cls(
            request_id=request_id,
            model=handle.model_name,
            version=handle.version,
            arm=arm,
            routing_key=routing_key,
            inputs=inputs,
            outputs=outputs,
            probabilities=None if probabilities is None else probabilities.round(6).tolist(),
            latency_ms=(time.perf_counter() - started) * 1000,
            at=datetime.now(UTC),
        )

    def row(self) -> dict[str, Any]:
        """The record as a ``predictions`` table row."""
        return {
            "request_id": self.request_id,
            "at": self.at,
            "model": self.model,
            "version": self.version,
            "arm": self.arm,
            "routing_key": self.routing_key,
            "inputs": json.dumps(self.inputs, default=str),
            "outputs": json.dumps(self.outputs, default=str),
            "probabilities": json.dumps(self.probabilities) if self.probabilities is not None else None,
            "latency_ms": self.latency_ms,
            "status": self.status,
        }


class PredictionLog:
    """Group-committing writer of prediction records."""

    def __init__(self, store: Store, batch_max: int = 512) -> None:
        self.store = store
        self.batch_max = batch_max
        self._queue: queue.Queue[tuple[PredictionRecord, asyncio.Future | None] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()
        self.commits = 0

    async def append(self, record: PredictionRecord) -> None:
        """Queue ``record`` and wait until it is committed."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put((record, future))
        await future

    def append_nowait(self, record: PredictionRecord) -> None:
        """Queue ``record`` without waiting (shadow copies: nobody is answered from them)."""
        self._queue.put((record, None))

    def close(self) -> None:
        """Flush what is queued and stop the writer."""
        self._queue.put(None)
        self._thread.join(30)

    def _run(self) -> None:
        stop = False
        while not stop:
            item = self._queue.get()
            if item is None:
                break
            batch = [item]
            while len(batch) < self.batch_max:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            error: Exception | None = None
            try:
                with self.store.engine.begin() as conn:
                    conn.execute(predictions.insert(), [rec.row() for rec, _ in batch])
                self.commits += 1
            except Exception as exc:  # the requests waiting on this batch get the error
                log.exception("prediction log commit failed")
                error = exc
            for _, future in batch:
                if future is not None:
                    _resolve(future, error)


def _resolve(future: asyncio.Future, error: Exception | None) -> None:
    def settle() -> None:
        if future.done():
            return
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)

    future.get_loop().call_soon_threadsafe(settle)


def record_feedback(
    store: Store,
    request_id: str,
    label: Any,
    check: Callable[[str, int, Any], Any] | None = None,
) -> dict[str, Any]:
    """Store the true label of a served request.

    ``check(model, version, label)``, when given, returns the label to store (e.g. as the
    model's class value) or raises to refuse it; nothing is written then.

    Raises:
        RequestNotFoundError: no served request has this id.
    """
    with store.engine.begin() as conn:
        row = conn.execute(
            sa.select(predictions.c.model, predictions.c.version, predictions.c.arm).where(
                predictions.c.request_id == request_id
            )
        ).first()
        if row is None:
            raise RequestNotFoundError(f"no served request has id {request_id!r}")
        if check is not None:
            label = check(row.model, int(row.version), label)
        at = datetime.now(UTC)
        conn.execute(feedback.insert().values(request_id=request_id, label=json.dumps(label), at=at))
    return {"request_id": request_id, "model": row.model, "version": row.version, "arm": row.arm}
