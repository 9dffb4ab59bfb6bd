"""Live accuracy from a real SQLite log with partial feedback: labels compared in the model's own type.

Reproduces the shipped-demo defect: once some requests had no label, the label column became
floats and ``str(0) != str(0.0)`` made every answer wrong (accuracy 0 for both arms).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from core import names
from core.analysis.ab import analyse, load_outcomes
from core.labels import as_label_of, labels_match
from core.store.db import Store, predictions
from core.store.predlog import PredictionRecord, record_feedback


def _log(store: Store, model: str, rows: list[tuple[str, str, int, object]]) -> None:
    """Write served requests ``(request_id, arm, version, predicted)`` as the service does."""
    start = datetime.now(UTC) - timedelta(minutes=5)
    records = [
        PredictionRecord(rid, model, version, arm, None, {}, [pred], [[0.5, 0.5]], 1.0, start + timedelta(seconds=i))
        for i, (rid, arm, version, pred) in enumerate(rows)
    ]
    with store.engine.begin() as conn:
        conn.execute(predictions.insert(), [r.row() for r in records])


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'store.db'}")


@pytest.mark.parametrize(
    ("classes", "sent"),
    [
        ([0, 1], lambda c: c),  # ints, as the demo sends them
        ([0, 1], lambda c: float(c)),  # a client that sends 1.0
        ([0, 1], lambda c: str(c)),  # a form that sends "1"
        (["no", "yes"], lambda c: c),  # string labels
        ([False, True], lambda c: c),  # booleans
        ([False, True], lambda c: int(c)),  # booleans sent as 0/1
    ],
)
def test_partial_feedback_counts_right_answers(store: Store, classes: list, sent) -> None:
    rng = np.random.default_rng(0)
    rows, truth = [], {}
    for i in range(200):
        arm = names.CHAMPION if i % 2 else names.CHALLENGER
        predicted = classes[int(rng.integers(0, 2))]
        rid = f"r{i}"
        rows.append((rid, arm, 1 if arm == names.CHAMPION else 2, predicted))
        if i % 5 != 0:  # 80% labelled; the rest stay unlabelled, as on real traffic
            right = rng.random() < 0.9
            truth[rid] = predicted if right else classes[1 - classes.index(predicted)]
    _log(store, "m", rows)
    for rid, label in truth.items():
        record_feedback(store, rid, sent(label))
    frame = load_outcomes(store, "m")
    labelled = frame[frame["correct"].notna()]
    assert len(labelled) == len(truth)
    expected = sum(truth[r] == p for r, _, _, p in rows if r in truth)
    assert int(labelled["correct"].astype(bool).sum()) == expected
    assert expected / len(truth) > 0.8
    # labels come back in the model's own type, not floats
    assert {type(v) for v in labelled["label"]} == {type(classes[0])}
    report = analyse(frame, "m", {names.CHAMPION: 1, names.CHALLENGER: 2}, 0.5)
    for arm in report.arms:
        assert 0.8 < arm.accuracy <= 1.0


def test_last_label_wins_and_unlabelled_stay_missing(store: Store) -> None:
    _log(store, "m", [("a", names.CHAMPION, 1, 0), ("b", names.CHAMPION, 1, 1)])
    record_feedback(store, "a", 1)
    time.sleep(0.01)
    record_feedback(store, "a", 0)
    frame = load_outcomes(store, "m").set_index("request_id")
    assert frame.loc["a", "correct"] is True or bool(frame.loc["a", "correct"]) is True
    assert frame.loc["a", "label"] == 0
    assert frame["correct"].isna()["b"]


@pytest.mark.parametrize(
    ("predicted", "label", "match"),
    [
        (0, 0.0, True),
        (0, "0", True),
        (1, 0.0, False),
        ("yes", "yes", True),
        ("1", 1.0, True),
        ("1", 1, True),
        (True, 1, True),
        (True, "true", True),
        (False, 1, False),
        (2.5, "2.5", True),
        (np.int64(3), 3.0, True),
        ("cat", 3, False),
        (0, None, None),
        (0, float("nan"), None),
    ],
)
def test_labels_match_in_the_model_type(predicted: object, label: object, match: bool | None) -> None:
    assert labels_match(predicted, label) is match


def test_unconvertible_label_is_returned_unchanged() -> None:
    assert as_label_of(1, "cat") == "cat"
    assert as_label_of(1.0, "x") == "x"
