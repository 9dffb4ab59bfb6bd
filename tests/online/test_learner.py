"""``OnlineLearner`` in-process on a real seeded registry: arrival order, gate decisions, registration, reset."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np
import pytest

from core import names
from core.config import Settings
from core.demo.datasets import breast_cancer_split
from core.demo.online import INITIAL_ROWS
from core.errors import InvalidInputError
from core.online.learner import OnlineConfig, OnlineLearner, partial_fit, update_json
from core.registry.facade import Registry
from core.runtime.handles import ModelHandle, load_handle
from core.store.events import updates_frame

ONLINE = names.BREAST_CANCER_ONLINE
X_TRAIN, X_TEST, Y_TRAIN, Y_TEST = breast_cancer_split()


@dataclass
class Served:
    """What the service gives a learner: the current champion, and a way to promote."""

    registry: Registry
    settings: Settings
    champion_handle: ModelHandle
    promotions: list[tuple[int, str]] = field(default_factory=list)

    def champion(self) -> ModelHandle:
        return self.champion_handle

    def promote(self, version: int, reason: str) -> None:
        self.registry.promote(ONLINE, version, names.CHAMPION, actor="pytest", reason=reason)
        self.promotions.append((version, reason))
        self.champion_handle = load_handle(self.settings.tracking_uri, ONLINE, version)

    def learner(self, **config) -> OnlineLearner:
        return OnlineLearner(
            self.registry,
            self.settings,
            self.champion_handle,
            OnlineConfig(**config),
            champion=self.champion,
            promote=self.promote,
            actor="pytest-learner",
        )


@pytest.fixture
def served(online_home: Settings) -> Iterator[Served]:
    registry = Registry.from_settings(online_home)
    yield Served(registry, online_home, load_handle(online_home.tracking_uri, ONLINE, 1))


def _rows(start: int, stop: int) -> tuple[np.ndarray, list[int]]:
    return X_TRAIN.iloc[start:stop].to_numpy("float64"), Y_TRAIN.iloc[start:stop].tolist()


def _events(served: Served) -> list[str]:
    return updates_frame(served.registry.store, ONLINE)["event"].tolist()


def test_batches_are_applied_once_each_in_arrival_order(served: Served) -> None:
    learner = served.learner(eval_every=0)
    starts = [INITIAL_ROWS + 10 * i for i in range(24)]
    futures: dict[int, Future] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def sender(mine: list[int]) -> None:
        barrier.wait()
        for start in mine:
            future = learner.submit(*_rows(start, start + 10))
            with lock:
                futures[start] = future

    threads = [threading.Thread(target=sender, args=(starts[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    results = {start: f.result(60) for start, f in futures.items()}
    learner.close()

    by_batch = sorted(results.items(), key=lambda kv: kv[1].batch)
    assert [r.batch for _, r in by_batch] == list(range(1, 25))  # each numbered once
    assert [r.rows_since_parent for _, r in by_batch] == [10 * (i + 1) for i in range(24)]
    assert all(r.rows == 10 and r.parent_version == 1 and r.update is None for r in results.values())
    assert learner.describe()["batches"] == 24 and learner.describe()["rows_since_parent"] == 240

    # Replaying in the numbered order gives the candidate exactly; another order does not.
    def replay(order: list[int]) -> np.ndarray:
        model = load_handle(served.settings.tracking_uri, ONLINE, 1).model
        for start in order:
            partial_fit(model, X_TRAIN.iloc[start : start + 10], Y_TRAIN.iloc[start : start + 10].to_numpy(), [0, 1])
        return model.named_steps["sgd"].coef_

    coef = learner.candidate.named_steps["sgd"].coef_
    numbered = [start for start, _ in by_batch]
    # BLAS summation order under load moves the last digits; the batches in another order differ by > 1e-3
    np.testing.assert_allclose(replay(numbered), coef, rtol=1e-9, atol=0)
    assert np.abs(replay(numbered[::-1]) - coef).max() > 1e-3
    # the served champion was never touched
    assert served.champion().model is not learner.candidate


def test_bad_labels_are_refused_before_they_are_queued(served: Served) -> None:
    learner = served.learner(eval_every=0)
    X, y = _rows(0, 3)
    with pytest.raises(InvalidInputError, match="labels: 7 not a class"):
        learner.submit(X, [0, 1, 7])
    with pytest.raises(InvalidInputError, match="2 labels for 3 rows"):
        learner.submit(X, y[:2])
    assert learner.submit(X, ["1", "0", 1]).result(30).batch == 1  # "1" is the class 1
    assert learner.batches == 1
    learner.close()


def test_evaluation_without_registering_records_the_gate_decision(served: Served) -> None:
    learner = served.learner(eval_every=0, margin_points=100.0)
    learner.submit(*_rows(INITIAL_ROWS, INITIAL_ROWS + 100)).result(30)
    result = learner.evaluate(register=False).result(60)
    learner.close()
    decision = result.decision
    assert result.event == "evaluated" and decision.accepted and result.new_version is None
    assert decision.rows == 100 and decision.champion_version == 1 and decision.margin_points == 100.0
    assert set(decision.metrics) == {"accuracy", "f1", "roc_auc"}
    assert decision.candidate_accuracy == pytest.approx(decision.metrics["accuracy"])
    # the champion's number is its accuracy on the held-out set, measured now
    champion = served.champion()
    truth = Y_TEST.to_numpy()
    expected = float((champion.predict_proba(X_TEST.to_numpy("float64")).argmax(1) == truth).mean())
    assert decision.champion_accuracy == pytest.approx(expected)
    assert "passes the gate after 100 rows" in decision.reason
    assert [v.version for v in served.registry.list_versions(ONLINE)] == [1]  # nothing registered

    (row,) = updates_frame(served.registry.store, ONLINE).to_dict("records")
    assert row["event"] == "evaluated" and row["parent_version"] == 1 and row["rows"] == 100
    assert row["candidate_accuracy"] == pytest.approx(decision.candidate_accuracy)
    assert row["champion_accuracy"] == pytest.approx(decision.champion_accuracy)
    assert row["new_version"] is None or np.isnan(row["new_version"])
    assert row["actor"] == "pytest-learner" and row["reason"] == decision.reason
    assert learner.describe()["last_update"] == update_json(result)


def test_a_candidate_that_fails_the_gate_stays_a_candidate(served: Served) -> None:
    learner = served.learner(eval_every=0, margin_points=-100.0)  # must beat the champion by 100 points
    learner.submit(*_rows(INITIAL_ROWS, INITIAL_ROWS + 50)).result(30)
    result = learner.evaluate(register=True).result(60)
    learner.close()
    assert result.event == "rejected" and not result.decision.accepted and result.new_version is None
    assert "fails the gate after 50 rows" in result.decision.reason
    assert learner.parent_version == 1 and learner.rows_since_parent == 50  # it keeps learning from here
    assert [v.version for v in served.registry.list_versions(ONLINE)] == [1]
    assert _events(served) == ["rejected"]


def test_no_rows_means_nothing_to_judge(served: Served) -> None:
    learner = served.learner(eval_every=0, margin_points=100.0)
    result = learner.evaluate(register=True).result(60)
    learner.close()
    assert result.event == "rejected" and result.decision.reason == "no rows since v1: nothing to judge"


def test_every_n_rows_a_passing_candidate_is_registered_and_promoted(served: Served) -> None:
    learner = served.learner(eval_every=100, margin_points=100.0, auto_register=True, auto_promote=True)
    first = learner.submit(*_rows(INITIAL_ROWS, INITIAL_ROWS + 60)).result(30)
    assert first.update is None  # 60 rows: not yet
    second = learner.submit(*_rows(INITIAL_ROWS + 60, INITIAL_ROWS + 120)).result(120)
    learner.close()
    update = second.update
    assert update is not None and update.event == "promoted" and update.new_version == 2
    assert update.decision.rows == 120 and update.parent_version == 1
    version = served.registry.get_version(ONLINE, 2)
    assert version.tags[names.TAG_ONLINE_PARENT] == "1" and version.tags[names.TAG_ONLINE_ROWS] == "120"
    assert version.tags[names.TAG_ONLINE] == "true"
    assert version.metrics["accuracy"] == pytest.approx(update.decision.candidate_accuracy)
    assert served.registry.resolve_alias(ONLINE, names.CHAMPION) == 2
    assert served.promotions == [(2, f"online update of v1: {update.decision.reason}")]
    # the candidate carries on from the new version
    assert learner.parent_version == 2 and learner.rows_since_parent == 0
    assert _events(served) == ["promoted"]
    # the registered version predicts exactly what the candidate did
    registered = load_handle(served.settings.tracking_uri, ONLINE, 2)
    np.testing.assert_allclose(
        registered.sklearn_proba(X_TEST.to_numpy("float64")), learner.candidate.predict_proba(X_TEST), atol=1e-12
    )


def test_reset_restarts_from_the_champion_and_says_why(served: Served) -> None:
    learner = served.learner(eval_every=0, margin_points=100.0)
    learner.submit(*_rows(INITIAL_ROWS, INITIAL_ROWS + 30)).result(30)
    learner.evaluate(register=False).result(60)
    state = learner.reset().result(30)
    learner.close()
    assert state["rows_since_parent"] == 0 and state["parent_version"] == 1 and state["last_update"] is None
    assert state["batches"] == 1  # numbering goes on
    assert _events(served) == ["evaluated", "discarded"]
    reason = updates_frame(served.registry.store, ONLINE)["reason"].iloc[-1]
    assert reason == "candidate discarded (30 rows since v1); restarted from champion v1"
    # the fresh candidate is the champion's model again, not the trained one
    np.testing.assert_array_equal(
        learner.candidate.named_steps["sgd"].coef_, served.champion().model.named_steps["sgd"].coef_
    )


def test_a_registered_candidate_keeps_its_lineage_until_the_champion_moves_elsewhere(served: Served) -> None:
    learner = served.learner(eval_every=0, margin_points=100.0)
    learner.submit(*_rows(INITIAL_ROWS, INITIAL_ROWS + 40)).result(30)
    registered = learner.evaluate(register=True, promote=False).result(120)
    assert registered.event == "registered" and registered.new_version == 2
    assert served.registry.resolve_alias(ONLINE, names.CHAMPION) == 1  # registered, not promoted
    more = learner.submit(*_rows(INITIAL_ROWS + 40, INITIAL_ROWS + 70)).result(30)
    assert (more.parent_version, more.rows_since_parent) == (2, 30)  # no rebase: the champion did not move
    # Someone else moves the champion to v2 (the candidate's own parent): it carries on.
    served.promote(2, "promoted by hand")
    carried = learner.submit(*_rows(INITIAL_ROWS + 70, INITIAL_ROWS + 80)).result(30)
    assert (carried.parent_version, carried.rows_since_parent) == (2, 40)
    # Then back to v1 (a rollback elsewhere): the candidate's rows are dropped, it restarts from v1.
    served.registry.rollback(ONLINE, actor="pytest", reason="back")
    served.champion_handle = load_handle(served.settings.tracking_uri, ONLINE, 1)
    rebased = learner.submit(*_rows(INITIAL_ROWS, INITIAL_ROWS + 5)).result(30)
    learner.close()
    assert (rebased.parent_version, rebased.rows_since_parent) == (1, 5)
    frame = updates_frame(served.registry.store, ONLINE)
    assert frame["event"].tolist() == ["registered", "rebased"]
    assert frame["reason"].iloc[-1] == (
        "champion moved from v2 to v1: 40 unregistered rows dropped, candidate restarted from v1"
    )


def test_a_model_without_partial_fit_is_refused(bc_home: Settings) -> None:
    handle = load_handle(bc_home.tracking_uri, names.BREAST_CANCER, 3)
    with pytest.raises(InvalidInputError, match="does not support partial_fit"):
        OnlineLearner(
            Registry.from_settings(bc_home),
            bc_home,
            handle,
            OnlineConfig(),
            champion=lambda: handle,
            promote=lambda _v, _r: None,
        )
