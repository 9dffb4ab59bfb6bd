"""A/B traffic configuration and arm selection."""

from __future__ import annotations

import hashlib
import random

from core import names
from core.store.traffic import TrafficConfig

SHADOW = "shadow"


def key_fraction(model: str, routing_key: str) -> float:
    """A stable fraction in [0, 1) for ``routing_key`` (same key, same arm, every process)."""
    digest = hashlib.sha256(f"{model}\x00{routing_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def choose_arm(config: TrafficConfig, routing_key: str | None, has_challenger: bool) -> str:
    """Which arm answers: sticky by ``routing_key`` when given, random otherwise."""
    if config.shadow or not has_challenger or config.challenger_share <= 0.0:
        return names.CHAMPION
    draw = key_fraction(config.model, routing_key) if routing_key is not None else random.random()
    return names.CHALLENGER if draw < config.challenger_share else names.CHAMPION
