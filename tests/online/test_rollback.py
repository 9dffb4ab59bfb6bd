"""Automatic rollback on a real seeded registry and SQLite store, with traffic written as the service logs it.

Labels arrive for only part of the traffic and are ints, as the demo sends them: a once-shipped bug
turned such labels into floats and every answer wrong, so no rollback could ever trigger.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from mlflow import MlflowClient

from core import names
from core.config import Settings
from core.online.rollback import AUTO_ROLLBACK_ACTOR, RollbackCheck, check_auto_rollback, live_comparison
from core.registry.facade import Registry
from core.store.db import predictions
from core.store.events import updates_frame
from core.store.predlog import PredictionRecord, record_feedback

BC = names.BREAST_CANCER


@pytest.fixture
def promoted(bc_home: Settings) -> tuple[Registry, datetime]:
    """breast-cancer with v3 just promoted over v2 (the last champion move is a promotion)."""
    registry = Registry.from_settings(bc_home)
    registry.rollback(BC, actor="pytest", reason="set-up")  # 3 -> 2
    move = registry.promote(BC, 3, actor="pytest", reason="set-up: promote v3 again")
    assert (move.from_version, move.to_version, move.action) == (2, 3, "promote")
    return registry, registry.history(BC, alias=names.CHAMPION, limit=1)[0].at


def _serve(
    registry: Registry,
    version: int,
    at: datetime,
    right: int,
    wrong: int,
    unlabelled: int = 0,
    arm: str = names.CHAMPION,
    prefix: str = "",
) -> None:
    """Log ``right + wrong + unlabelled`` requests served by ``version`` around ``at``; label the first two groups.

    Predictions alternate between the classes 0 and 1; labels are ints, as the demo sends them.
    """
    prefix = prefix or f"v{version}-{arm}-{at.timestamp()}"
    records, labels = [], {}
    for i in range(right + wrong + unlabelled):
        predicted = i % 2
        rid = f"{prefix}-{i}"
        records.append(
            PredictionRecord(
                rid, BC, version, arm, None, {}, [predicted], [[0.5, 0.5]], 1.0, at + timedelta(milliseconds=i)
            )
        )
        if i < right:
            labels[rid] = predicted
        elif i < right + wrong:
            labels[rid] = 1 - predicted
    # unlabelled requests sit between labelled ones, as on real traffic
    order = np.random.default_rng(version).permutation(len(records))
    with registry.store.engine.begin() as conn:
        conn.execute(predictions.insert(), [records[i].row() for i in order])
    for rid, label in labels.items():
        record_feedback(registry.store, rid, int(label))


def test_a_worse_promoted_version_is_rolled_back(promoted: tuple[Registry, datetime]) -> None:
    registry, at = promoted
    _serve(registry, 2, at - timedelta(minutes=10), right=45, wrong=5, unlabelled=12)  # v2 before: 90%
    _serve(registry, 3, at + timedelta(seconds=1), right=30, wrong=20, unlabelled=13)  # v3 after: 60%
    check = live_comparison(registry, BC, min_labels=40, threshold_points=5.0)
    assert check == RollbackCheck(BC, 3, 2, 50, 0.6, 50, 0.9, 5.0)
    assert check.gap_points == pytest.approx(30.0) and check.should_roll_back

    move = check_auto_rollback(registry, BC, min_labels=40, threshold_points=5.0)
    assert move is not None and (move.from_version, move.to_version, move.action) == (3, 2, "rollback")
    assert move.actor == AUTO_ROLLBACK_ACTOR
    assert move.reason == (
        "automatic rollback: live accuracy of v3 0.600 over 50 labels is 30.0 points below v2's 0.900 "
        "over 50 labels (threshold 5)"
    )
    assert registry.resolve_alias(BC, names.CHAMPION) == 2
    (event,) = updates_frame(registry.store, BC).to_dict("records")
    assert (event["event"], event["parent_version"], event["new_version"], event["rows"]) == ("rollback", 3, 2, 50)
    assert event["candidate_accuracy"] == pytest.approx(0.6) and event["champion_accuracy"] == pytest.approx(0.9)
    assert event["champion_version"] == 2 and event["actor"] == AUTO_ROLLBACK_ACTOR
    # The last champion move is now a rollback: nothing more to judge, no second rollback.
    assert live_comparison(registry, BC, 40, 5.0) is None
    assert check_auto_rollback(registry, BC, 40, 5.0) is None
    assert registry.resolve_alias(BC, names.CHAMPION) == 2


def test_partially_labelled_int_labels_count_right_answers(promoted: tuple[Registry, datetime]) -> None:
    registry, at = promoted
    # 80% labelled on both sides, both versions equally good: no rollback, and the accuracies are real.
    _serve(registry, 2, at - timedelta(minutes=5), right=40, wrong=0, unlabelled=10)
    _serve(registry, 3, at + timedelta(seconds=1), right=39, wrong=1, unlabelled=10)
    check = live_comparison(registry, BC, min_labels=40, threshold_points=5.0)
    assert check is not None and (check.labels, check.predecessor_labels) == (40, 40)
    assert (check.accuracy, check.predecessor_accuracy) == (0.975, 1.0)
    assert not check.should_roll_back
    assert check_auto_rollback(registry, BC, 40, 5.0) is None
    assert registry.resolve_alias(BC, names.CHAMPION) == 3


def test_the_threshold_is_a_strict_gap(promoted: tuple[Registry, datetime]) -> None:
    registry, at = promoted
    _serve(registry, 2, at - timedelta(minutes=5), right=30, wrong=10)  # 75%
    _serve(registry, 3, at + timedelta(seconds=1), right=20, wrong=20)  # 50%: 25 points below
    assert live_comparison(registry, BC, 40, 25.0).gap_points == 25.0
    assert check_auto_rollback(registry, BC, 40, 25.0) is None  # exactly the threshold: kept
    assert check_auto_rollback(registry, BC, 40, 24.9) is not None
    assert registry.resolve_alias(BC, names.CHAMPION) == 2


def test_too_few_labels_on_either_side_decide_nothing(promoted: tuple[Registry, datetime]) -> None:
    registry, at = promoted
    _serve(registry, 2, at - timedelta(minutes=5), right=45, wrong=5, unlabelled=30)
    _serve(registry, 3, at + timedelta(seconds=1), right=5, wrong=25, unlabelled=30)
    assert live_comparison(registry, BC, min_labels=31, threshold_points=5.0) is None  # v3 has 30 labels
    assert check_auto_rollback(registry, BC, 31, 5.0) is None
    assert live_comparison(registry, BC, min_labels=30, threshold_points=5.0) is not None
    assert registry.resolve_alias(BC, names.CHAMPION) == 3


def test_only_traffic_on_the_right_side_of_the_promotion_counts(promoted: tuple[Registry, datetime]) -> None:
    registry, at = promoted
    _serve(registry, 2, at - timedelta(minutes=5), right=45, wrong=5)  # v2 as champion: 90%
    _serve(registry, 3, at + timedelta(seconds=1), right=35, wrong=15)  # v3 as champion: 70%
    # Not counted: v3 as challenger before the promotion (all wrong), v2 as challenger after it
    # (all right), and shadow copies of v3 after it (all wrong).
    _serve(registry, 3, at - timedelta(minutes=4), right=0, wrong=50, arm=names.CHALLENGER)
    _serve(registry, 2, at + timedelta(seconds=2), right=50, wrong=0, arm=names.CHALLENGER)
    _serve(registry, 3, at + timedelta(seconds=3), right=0, wrong=50, arm="shadow")
    check = live_comparison(registry, BC, 40, 5.0)
    assert check is not None
    assert (check.labels, check.accuracy, check.predecessor_labels, check.predecessor_accuracy) == (50, 0.7, 50, 0.9)


def test_no_traffic_or_no_promotion_decides_nothing(bc_home: Settings) -> None:
    registry = Registry.from_settings(bc_home)
    # As seeded, the last champion move is the promotion of v3 over v2, but nothing was served.
    assert registry.history(BC, alias=names.CHAMPION, limit=1)[0].action == "promote"
    assert live_comparison(registry, BC, 1, 0.0) is None
    registry.rollback(BC, actor="pytest")
    assert live_comparison(registry, BC, 1, 0.0) is None  # the last move is a rollback


def test_an_alias_moved_outside_modelops_decides_nothing(promoted: tuple[Registry, datetime]) -> None:
    registry, at = promoted
    _serve(registry, 2, at - timedelta(minutes=5), right=45, wrong=5)
    _serve(registry, 3, at + timedelta(seconds=1), right=10, wrong=40)
    MlflowClient(registry.tracking_uri, registry.tracking_uri).set_registered_model_alias(BC, names.CHAMPION, "1")
    assert live_comparison(registry, BC, 40, 5.0) is None
    assert check_auto_rollback(registry, BC, 40, 5.0) is None
    assert registry.resolve_alias(BC, names.CHAMPION) == 1
