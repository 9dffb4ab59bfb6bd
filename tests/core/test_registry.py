"""The registry facade against a real MLflow SQLite registry and a real SQLite store."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from mlflow import MlflowClient

from core import names
from core.config import Settings
from core.errors import (
    AliasNotFoundError,
    InvalidInputError,
    ModelNotFoundError,
    NoEarlierChampionError,
    RegistryUnavailableError,
    VersionNotFoundError,
)
from core.registry.facade import Registry
from core.registry.frames import history_frame, versions_frame

BC = names.BREAST_CANCER


def _client(registry: Registry) -> MlflowClient:
    """A plain MLflow client on the same registry, to check what MLflow itself sees."""
    return MlflowClient(registry.tracking_uri, registry.tracking_uri)


def test_lists_demo_models_with_aliases(seeded_home: Settings) -> None:
    models = {m.name: m for m in Registry.from_settings(seeded_home).list_models()}
    assert set(models) == set(names.DEMO_MODELS)
    online = models[names.BREAST_CANCER_ONLINE]
    assert online.champion == 1 and online.challenger is None
    bc = models[BC]
    assert bc.version_count >= 3 and bc.latest_version == 3
    assert bc.champion == 3 and bc.challenger == 2
    assert models[names.DIGITS].version_count >= 2
    assert models[names.DIGITS].champion is not None


def test_versions_carry_metrics_params_tags_and_run(registry: Registry) -> None:
    versions = registry.list_versions(BC)
    assert [v.version for v in versions] == [3, 2, 1]
    for v in versions:
        assert {"accuracy", "f1", "roc_auc"} <= set(v.metrics)
        assert v.run_id and v.created_at.tzinfo is not None
        assert v.tags[names.TAG_FLAVOR] == "sklearn"
    forest = versions[0]
    assert forest.aliases == (names.CHAMPION,)
    assert forest.params["n_estimators"] == "200" and "cv_best_accuracy" in forest.params
    # The champion is the best held-out model.
    assert forest.metrics["accuracy"] == max(v.metrics["accuracy"] for v in versions)
    frame = versions_frame(versions)
    assert list(frame["version"]) == [3, 2, 1] and "accuracy" in frame.columns


def test_resolve_alias_and_compare(registry: Registry) -> None:
    assert registry.resolve_alias(BC, names.CHAMPION) == 3
    cmp = registry.compare(BC, 2, 3)
    acc = cmp.metrics.set_index("metric").loc["accuracy"]
    assert acc["delta"] == pytest.approx(acc["v3"] - acc["v2"])
    same = registry.compare(BC, 3, 3)  # a version against itself: distinct columns, zero deltas
    assert list(same.metrics.columns) == ["metric", "A: v3", "B: v3", "delta"]
    assert (same.metrics["delta"] == 0).all() and same.params.empty
    assert not cmp.params.empty  # naive Bayes and a forest share no parameters


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda r: r.get_model("no-such-model"), ModelNotFoundError),
        (lambda r: r.list_versions("no-such-model"), ModelNotFoundError),
        (lambda r: r.get_version(BC, 99), VersionNotFoundError),
        (lambda r: r.get_version(BC, 0), InvalidInputError),
        (lambda r: r.get_version(BC, "abc"), InvalidInputError),
        (lambda r: r.resolve_alias(BC, "production"), InvalidInputError),
        (lambda r: r.get_model(""), InvalidInputError),
        (lambda r: r.promote(BC, 99), VersionNotFoundError),
        (lambda r: r.promote("no-such-model", 1), ModelNotFoundError),
        (lambda r: r.rollback("no-such-model"), ModelNotFoundError),
    ],
)
def test_bad_input_raises_typed_errors(registry: Registry, call, error) -> None:
    with pytest.raises(error) as info:
        call(registry)
    assert str(info.value)  # a message a user can read


def test_missing_alias(registry: Registry) -> None:
    _client(registry).delete_registered_model_alias(BC, names.CHALLENGER)
    with pytest.raises(AliasNotFoundError, match="challenger"):
        registry.resolve_alias(BC, names.CHALLENGER)


def test_promote_moves_alias_and_records_history(registry: Registry) -> None:
    move = registry.promote(BC, 1, names.CHALLENGER, actor="alice", reason="try the stump")
    assert (move.from_version, move.to_version, move.action) == (2, 1, "promote")
    assert int(_client(registry).get_model_version_by_alias(BC, names.CHALLENGER).version) == 1
    latest = registry.history(BC, limit=1)[0]
    assert (latest.alias, latest.actor, latest.reason) == (names.CHALLENGER, "alice", "try the stump")
    assert list(history_frame(registry.history(BC)).columns)[:3] == ["when", "model", "alias"]


def test_rollback_walks_back_through_earlier_champions(registry: Registry) -> None:
    assert registry.rollback_target(BC) == (3, 2)
    first = registry.rollback(BC, reason="bad AUC")
    assert (first.from_version, first.to_version, first.action) == (3, 2, "rollback")
    assert int(_client(registry).get_model_version_by_alias(BC, names.CHAMPION).version) == 2
    second = registry.rollback(BC)
    assert (second.from_version, second.to_version) == (2, 1)
    with pytest.raises(NoEarlierChampionError, match="no earlier champion"):
        registry.rollback(BC)
    assert registry.resolve_alias(BC, names.CHAMPION) == 1


def test_rollback_after_repromotion_returns_to_the_previous_holder(registry: Registry) -> None:
    registry.rollback(BC)  # 3 -> 2
    registry.promote(BC, 3)  # 2 -> 3
    assert registry.rollback(BC).to_version == 2


def test_rollback_trusts_the_registry_when_alias_moved_outside(registry: Registry) -> None:
    _client(registry).set_registered_model_alias(BC, names.CHAMPION, "1")
    move = registry.rollback(BC)
    assert (move.from_version, move.to_version) == (1, 3)


def test_rollback_without_history_is_a_clear_error(empty_home: Settings) -> None:
    from core.registry.registration import configure_mlflow

    configure_mlflow(empty_home)
    client = MlflowClient(empty_home.tracking_uri, empty_home.tracking_uri)
    client.create_registered_model("solo")
    reg = Registry.from_settings(empty_home)
    with pytest.raises(AliasNotFoundError, match="no champion"):
        reg.rollback("solo")


def test_alias_moves_made_outside_modelops_are_recorded_and_can_be_rolled_back(empty_home: Settings) -> None:
    """A registry written by plain MLflow calls: the champion moved in the MLflow UI could not be rolled back."""
    from core.registry.registration import configure_mlflow

    configure_mlflow(empty_home)
    client = MlflowClient(empty_home.tracking_uri, empty_home.tracking_uri)
    client.create_registered_model("foreign")
    for _ in range(2):
        client.create_model_version("foreign", source=str(empty_home.home / "nowhere"))
    reg = Registry.from_settings(empty_home)
    client.set_registered_model_alias("foreign", names.CHAMPION, "1")
    first = reg.observe_aliases(reg.get_model("foreign"))
    assert [(m.alias, m.from_version, m.to_version, m.action) for m in first] == [("champion", None, 1, "observed")]
    assert reg.observe_aliases(reg.get_model("foreign")) == []  # seen once, recorded once
    client.set_registered_model_alias("foreign", names.CHAMPION, "2")
    client.set_registered_model_alias("foreign", names.CHALLENGER, "1")
    second = reg.observe_aliases(reg.get_model("foreign"))
    assert {(m.alias, m.from_version, m.to_version) for m in second} == {("champion", 1, 2), ("challenger", None, 1)}
    assert second[0].actor == "outside ModelOps" and "MLflow UI or API" in second[0].reason
    assert reg.rollback_target("foreign") == (2, 1)
    assert reg.rollback("foreign").to_version == 1


def test_a_stale_look_at_the_registry_does_not_record_a_move_back(registry: Registry) -> None:
    """The acceptance test caught it: a poll read v3, a promotion to v4 landed, the poll recorded 4 -> 3."""
    stale = registry.get_model(BC)  # champion v3, read before the promotion
    registry.promote(BC, 1, names.CHAMPION, actor="alice")
    assert registry.observe_aliases(stale) == []
    latest = registry.history(BC, alias=names.CHAMPION, limit=1)[0]
    assert (latest.action, latest.to_version) == ("promote", 1)


def test_concurrent_rollbacks_are_serialised_and_both_recorded(registry: Registry, bc_home: Settings) -> None:
    barrier = threading.Barrier(2)
    results: list[object] = []

    def worker() -> None:
        reg = Registry.from_settings(bc_home)
        barrier.wait()
        try:
            results.append(reg.rollback(BC, actor=threading.current_thread().name))
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=worker, name=f"t{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    moves = sorted((r for r in results), key=lambda m: m.id)  # type: ignore[attr-defined]
    assert [(m.from_version, m.to_version) for m in moves] == [(3, 2), (2, 1)]
    assert registry.resolve_alias(BC, names.CHAMPION) == 1
    recorded = [m for m in registry.history(BC, names.CHAMPION) if m.action == "rollback"]
    assert len(recorded) == 2


def test_empty_registry_lists_nothing(empty_home: Settings) -> None:
    assert Registry.from_settings(empty_home).list_models() == []


def test_unreachable_tracking_server_is_a_typed_error_fast(empty_home: Settings) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    reg = Registry(f"http://127.0.0.1:{port}", Registry.from_settings(empty_home).store)
    started = time.monotonic()
    with pytest.raises(RegistryUnavailableError, match=f"127.0.0.1:{port}"):
        reg.list_models()
    assert time.monotonic() - started < 30


def test_metric_regressions_name_what_gets_worse() -> None:
    from datetime import UTC, datetime

    from core.registry.frames import metric_regressions
    from core.registry.types import VersionInfo

    def version(n: int, **metrics: float) -> VersionInfo:
        return VersionInfo("m", n, None, "", "READY", datetime.now(UTC), (), metrics, {}, {}, "")

    v1, v3 = version(1, accuracy=0.888, f1=0.9), version(3, accuracy=0.944, f1=0.9, roc_auc=0.99)
    assert metric_regressions(v1, v3) == ["accuracy 0.888 < 0.944 (v3)"]
    assert metric_regressions(v3, v1) == []
    assert metric_regressions(v1, None) == [] and metric_regressions(v1, v1) == []
    ridge, boost = version(1, mae=43.2, rmse=55.0), version(2, mae=47.1, rmse=54.0)  # a regressor: lower wins
    assert metric_regressions(boost, ridge) == ["mae 47.100 > 43.200 (v1)"]
    assert metric_regressions(ridge, boost) == ["rmse 55.000 > 54.000 (v2)"]


@pytest.mark.parametrize(
    ("numbers", "champion", "challenger", "expected"),
    [
        ([3, 2, 1], 3, 2, (2, 3)),  # the A/B pair
        ([2, 1], 1, None, (2, 1)),  # champion v1 and no challenger opened as v1 vs v1
        ([2, 1], None, None, (1, 2)),
        ([4, 3, 2, 1], 2, 2, (4, 2)),  # one version holding both aliases
    ],
)
def test_compare_opens_on_two_different_versions(numbers, champion, challenger, expected) -> None:
    from core.registry.frames import compare_defaults

    assert compare_defaults(numbers, champion, challenger) == expected


def test_descriptions_and_tags_are_edited_validated_and_recorded(registry: Registry) -> None:
    from core.registry.edits import edit_version
    from core.store.edits import edits_frame

    changed = edit_version(
        registry, BC, 2, actor="alice", description="naive Bayes, kept as the fallback", tags={"owner": "ml-team"}
    )
    assert [c.field for c in changed] == ["description", "tag:owner"]
    v2 = registry.get_version(BC, 2)
    assert v2.description == "naive Bayes, kept as the fallback" and v2.tags["owner"] == "ml-team"
    assert edit_version(registry, BC, 2, actor="alice", description=v2.description, tags={"owner": "ml-team"}) == []
    removed = edit_version(registry, BC, 2, actor="bob", tags={"owner": None})
    assert [(c.field, c.old, c.new) for c in removed] == [("tag:owner", "ml-team", None)]
    assert "owner" not in registry.get_version(BC, 2).tags
    edit_version(registry, BC, 2, actor="bob", tags={names.TAG_CLASS_NAMES: '{"0": "M", "1": "B"}'})
    recorded = edits_frame(registry.store, BC)
    assert list(recorded["field"]) == ["tag:modelops.class_names", "tag:owner", "tag:owner", "description"]
    assert list(recorded["who"]) == ["bob", "bob", "alice", "alice"]
    for tags, message in (
        ({names.TAG_FLAVOR: "keras"}, "written by ModelOps"),
        ({names.TAG_CLASS_NAMES: "[1, 2]"}, "must be a JSON object"),
        ({"": "x"}, "a tag key needs 1 to 250 characters"),
    ):
        with pytest.raises(InvalidInputError, match=message):
            edit_version(registry, BC, 2, actor="eve", tags=tags)
    with pytest.raises(InvalidInputError, match="the limit is 5,000"):
        edit_version(registry, BC, 2, actor="eve", description="x" * 5001)
    assert len(edits_frame(registry.store, BC)) == 4  # refused edits change and record nothing


def test_version_search_matches_every_word_anywhere(registry: Registry) -> None:
    from core.registry.frames import matching

    versions = registry.list_versions(BC)
    assert [v.version for v in matching(versions, "v3")] == [3]
    assert [v.version for v in matching(versions, "CHALLENGER")] == [2]
    assert [v.version for v in matching(versions, "  ")] == [3, 2, 1]
    assert matching(versions, "champion nothing-like-this") == []


def test_alias_moves_hold_the_store_lock_only_for_the_move(bc_home: Settings) -> None:
    """On SQLite the model lock is the store's write lock, which the prediction log's commits wait behind:
    only the alias read (for correctness under concurrency) and the alias write may happen under it."""
    import contextlib

    registry = Registry.from_settings(bc_home)
    held = {"now": False}
    under_lock: list[str] = []
    real_lock = registry.store.model_lock

    @contextlib.contextmanager
    def spying_lock(model: str):
        with real_lock(model) as conn:
            held["now"] = True
            try:
                yield conn
            finally:
                held["now"] = False

    class Spy:
        def __init__(self, client: object) -> None:
            self._client = client

        def __getattr__(self, name: str) -> object:
            attr = getattr(self._client, name)
            if not callable(attr):
                return attr

            def call(*args: object, **kwargs: object) -> object:
                if held["now"]:
                    under_lock.append(name)
                return attr(*args, **kwargs)

            return call

    registry.store.model_lock = spying_lock  # type: ignore[method-assign]
    registry.client = Spy(registry.client)  # type: ignore[assignment]
    registry.promote(names.BREAST_CANCER, 1, names.CHAMPION, actor="pytest", reason="try v1")
    assert under_lock == ["get_model_version_by_alias", "set_registered_model_alias"]
    under_lock.clear()
    move = registry.rollback(names.BREAST_CANCER, actor="pytest", reason="back")
    assert move.to_version == 3 and move.from_version == 1
    assert under_lock == ["get_model_version_by_alias", "set_registered_model_alias"]
