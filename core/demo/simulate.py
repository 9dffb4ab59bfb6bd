"""A traffic simulator: real HTTP requests with held-out data, delayed feedback, optional drift.

``python -m core simulate --model breast-cancer --rate 20 --duration 60`` makes the A/B,
monitoring and drift views come alive without a real client. Tabular models get held-out
rows on ``/predict``; image models (``--model digits``) get held-out images as PNG uploads
on ``/classify``.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import pandas as pd

from core import names
from core.analysis.image_drift import reference_images
from core.api.client import ServiceClient
from core.config import Settings
from core.errors import InvalidInputError
from core.names import TARGET
from core.registry.facade import Registry
from core.registry.reference import load_version_frame, stored_input_spec


@dataclass(frozen=True)
class SimulationConfig:
    """What to send.

    Attributes:
        rate: Requests per second.
        duration: Seconds to run (0 runs until cancelled).
        label_delay: Seconds between a prediction and its feedback label.
        label_fraction: Share of requests that get a label.
        drift: Reached gradually by the end of the run (0 = no drift). Tabular: every feature
            shifts by this many standard deviations. Images: contrast falls by ``0.3 × drift``
            and noise of ``25 × drift`` grey levels is added.
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


class _Requests:
    """Builds request ``i`` and knows its true label: held-out rows or images of the champion."""

    def __init__(self, registry: Registry, config: SimulationConfig, total: int | None) -> None:
        champion = registry.resolve_alias(config.model, names.CHAMPION)
        try:
            rows = load_version_frame(registry, config.model, champion, "holdout")
        except InvalidInputError:  # a model registered elsewhere: its reference rows (a dataset it logged)
            rows = load_version_frame(registry, config.model, champion, "reference")
            if TARGET not in rows.columns:
                raise InvalidInputError(
                    f"{config.model} v{champion} has no labelled rows to simulate traffic from: log "
                    f"reference/holdout.parquet (features plus {TARGET!r}) or a training dataset with its label"
                ) from None
        self.config, self.total = config, total
        self.labels = rows.pop(TARGET).to_numpy()
        self.image = "pixels" in rows.columns
        if self.image:
            spec = stored_input_spec(registry.tracking_uri, config.model, champion)
            self.images = [np.asarray(im, dtype=float) for im in reference_images(rows, bool(spec and spec.invert))]
            self.class_names = list(spec.class_names) if spec and spec.class_names else []
            self.route = f"/v1/models/{config.model}/classify"
        else:
            self.columns = list(rows.columns)
            # Numbers drift; strings, booleans and dates are sent as they are.
            self.numeric = [
                pd.api.types.is_numeric_dtype(rows[c]) and not pd.api.types.is_bool_dtype(rows[c]) for c in rows
            ]
            self.integer = [pd.api.types.is_integer_dtype(rows[c]) for c in rows]
            self.values = rows.astype(object).to_numpy()
            self.scale = np.array(
                [float(rows[c].std()) if n else 0.0 for c, n in zip(rows.columns, self.numeric, strict=True)]
            )
            self.route = f"/v1/models/{config.model}/predict"

    def __len__(self) -> int:
        return len(self.labels)

    def build(self, i: int, row: int, user: str) -> dict[str, Any]:
        """Keyword arguments of ``httpx.AsyncClient.post`` for request ``i`` (held-out ``row``)."""
        rate = self.config.rate
        shift = self.config.drift * (i / self.total if self.total else min(i / (rate * 600), 1.0))
        if not self.image:
            x = [
                (round(float(v) + shift * sd) if whole else float(v) + shift * sd)
                if numeric
                else (v.item() if hasattr(v, "item") else v)
                for v, numeric, whole, sd in zip(self.values[row], self.numeric, self.integer, self.scale, strict=True)
            ]
            return {"json": {"dataframe_split": {"columns": self.columns, "data": [x]}, "routing_key": user}}
        pixels = self.images[row]
        if shift:
            noise = np.random.default_rng(i).normal(0.0, 25.0 * shift, pixels.shape)
            pixels = pixels.mean() + (pixels - pixels.mean()) * max(1.0 - 0.3 * shift, 0.05) + noise
        return {"files": {"image": ("simulated.png", _png(pixels), "image/png")}, "params": {"routing_key": user}}

    def label(self, row: int) -> Any:
        """The true label of ``row`` as the model names its classes."""
        value = self.labels[row].item() if hasattr(self.labels[row], "item") else self.labels[row]
        if self.image and self.class_names and isinstance(value, int) and 0 <= value < len(self.class_names):
            return self.class_names[value]
        return value


def _png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L").save(buffer, "PNG")
    return buffer.getvalue()


async def simulate(
    settings: Settings, config: SimulationConfig, progress: Callable[[SimulationResult], None] | None = None
) -> SimulationResult:
    """Send ``config.rate`` requests/s for ``config.duration`` s and post labels later."""
    validate(config)
    registry = Registry.from_settings(settings)
    total = int(config.rate * config.duration) if config.duration else None
    requests = await asyncio.to_thread(_Requests, registry, config, total)
    if config.challenger_share is not None:
        await asyncio.to_thread(ServiceClient(settings).set_traffic, config.model, config.challenger_share)
    rng = np.random.default_rng(config.seed)
    result = SimulationResult()
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
            row = int(rng.integers(len(requests)))
            kwargs = requests.build(i, row, f"user-{int(rng.integers(config.users))}")
            try:
                r = await client.post(requests.route, **kwargs)
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
                task = asyncio.create_task(label_later(answer["request_id"], requests.label(row)))
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
