"""The bounded cache of loaded versions, and unloading a version's batcher: in-process unit tests."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from core import names
from core.serving.batching import MicroBatcher
from core.serving.config import ServiceConfig
from core.serving.manager import HandleCache
from tests.helpers import run_async


def _cache(size: int, *keys: str) -> HandleCache[str, str]:
    cache: HandleCache[str, str] = HandleCache(size)
    for key in keys:
        cache.put(key, f"handle {key}")
    return cache


@pytest.mark.parametrize(
    ("case", "size", "loaded", "serving", "dropped", "left"),
    [
        ("under the size: nothing dropped", 3, ["v1", "v2"], [], [], ["v1", "v2"]),
        ("least recently loaded goes first", 2, ["v1", "v2", "v3", "v4"], [], ["v1", "v2"], ["v3", "v4"]),
        ("served versions are never dropped", 1, ["v1", "v2", "v3"], ["v1"], ["v2", "v3"], ["v1"]),
        ("all served: the cache exceeds its size", 1, ["v1", "v2", "v3"], ["v1", "v2", "v3"], [], ["v1", "v2", "v3"]),
        ("served count as just used", 2, ["v1", "v2", "v3"], ["v1"], ["v2"], ["v3", "v1"]),
        ("size 0 keeps only what is served", 0, ["v1", "v2"], ["v2"], ["v1"], ["v2"]),
        ("a served key not cached is ignored", 1, ["v1", "v2"], ["v9"], ["v1"], ["v2"]),
    ],
    ids=lambda v: v if isinstance(v, str) and " " in v else "",
)
def test_shrink(
    case: str, size: int, loaded: list[str], serving: list[str], dropped: list[str], left: list[str]
) -> None:
    cache = _cache(size, *loaded)
    assert cache.shrink(keep=serving) == [f"handle {k}" for k in dropped]
    assert cache.keys() == left and len(cache) == len(left)


def test_get_makes_an_entry_the_most_recently_used() -> None:
    cache = _cache(2, "v1", "v2", "v3")
    assert cache.get("v1") == "handle v1" and cache.get("v9") is None
    assert cache.shrink(keep=[]) == ["handle v2"]
    assert "v1" in cache and "v3" in cache and "v2" not in cache


def test_the_version_a_rollback_returns_to_outlives_older_ones() -> None:
    """v1 served until v3 replaced it; v2 stopped serving long before: v2 goes first."""
    cache = _cache(2, "v1", "v2")
    cache.shrink(keep=["v1"])  # sync: v1 is the champion, v2 no longer served
    cache.put("v3", "handle v3")
    assert cache.shrink(keep=["v3"]) == ["handle v2"]
    assert cache.keys() == ["v1", "v3"]


def test_size_is_configured_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ServiceConfig().max_loaded_versions == 8
    monkeypatch.setenv(names.ENV_MAX_LOADED_VERSIONS, "3")
    assert ServiceConfig.from_env().max_loaded_versions == 3
    monkeypatch.setenv(names.ENV_MAX_LOADED_VERSIONS, "-1")
    with pytest.raises(ValueError, match="MODELOPS_MAX_LOADED_VERSIONS: expected 0 or more"):
        ServiceConfig.from_env()
    with pytest.raises(ValueError, match="0 or more"):
        HandleCache(-1)


def test_a_retired_batcher_answers_what_is_queued_then_runs_unbatched() -> None:
    calls: list[int] = []

    def predict(matrix: np.ndarray) -> np.ndarray:
        calls.append(len(matrix))
        return matrix * 2

    async def scenario() -> tuple[list[np.ndarray], np.ndarray, bool]:
        batcher = MicroBatcher(predict, max_rows=64, max_wait_ms=50)
        queued = [asyncio.create_task(batcher.predict(np.full((1, 2), i, dtype=float))) for i in range(3)]
        await asyncio.sleep(0)  # the three calls are queued
        batcher.retire()
        answered = await asyncio.wait_for(asyncio.gather(*queued), 5)
        await asyncio.sleep(0.01)
        assert batcher._task is not None
        finished = batcher._task.done()
        late = await asyncio.wait_for(batcher.predict(np.ones((2, 2))), 5)
        return answered, late, finished

    answered, late, finished = run_async(scenario())
    assert [a.tolist() for a in answered] == [[[0.0, 0.0]], [[2.0, 2.0]], [[4.0, 4.0]]]
    assert finished  # the batching task ended, so it no longer holds the model
    assert late.tolist() == [[2.0, 2.0], [2.0, 2.0]]
    assert calls == [3, 2]  # the queued calls in one batch, the late one on its own
