"""``choose_arm`` in-process: sticky by routing key, the configured share, and when only the champion answers."""

from __future__ import annotations

import random

import pytest

from core import names
from core.serving.routing import choose_arm, key_fraction
from core.store.traffic import TrafficConfig

KEYS = [f"user-{i}" for i in range(20_000)]


def test_a_routing_key_always_gets_the_same_arm() -> None:
    config = TrafficConfig("m", challenger_share=0.5)
    first = {k: choose_arm(config, k, has_challenger=True) for k in KEYS[:500]}
    for _ in range(3):
        assert {k: choose_arm(config, k, has_challenger=True) for k in KEYS[:500]} == first
    assert set(first.values()) == {names.CHAMPION, names.CHALLENGER}


def test_the_arm_follows_the_key_fraction() -> None:
    config = TrafficConfig("m", challenger_share=0.3)
    for key in KEYS[:2000]:
        expected = names.CHALLENGER if key_fraction("m", key) < 0.3 else names.CHAMPION
        assert choose_arm(config, key, True) == expected


@pytest.mark.parametrize("share", [0.05, 0.2, 0.5, 0.9])
def test_keyed_share_is_respected(share: float) -> None:
    config = TrafficConfig("m", challenger_share=share)
    observed = sum(choose_arm(config, k, True) == names.CHALLENGER for k in KEYS) / len(KEYS)
    # 20,000 keys: the standard error is at most 0.0036; 0.015 is over four of them.
    assert abs(observed - share) < 0.015


@pytest.mark.parametrize("share", [0.1, 0.5])
def test_unkeyed_share_is_respected(share: float) -> None:
    random.seed(12345)
    config = TrafficConfig("m", challenger_share=share)
    observed = sum(choose_arm(config, None, True) == names.CHALLENGER for _ in range(20_000)) / 20_000
    assert abs(observed - share) < 0.015


def test_raising_the_share_only_moves_keys_to_the_challenger() -> None:
    low, high = TrafficConfig("m", 0.2), TrafficConfig("m", 0.5)
    moved_back = [k for k in KEYS[:5000] if choose_arm(low, k, True) == names.CHALLENGER]
    assert moved_back and all(choose_arm(high, k, True) == names.CHALLENGER for k in moved_back)


def test_keys_are_hashed_per_model() -> None:
    fractions = [(key_fraction("a", k), key_fraction("b", k)) for k in KEYS[:1000]]
    assert all(0.0 <= x < 1.0 and 0.0 <= y < 1.0 for x, y in fractions)
    assert sum(x == y for x, y in fractions) == 0  # the same user is split independently per model
    assert key_fraction("a", "user-1") == key_fraction("a", "user-1")


@pytest.mark.parametrize(
    ("config", "has_challenger"),
    [
        (TrafficConfig("m", challenger_share=1.0, shadow=True), True),  # shadow: the champion answers
        (TrafficConfig("m", challenger_share=0.5), False),  # no challenger loaded
        (TrafficConfig("m", challenger_share=0.0), True),  # share 0
        (TrafficConfig("m"), True),  # the default split
    ],
    ids=["shadow", "no-challenger", "zero-share", "default"],
)
def test_only_the_champion_answers(config: TrafficConfig, has_challenger: bool) -> None:
    assert {choose_arm(config, k, has_challenger) for k in KEYS[:2000]} == {names.CHAMPION}
    assert {choose_arm(config, None, has_challenger) for _ in range(2000)} == {names.CHAMPION}


def test_full_share_sends_everyone_to_the_challenger() -> None:
    config = TrafficConfig("m", challenger_share=1.0)
    assert {choose_arm(config, k, True) for k in KEYS[:2000]} == {names.CHALLENGER}
    assert {choose_arm(config, None, True) for _ in range(2000)} == {names.CHALLENGER}
