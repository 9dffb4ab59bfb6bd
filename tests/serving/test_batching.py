"""``MicroBatcher`` in-process: concurrent callers share predict calls and each gets its own rows back."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from core.serving.batching import MicroBatcher
from tests.helpers import run_async


class Recorder:
    """A predict function that records the batches it was called with (row ids in column 0)."""

    def __init__(self) -> None:
        self.calls: list[np.ndarray] = []
        self.threads: set[str] = set()

    def __call__(self, matrix: np.ndarray) -> np.ndarray:
        self.calls.append(matrix.copy())
        self.threads.add(threading.current_thread().name)
        # Two "probabilities" per row that identify the row: its id and id * 10.
        return np.column_stack([matrix[:, 0], matrix[:, 0] * 10])


def _frame(first_id: int, rows: int) -> np.ndarray:
    return np.arange(first_id, first_id + rows, dtype="float64").reshape(-1, 1).repeat(3, axis=1)


def test_concurrent_callers_share_one_call_and_get_their_own_rows() -> None:
    predict = Recorder()
    frames = [_frame(100 * i, i + 1) for i in range(6)]  # 1..6 rows each, 21 in all

    async def scenario() -> list[np.ndarray]:
        batcher = MicroBatcher(predict, max_rows=256, max_wait_ms=200)
        try:
            return await asyncio.gather(*(batcher.predict(f) for f in frames))
        finally:
            assert batcher.batches == 1
            await batcher.close()

    results = run_async(scenario())
    assert len(predict.calls) == 1 and len(predict.calls[0]) == 21
    for frame, result in zip(frames, results, strict=True):
        np.testing.assert_array_equal(result, np.column_stack([frame[:, 0], frame[:, 0] * 10]))
    # predict runs off the event loop, on the batcher's own worker thread
    assert {t.split("_")[0] for t in predict.threads} == {"predict"}


def test_max_rows_closes_a_batch() -> None:
    predict = Recorder()

    async def scenario() -> list[np.ndarray]:
        batcher = MicroBatcher(predict, max_rows=4, max_wait_ms=200)
        try:
            return await asyncio.gather(*(batcher.predict(_frame(10 * i, 2)) for i in range(5)))
        finally:
            await batcher.close()

    results = run_async(scenario())
    assert [len(c) for c in predict.calls] == [4, 4, 2]
    assert all(len(c) <= 4 for c in predict.calls)
    assert [r[:, 0].tolist() for r in results] == [[10 * i, 10 * i + 1] for i in range(5)]


def test_a_frame_larger_than_max_rows_is_predicted_whole() -> None:
    predict = Recorder()

    async def scenario() -> np.ndarray:
        batcher = MicroBatcher(predict, max_rows=4, max_wait_ms=1)
        try:
            return await batcher.predict(_frame(0, 10))
        finally:
            await batcher.close()

    result = run_async(scenario())
    assert [len(c) for c in predict.calls] == [10] and result[:, 0].tolist() == list(range(10))


def test_an_exception_reaches_every_waiter_and_the_batcher_goes_on() -> None:
    class Broken(Recorder):
        def __call__(self, matrix: np.ndarray) -> np.ndarray:
            super().__call__(matrix)
            raise ValueError("model exploded")

    predict = Broken()

    async def scenario() -> list:
        batcher = MicroBatcher(predict, max_rows=256, max_wait_ms=200)
        try:
            return await asyncio.gather(*(batcher.predict(_frame(i, 1)) for i in range(4)), return_exceptions=True)
        finally:
            await batcher.close()

    failed = run_async(scenario())
    assert len(predict.calls[0]) == 4  # merged first, then each request alone: each gets its own error
    assert all(isinstance(e, ValueError) and str(e) == "model exploded" for e in failed)


def test_one_bad_request_fails_alone_and_its_batch_mates_are_answered() -> None:
    """A merged call fails on one request's rows (an unknown category, say): only that request fails."""

    class OneBadRow(Recorder):
        def __call__(self, matrix: np.ndarray) -> np.ndarray:
            super().__call__(matrix)
            if (matrix[:, 0] == 2).any():
                raise ValueError("row with 2 is bad")
            return np.column_stack([matrix[:, 0], matrix[:, 0]])

    predict = OneBadRow()

    async def scenario() -> tuple[list, np.ndarray, int]:
        batcher = MicroBatcher(predict, max_rows=256, max_wait_ms=200)
        try:
            answers = await asyncio.gather(*(batcher.predict(_frame(i, 1)) for i in range(4)), return_exceptions=True)
            batches = batcher.batches
            after = await batcher.predict(_frame(7, 1))
            return answers, after, batches
        finally:
            await batcher.close()

    answers, after, batches = run_async(scenario())
    assert len(predict.calls[0]) == 4 and len(predict.calls) == 1 + 4 + 1
    assert isinstance(answers[2], ValueError) and str(answers[2]) == "row with 2 is bad"
    assert [a[:, 0].tolist() for i, a in enumerate(answers) if i != 2] == [[0.0], [1.0], [3.0]]
    assert batches == 0  # a failed merged call is not counted as a batch
    assert after[:, 0].tolist() == [7.0]


def test_a_lone_request_waits_at_most_max_wait() -> None:
    predict = Recorder()

    async def scenario() -> float:
        batcher = MicroBatcher(predict, max_rows=256, max_wait_ms=20)
        try:
            started = time.perf_counter()
            await batcher.predict(_frame(0, 1))
            return time.perf_counter() - started
        finally:
            await batcher.close()

    elapsed = run_async(scenario())
    assert 0.015 <= elapsed < 1.0  # waited for company for about 20 ms, then went alone
    assert len(predict.calls) == 1


def test_a_request_after_a_finished_batch_forms_a_new_batch() -> None:
    predict = Recorder()

    async def scenario() -> list[np.ndarray]:
        batcher = MicroBatcher(predict, max_rows=256, max_wait_ms=5)
        try:
            first = await batcher.predict(_frame(0, 1))  # alone: its 5 ms window passes, then it runs
            second = await batcher.predict(_frame(1, 1))
            return [first, second]
        finally:
            assert batcher.batches == 2
            await batcher.close()

    first, second = run_async(scenario())
    assert [len(c) for c in predict.calls] == [1, 1]
    assert first[0, 0] == 0 and second[0, 0] == 1


def test_requests_arriving_during_a_predict_call_are_batched_together() -> None:
    started, release = threading.Event(), threading.Event()

    class Slow(Recorder):
        def __call__(self, matrix: np.ndarray) -> np.ndarray:
            started.set()
            assert release.wait(10)
            return super().__call__(matrix)

    predict = Slow()

    async def scenario() -> list[np.ndarray]:
        batcher = MicroBatcher(predict, max_rows=256, max_wait_ms=1)
        try:
            first = asyncio.create_task(batcher.predict(_frame(0, 1)))
            assert await asyncio.to_thread(started.wait, 10)  # the first call is running in the executor
            rest = [asyncio.create_task(batcher.predict(_frame(i, 1))) for i in range(1, 6)]
            await asyncio.sleep(0.1)  # the five are queued behind it
            release.set()
            return [await first, *await asyncio.gather(*rest)]
        finally:
            release.set()
            await batcher.close()

    results = run_async(scenario())
    assert [len(c) for c in predict.calls] == [1, 5]
    assert [r[0, 0] for r in results] == [0, 1, 2, 3, 4, 5]


def test_close_cancels_the_loop() -> None:
    async def scenario() -> bool:
        batcher = MicroBatcher(Recorder(), max_wait_ms=1)
        await batcher.predict(_frame(0, 1))
        await batcher.close()
        assert batcher._task is not None
        return batcher._task.cancelled()

    assert run_async(scenario())


@pytest.mark.parametrize("rows", [1, 3])
def test_results_are_views_of_the_callers_rows_only(rows: int) -> None:
    predict = Recorder()

    async def scenario() -> np.ndarray:
        batcher = MicroBatcher(predict, max_wait_ms=1)
        try:
            return await batcher.predict(_frame(5, rows))
        finally:
            await batcher.close()

    assert run_async(scenario()).shape == (rows, 2)
