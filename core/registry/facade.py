"""Registry facade: typed access to an MLflow model registry plus our alias history.

Example:
    >>> reg = Registry.from_settings(Settings.from_env())          # doctest: +SKIP
    >>> reg.rollback("breast-cancer", actor="alice", reason="bad AUC")  # doctest: +SKIP
    AliasMove(model='breast-cancer', alias='champion', from_version=3, to_version=2, ...)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import pandas as pd

from core import names
from core.config import Settings
from core.errors import (
    AliasNotFoundError,
    InvalidInputError,
    ModelNotFoundError,
    ModelOpsError,
    NoEarlierChampionError,
    RegistryUnavailableError,
    VersionNotFoundError,
)
from core.registry.types import ModelSummary, VersionComparison, VersionInfo, current_actor
from core.store.db import AliasMove, Store

T = TypeVar("T")


def _is_not_found(exc: Exception) -> bool:
    code = getattr(exc, "error_code", "")
    return code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND") or "not found" in str(exc).lower()


class Registry:
    """Typed facade over ``MlflowClient`` and the project's alias history.

    Every method raises a subclass of :class:`~core.errors.ModelOpsError`; MLflow and
    network errors never escape untranslated.
    """

    def __init__(self, tracking_uri: str, store: Store) -> None:
        from mlflow import MlflowClient  # lazy: importing mlflow costs ~1 s

        self.tracking_uri = tracking_uri
        self.store = store
        try:
            self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        except Exception as exc:
            raise RegistryUnavailableError(f"cannot open the MLflow registry at {tracking_uri!r}: {exc}") from exc

    @classmethod
    def from_settings(cls, settings: Settings) -> Registry:
        """A registry for the configured tracking URI and store."""
        settings.ensure_home()
        return cls(settings.tracking_uri, Store(settings.db_url))

    # -- error translation --------------------------------------------------------------
    @contextmanager
    def _mlflow(self, what: str) -> Iterator[None]:
        try:
            yield
        except ModelOpsError:
            raise
        except Exception as exc:
            raise RegistryUnavailableError(
                f"the MLflow registry at {self.tracking_uri!r} failed while {what}: "
                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
            ) from exc

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        with self._mlflow(what):
            return fn()

    # -- reading ------------------------------------------------------------------------
    def list_models(self) -> list[ModelSummary]:
        """Every registered model, sorted by name (empty list for an empty registry)."""
        models = self._call("listing models", lambda: list(self.client.search_registered_models()))
        return sorted((self._summary(rm) for rm in models), key=lambda s: s.name)

    def get_model(self, name: str) -> ModelSummary:
        """One registered model; :class:`ModelNotFoundError` if there is none by that name."""
        _check_name(name)
        try:
            rm = self.client.get_registered_model(name)
        except Exception as exc:
            if _is_not_found(exc):
                raise ModelNotFoundError(f"no registered model named {name!r}") from None
            raise RegistryUnavailableError(
                f"the MLflow registry at {self.tracking_uri!r} failed while reading {name!r}: {exc}"
            ) from exc
        return self._summary(rm)

    def _summary(self, rm: Any) -> ModelSummary:
        versions = self._call(
            f"listing versions of {rm.name!r}",
            lambda: list(self.client.search_model_versions(f"name='{_quote(rm.name)}'")),
        )
        numbers = [int(v.version) for v in versions]
        return ModelSummary(
            name=rm.name,
            description=rm.description or "",
            latest_version=max(numbers) if numbers else None,
            version_count=len(numbers),
            aliases={a: int(v) for a, v in (rm.aliases or {}).items()},
            updated_at=_ms(rm.last_updated_timestamp),
            tags=dict(rm.tags or {}),
        )

    def list_versions(self, name: str) -> list[VersionInfo]:
        """All versions of ``name``, newest first, with metrics, params, tags and aliases."""
        model = self.get_model(name)
        by_version = {}
        for a, v in model.aliases.items():
            by_version.setdefault(v, []).append(a)
        versions = self._call(
            f"listing versions of {name!r}",
            lambda: list(self.client.search_model_versions(f"name='{_quote(name)}'")),
        )
        infos = [self._version_info(mv, tuple(sorted(by_version.get(int(mv.version), [])))) for mv in versions]
        return sorted(infos, key=lambda v: v.version, reverse=True)

    def get_version(self, name: str, version: int) -> VersionInfo:
        """One version of ``name``; :class:`VersionNotFoundError` if it does not exist."""
        version = _check_version(version)
        for info in self.list_versions(name):
            if info.version == version:
                return info
        raise VersionNotFoundError(f"model {name!r} has no version {version}")

    def resolve_alias(self, name: str, alias: str) -> int:
        """The version number carrying ``alias`` on ``name``."""
        _check_alias(alias)
        model = self.get_model(name)
        if alias not in model.aliases:
            raise AliasNotFoundError(f"model {name!r} has no version with alias {alias!r}")
        return model.aliases[alias]

    def history(self, name: str | None = None, alias: str | None = None, limit: int | None = None) -> list[AliasMove]:
        """Recorded alias moves, newest first."""
        return self.store.alias_moves(model=name, alias=alias, limit=limit)

    def compare(self, name: str, a: int, b: int) -> VersionComparison:
        """Metric deltas (``b - a``) and the parameters that differ between two versions."""
        va, vb = self.get_version(name, a), self.get_version(name, b)
        # Distinct column names even when a version is compared with itself (a table needs them).
        col_a, col_b = (f"v{a}", f"v{b}") if a != b else (f"A: v{a}", f"B: v{b}")
        metric_rows = []
        for key in sorted(set(va.metrics) | set(vb.metrics)):
            ma, mb = va.metrics.get(key), vb.metrics.get(key)
            delta = mb - ma if ma is not None and mb is not None else None
            metric_rows.append({"metric": key, col_a: ma, col_b: mb, "delta": delta})
        param_rows = [
            {"param": key, col_a: va.params.get(key), col_b: vb.params.get(key)}
            for key in sorted(set(va.params) | set(vb.params))
            if va.params.get(key) != vb.params.get(key)
        ]
        return VersionComparison(
            model=name,
            a=va,
            b=vb,
            metrics=pd.DataFrame(metric_rows, columns=["metric", col_a, col_b, "delta"]),
            params=pd.DataFrame(param_rows, columns=["param", col_a, col_b]),
        )

    def _version_info(self, mv: Any, aliases: tuple[str, ...]) -> VersionInfo:
        metrics: dict[str, float] = {}
        params: dict[str, str] = {}
        experiment_id = None
        if mv.run_id:
            try:
                run = self.client.get_run(mv.run_id)
                metrics, params = dict(run.data.metrics), dict(run.data.params)
                experiment_id = run.info.experiment_id
            except Exception as exc:
                if not _is_not_found(exc):
                    raise RegistryUnavailableError(f"cannot read run {mv.run_id}: {exc}") from exc
        return VersionInfo(
            model=mv.name,
            version=int(mv.version),
            run_id=mv.run_id,
            source=mv.source or "",
            status=str(mv.status),
            created_at=_ms(mv.creation_timestamp) or datetime.now(UTC),
            aliases=aliases,
            metrics=metrics,
            params=params,
            tags=dict(mv.tags or {}),
            description=mv.description or "",
            experiment_id=experiment_id,
        )

    # -- moving aliases -----------------------------------------------------------------
    def promote(
        self,
        name: str,
        version: int,
        alias: str = names.CHAMPION,
        *,
        actor: str | None = None,
        reason: str = "",
    ) -> AliasMove:
        """Point ``alias`` at ``version`` and record the move.

        When ``version`` held ``challenger`` and becomes ``champion``, ``challenger`` is left
        where it is: deciding what to challenge next is the user's call.
        """
        _check_alias(alias)
        self.get_version(name, version)  # raises the right not-found error
        with self.store.model_lock(name) as conn:
            current = self._alias_or_none(name, alias)
            self._call(
                f"setting alias {alias!r} of {name!r}",
                lambda: self.client.set_registered_model_alias(name, alias, str(version)),
            )
            return self.store.record_move(
                conn,
                model=name,
                alias=alias,
                from_version=current,
                to_version=int(version),
                action="promote",
                actor=actor or current_actor(),
                reason=reason,
            )

    def observe_aliases(self, summary: ModelSummary) -> list[AliasMove]:
        """Record alias moves made outside ModelOps (MLflow UI or API) as ``observed``; returns them.

        ``summary`` holds the aliases as a recent read of the registry had them. A champion or
        challenger that differs from the last recorded move of its alias gets a move from that
        version, so the history stays complete and a rollback can return to the version it replaced.
        The alias is read again under the model's lock before anything is written: ``summary`` may
        predate a promotion that has been recorded since (which would read as a move back).
        """
        recorded: list[AliasMove] = []
        for alias in names.ALIASES:
            seen = summary.aliases.get(alias)
            last = self.store.alias_moves(summary.name, alias, limit=1)
            if seen is None or (last and last[0].to_version == seen):
                continue
            with self.store.model_lock(summary.name) as conn:
                version = self._alias_or_none(summary.name, alias)  # now, not when summary was read
                last = self.store.alias_moves(summary.name, alias, limit=1, conn=conn)
                if version is None or (last and last[0].to_version == version):
                    continue
                recorded.append(
                    self.store.record_move(
                        conn,
                        model=summary.name,
                        alias=alias,
                        from_version=last[0].to_version if last else None,
                        to_version=version,
                        action="observed",
                        actor="outside ModelOps",
                        reason="the alias was set in the registry directly (MLflow UI or API)",
                    )
                )
        return recorded

    def rollback_target(self, name: str) -> tuple[int, int]:
        """``(current, previous)`` champion versions a rollback would move between."""
        current = self.resolve_alias(name, names.CHAMPION)
        moves = self.store.alias_moves(name, names.CHAMPION)
        return current, self._previous_champion(name, current, moves, self._version_numbers(name))

    def rollback(self, name: str, *, actor: str | None = None, reason: str = "") -> AliasMove:
        """Move ``champion`` back to the version that held it before the current one.

        Promotions push onto the champion's history and rollbacks pop it, so repeated
        rollbacks walk back through earlier champions. Concurrent rollbacks are serialised:
        each sees the other's result, and both are recorded.
        """
        self.get_model(name)
        # The slow registry reads (every version, with its run) happen before the lock: on SQLite the
        # lock is the store's write lock, and the prediction log's commits wait behind it.
        existing = self._version_numbers(name)
        with self.store.model_lock(name) as conn:
            current = self._alias_or_none(name, names.CHAMPION)
            if current is None:
                raise AliasNotFoundError(f"model {name!r} has no champion to roll back")
            moves = self.store.alias_moves(name, names.CHAMPION, conn=conn)
            target = self._previous_champion(name, current, moves, existing)
            self._call(
                f"rolling back {name!r}",
                lambda: self.client.set_registered_model_alias(name, names.CHAMPION, str(target)),
            )
            return self.store.record_move(
                conn,
                model=name,
                alias=names.CHAMPION,
                from_version=current,
                to_version=target,
                action="rollback",
                actor=actor or current_actor(),
                reason=reason,
            )

    def _version_numbers(self, name: str) -> set[int]:
        """The version numbers ``name`` has (one registry search, no run reads)."""
        found = self._call(
            f"listing versions of {name!r}", lambda: self.client.search_model_versions(f"name='{_quote(name)}'")
        )
        return {int(v.version) for v in found}

    def _previous_champion(
        self, name: str, current: int, moves_newest_first: list[AliasMove], existing: set[int]
    ) -> int:
        stack: list[int] = []
        for move in reversed(moves_newest_first):
            if move.action == "rollback":
                if stack:
                    stack.pop()
                continue
            if not stack and move.from_version is not None:
                stack.append(move.from_version)
            if not stack or stack[-1] != move.to_version:
                stack.append(move.to_version)
        # The alias may have been moved outside ModelOps (MLflow UI, API): trust the registry.
        if not stack or stack[-1] != current:
            stack.append(current)
        for candidate in reversed(stack[:-1]):
            if candidate != current and candidate in existing:
                return candidate
        raise NoEarlierChampionError(
            f"model {name!r} has no earlier champion than v{current} in the alias history; promote a version instead"
        )

    def _alias_or_none(self, name: str, alias: str) -> int | None:
        try:
            mv = self.client.get_model_version_by_alias(name, alias)
        except Exception as exc:
            if _is_not_found(exc) or "alias" in str(exc).lower():
                return None
            raise RegistryUnavailableError(f"cannot read alias {alias!r} of {name!r}: {exc}") from exc
        return int(mv.version)


def _ms(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value / 1000, tz=UTC) if value else None


def _quote(name: str) -> str:
    return name.replace("'", "\\'")


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError("a model name must be a non-empty string")


def _check_alias(alias: str) -> None:
    if alias not in names.ALIASES:
        raise InvalidInputError(f"unknown alias {alias!r}; expected one of {', '.join(names.ALIASES)}")


def _check_version(version: object) -> int:
    text = str(version).strip().removeprefix("v")
    if isinstance(version, bool) or not text.isdigit() or int(text) < 1:
        raise InvalidInputError(f"a version must be a positive integer, got {version!r}")
    return int(text)
