"""Adaptive micro-batching: concurrent requests for one model version share one predict call.

A predict call on a 200-tree forest costs about the same for 1 row as for 16, so merging
requests that arrive together is where throughput comes from. The first request of a batch
waits at most ``max_wait_ms`` for company; a lone request under light load barely waits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np


class MicroBatcher:
    """Merges concurrent ``predict`` calls on one function into batched calls."""

    def __init__(
        self,
        predict: Callable[[np.ndarray], np.ndarray],
        *,
        max_rows: int = 256,
        max_wait_ms: float = 2.0,
        executor: ThreadPoolExecutor | None = None,
    ) -> None:
        self._predict = predict
        self.max_rows = max_rows
        self.max_wait_s = max_wait_ms / 1000.0
        self._executor = executor or ThreadPoolExecutor(max_workers=1, thread_name_prefix="predict")
        self._queue: asyncio.Queue[tuple[np.ndarray, asyncio.Future] | None] | None = None
        self._task: asyncio.Task | None = None
        self._loop_of_task: asyncio.AbstractEventLoop | None = None
        self.retired = False
        self.batches = 0

    async def predict(self, frame: np.ndarray) -> np.ndarray:
        """Probabilities for ``frame``'s rows, computed in a batch with concurrent callers."""
        loop = asyncio.get_running_loop()
        if self.retired:  # a caller that picked this version just before it was unloaded
            return await loop.run_in_executor(self._executor, self._predict, frame)
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._loop_of_task = loop
            self._task = asyncio.create_task(self._loop())
        future = loop.create_future()
        await self._queue.put((frame, future))
        return await future

    def retire(self) -> None:
        """Stop batching once the queued calls are answered; later calls run unbatched (thread-safe).

        Called when the version is unloaded, so its batching task ends and lets the model go.
        """
        self.retired = True
        if self._queue is not None and self._loop_of_task is not None and not self._loop_of_task.is_closed():
            self._loop_of_task.call_soon_threadsafe(self._queue.put_nowait, None)

    async def close(self) -> None:
        """Stop the batching task (pending callers are cancelled)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:  # retired
                return
            batch = [first]
            rows = len(first[0])
            deadline = loop.time() + self.max_wait_s
            while rows < self.max_rows:
                try:
                    item = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    try:
                        item = await asyncio.wait_for(self._queue.get(), remaining)
                    except TimeoutError:
                        break
                if item is None:  # retired: answer this batch, then stop
                    stopping = True
                    break
                batch.append(item)
                rows += len(item[0])
            await self._run(batch)

    async def _run(self, batch: list[tuple[np.ndarray, asyncio.Future]]) -> None:
        frames = [frame for frame, _ in batch]
        merged = frames[0] if len(frames) == 1 else np.concatenate(frames)
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self._executor, self._predict, merged)
        except Exception as exc:
            if len(batch) == 1:
                if not batch[0][1].done():
                    batch[0][1].set_exception(exc)
                return
            # One request's rows failed the merged call: each request alone, so only that one fails.
            for frame, future in batch:
                try:
                    alone = await loop.run_in_executor(self._executor, self._predict, frame)
                except Exception as own:
                    if not future.done():
                        future.set_exception(own)
                    continue
                if not future.done():
                    future.set_result(alone)
            return
        self.batches += 1
        start = 0
        for frame, future in batch:
            end = start + len(frame)
            if not future.done():
                future.set_result(result[start:end])
            start = end
