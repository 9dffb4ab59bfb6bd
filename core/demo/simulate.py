"""A traffic simulator: real HTTP requests with held-out rows, delayed feedback, optional drift.

``python -m core simulate --model breast-cancer --rate 20 --duration 60`` makes the A/B,
monitoring and drift views come alive without a real client.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import numpy as np

from core import names
from core.api.client import ServiceClient
from core.config import Settings
from core.errors import InvalidInputError
from core.names import TARGET
from core.registry.facade import Registry
from core.registry.reference import load_version_frame


@dataclass(frozen=True)
class SimulationConfig:
    """What to send.

    Attributes:
        rate: Requests per second.
        duration: Seconds to run (0 runs until cancelled).
        label_delay: Seconds between a prediction and its feedback label.
        label_fraction: Share of requests that get a label.
        drift: Shift of every feature by this many standard deviations, reached gradually
            by the end of the run (0 = no drift).
        users: Distinct routing keys (sticky A/B arms per user).
    """

    model: str
    rate: float = 20.0
    duration: float = 60.0
    label_delay: float = 5.0
    label_fraction: float = 0.8
    drift: float = 0.0
    users: int = 1000
    seed: int = 0
    challenger_share: float | None = None


@dataclass
class SimulationResult:
    """What happened."""

    sent: int = 0
    ok: int = 0
    failed: int = 0
    labels: int = 0
    arms: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)


def validate(config: SimulationConfig) -> None:
    """Raise :class:`InvalidInputError` for settings that make no sense."""
    if not 0 < config.rate <= 10_000:
        raise InvalidInputError(f"--rate must be between 0 and 10000 requests/s, got {config.rate}")
    if config.duration < 0:
        raise InvalidInputError(f"--duration must be 0 (forever) or positive, got {config.duration}")
    if not 0 <= config.label_fraction <= 1:
        raise InvalidInputError(f"--label-fraction must be between 0 and 1, got {config.label_fraction}")
    if config.label_delay < 0:
        raise InvalidInputError(f"--label-delay must be >= 0, got {config.label_delay}")
    if config.challenger_share is not None and not 0 <= config.challenger_share <= 1:
        raise InvalidInputError(f"--challenger-share must be between 0 and 1, got {config.challenger_share}")


async def simulate(
    settings: Settings, config: SimulationConfig, progress: Callable[[SimulationResult], None] | None = None
) -> SimulationResult:
    """Send ``config.rate`` requests/s for ``config.duration`` s and post labels later."""
    validate(config)
    registry = Registry.from_settings(settings)
    champion = registry.resolve_alias(config.model, names.CHAMPION)
    rows = load_version_frame(registry, config.model, champion, "holdout")
    labels = rows.pop(TARGET).to_numpy()
    columns = list(rows.columns)
    values = rows.to_numpy(dtype=float)
    scale = values.std(axis=0)
    if config.challenger_share is not None:
        await asyncio.to_thread(ServiceClient(settings).set_traffic, config.model, config.challenger_share)
    rng = np.random.default_rng(config.seed)
    result = SimulationResult()
    total = int(config.rate * config.duration) if config.duration else None
    pending: set[asyncio.Task] = set()
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=settings.api_url, timeout=30, limits=limits) as client:

        async def label_later(request_id: str, label: object) -> None:
            await asyncio.sleep(config.label_delay)
            for _attempt in range(3):  # a reset connection must not lose the label
                try:
                    r = await client.post("/v1/feedback", json={"request_id": request_id, "label": label})
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
                    continue
                if r.status_code == 200:
                    result.labels += 1
                return

        async def one(i: int) -> None:
            row = int(rng.integers(len(values)))
            progress_share = i / total if total else min(i / (config.rate * 600), 1.0)
            x = values[row] + config.drift * progress_share * scale
            body = {
                "dataframe_split": {"columns": columns, "data": [x.tolist()]},
                "routing_key": f"user-{int(rng.integers(config.users))}",
            }
            try:
                r = await client.post(f"/v1/models/{config.model}/predict", json=body)
            except httpx.HTTPError as exc:
                result.failed += 1
                result.errors[type(exc).__name__] += 1
                return
            if r.status_code != 200:
                result.failed += 1
                result.errors[str(r.status_code)] += 1
                return
            result.ok += 1
            answer = r.json()
            result.arms[f"{answer['arm']} v{answer['version']}"] += 1
            if rng.random() < config.label_fraction:
                task = asyncio.create_task(label_later(answer["request_id"], int(labels[row])))
                pending.add(task)
                task.add_done_callback(pending.discard)

        started = time.monotonic()
        last_report = started
        i = 0
        while total is None or i < total:
            due = started + i / config.rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(i))
            pending.add(task)
            task.add_done_callback(pending.discard)
            result.sent += 1
            i += 1
            if progress and time.monotonic() - last_report >= 5:
                progress(result)
                last_report = time.monotonic()
        while pending:
            await asyncio.gather(*list(pending), return_exceptions=True)
    return result
