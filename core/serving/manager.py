"""Which versions are served, following the registry's aliases with zero-downtime swaps.

A new version is loaded and warmed off the request path, then swapped in with a single
reference assignment; requests already holding the old arm finish on it. A version that
fails to load is never swapped in: the old one keeps serving and the error is reported.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import ClassVar, Generic, TypeVar

from core import names
from core.api.schemas import ArmInfo, InputColumn, ServedModelInfo, ServedModels, TrafficInfo
from core.config import Settings
from core.errors import ModelNotFoundError, ModelOpsError, UntrustedModelError
from core.registry.facade import Registry
from core.registry.types import ModelSummary
from core.runtime.handles import ModelHandle, load_handle
from core.runtime.tflite import TAG_PREFIX as TFLITE_TAG_PREFIX
from core.serving.batching import MicroBatcher
from core.serving.config import ServiceConfig
from core.serving.metrics import ServiceMetrics
from core.store.traffic import TrafficConfig, load_traffic
from core.store.trust import trust_of

ONNX_TAG_PREFIX = "modelops.onnx."

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True)
class Arm:
    """What one alias serves: a loaded handle and its batcher."""

    alias: str
    handle: ModelHandle
    batcher: MicroBatcher

    @property
    def version(self) -> int:
        """The served version number."""
        return self.handle.version


@dataclass
class ServedModel:
    """The serving state of one registered model."""

    name: str
    arms: dict[str, Arm] = field(default_factory=dict)
    traffic: TrafficConfig | None = None
    wanted: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None
    last_error_at: float | None = None
    next_retry_at: float | None = None

    @property
    def kind(self) -> str | None:
        """``tabular`` or ``image``, from the champion (``None`` until one is loaded)."""
        arm = self.arms.get(names.CHAMPION)
        return arm.handle.kind if arm else None

    @property
    def state(self) -> str:
        """``ready`` when every wanted alias serves its version, ``degraded``/``failed`` otherwise."""
        if names.CHAMPION not in self.arms:
            return "failed" if self.last_error else "loading"
        current = {a: arm.version for a, arm in self.arms.items()}
        return "ready" if current == self.wanted else "degraded"

    def describe(self) -> ServedModelInfo:
        """What ``GET /v1/models`` says about this model."""
        traffic = self.traffic or TrafficConfig(self.name)
        champion = self.arms.get(names.CHAMPION)
        handle = champion.handle if champion else None
        return ServedModelInfo(
            name=self.name,
            kind=self.kind,
            state=self.state,
            arms={
                alias: ArmInfo(
                    version=arm.version,
                    runtime=arm.handle.runtime,
                    runtime_reason=arm.handle.runtime_reason,
                    loaded_at=arm.handle.loaded_at,
                )
                for alias, arm in self.arms.items()
            },
            registry_aliases=dict(self.wanted),
            traffic=TrafficInfo(
                champion_share=traffic.champion_share,
                challenger_share=traffic.challenger_share,
                shadow=traffic.shadow,
            ),
            inputs=[InputColumn(name=c.name, type=c.type, required=c.required) for c in handle.columns]
            if handle
            else [],
            task=handle.task if handle else None,
            classes=list(handle.classes) if handle else [],
            class_names=list(handle.class_names) if handle else [],
            last_error=self.last_error,
            last_error_at=self.last_error_at,
            next_retry_at=self.next_retry_at,
        )


@dataclass(frozen=True)
class LoadFailure:
    """A version that failed to load: why, how often, and when it is tried again."""

    message: str
    attempts: int
    retry_at: float
    #: Only an operator can end it (the model is not trusted): it does not hold readiness back.
    needs_operator: bool = False

    #: The longest wait between two attempts, in seconds.
    MAX_BACKOFF_S: ClassVar[float] = 300.0

    @classmethod
    def after(
        cls, previous: LoadFailure | None, message: str, poll_interval_s: float, needs_operator: bool = False
    ) -> LoadFailure:
        """The failure after one more attempt: the wait doubles from one poll interval up to 5 minutes."""
        attempts = 1 if previous is None else previous.attempts + 1
        wait = min(max(poll_interval_s, 1.0) * 2 ** (attempts - 1), cls.MAX_BACKOFF_S)
        return cls(message, attempts, time.time() + wait, needs_operator)


class HandleCache(Generic[K, V]):
    """Loaded versions by key, the least recently used dropped beyond ``size`` — never a pinned one.

    "Used" means served: :meth:`shrink` is given the keys the arms serve right now, marks them
    used, then drops the oldest others until ``size`` remain. So a version that stopped serving
    a minute ago (the one a rollback returns to) outlives one that stopped an hour ago, and
    when more versions are served than ``size`` the cache holds them all rather than drop one.

    >>> cache = HandleCache(size=1)
    >>> cache.put("v1", "handle 1"); cache.put("v2", "handle 2")
    >>> cache.shrink(keep={"v2"})
    ['handle 1']
    >>> cache.shrink(keep={"v2", "v3"}), len(cache)
    ([], 1)
    """

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError(f"a handle cache holds 0 or more entries, not {size}")
        self.size = size
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The entry for ``key`` (now the most recently used), or ``None``."""
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` as the most recently used entry (nothing is dropped until :meth:`shrink`)."""
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)

    def shrink(self, keep: Iterable[K]) -> list[V]:
        """Mark ``keep`` used, then drop the least recently used others beyond ``size``; returns what was dropped."""
        keep = set(keep)
        with self._lock:
            for key in [k for k in self._entries if k in keep]:  # kept in their own order
                self._entries.move_to_end(key)
            dropped = []
            for key in list(self._entries):
                if len(self._entries) <= self.size:
                    break
                if key not in keep:
                    dropped.append(self._entries.pop(key))
            return dropped

    def pop(self, key: K) -> V | None:
        """Forget ``key``; returns its entry (``None`` if it was not cached)."""
        with self._lock:
            return self._entries.pop(key, None)

    def keys(self) -> list[K]:
        """The cached keys, least recently used first."""
        with self._lock:
            return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries


class ModelManager:
    """Keeps every registered model's champion and challenger loaded."""

    def __init__(self, settings: Settings, config: ServiceConfig, metrics: ServiceMetrics) -> None:
        self.settings = settings
        self.config = config
        self.metrics = metrics
        self.registry = Registry.from_settings(settings)
        self.models: dict[str, ServedModel] = {}
        self._handles: HandleCache[tuple[str, int], Arm] = HandleCache(config.max_loaded_versions)
        self._loaded_builds: dict[tuple[str, int], dict[str, str]] = {}
        self._sync_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="predict")
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self.last_sync_at: float | None = None
        self.last_sync_error: str | None = None
        self._failures: dict[tuple[str, int], LoadFailure] = {}

    # -- lookup ---------------------------------------------------------------------------
    def get(self, name: str) -> ServedModel:
        """The served state of ``name``; :class:`ModelNotFoundError` if it is not served."""
        served = self.models.get(name)
        if served is None:
            raise ModelNotFoundError(f"model {name!r} is not served; GET /v1/models lists what is")
        return served

    def loaded(self) -> list[tuple[str, int]]:
        """``(model, version)`` of every loaded version, least recently served first."""
        return self._handles.keys()

    def ready(self) -> bool:
        """True when every model with a champion serves it, or waits for an operator to trust it (its
        ``last_error`` says so; one untrusted model must not keep the whole service out of rotation)."""
        return bool(self.models) and all(
            names.CHAMPION in m.arms or self._waits_for_operator(m) for m in self.models.values() if m.wanted
        )

    def _waits_for_operator(self, served: ServedModel) -> bool:
        version = served.wanted.get(names.CHAMPION)
        failure = self._failures.get((served.name, version)) if version is not None else None
        return failure is not None and failure.needs_operator

    # -- following the registry -----------------------------------------------------------
    def sync(self, rebuild: bool = False) -> ServedModels:
        """Read aliases and traffic now, load what changed, swap it in; returns the state.

        ``rebuild`` (``POST /v1/admin/reload``) also reloads a served version whose compiled builds
        changed since it was loaded (``python -m core compile`` or a TFLite export ran meanwhile),
        so the faster runtime is taken without a restart.
        """
        with self._sync_lock:
            if rebuild:
                # An operator asked: retry failed versions now; the same failure is not logged twice.
                self._failures = {key: replace(f, retry_at=0.0) for key, f in self._failures.items()}
            try:
                summaries = self.registry.list_models()
                self.last_sync_error = None
            except ModelOpsError as exc:
                self.last_sync_error = str(exc)
                log.warning("registry sync failed: %s", exc)
                return self.describe()
            for summary in summaries:
                self._observe(summary)
                served = self.models.get(summary.name) or ServedModel(summary.name)
                served.wanted = {a: v for a, v in summary.aliases.items() if a in names.ALIASES}
                served.traffic = load_traffic(self.registry.store, summary.name)
                for alias, version in served.wanted.items():
                    current = served.arms.get(alias)
                    if current is not None and current.version == version:
                        if not (rebuild and self._builds_changed(summary.name, version)):
                            continue
                        self._handles.pop((summary.name, version))  # reloaded below, with its new build
                    arm = self._arm(summary.name, alias, version, served)
                    if arm is not None:
                        served.arms[alias] = arm  # the swap: one reference assignment
                        self._publish(served)
                        self.metrics.swaps.labels(summary.name, alias).inc()
                        if current is not None and current.version == version and current.handle is not arm.handle:
                            current.batcher.retire()  # rebuilt: the old handle of this version goes
                for alias in list(served.arms):
                    if alias not in served.wanted:
                        del served.arms[alias]
                        self._publish(served)
                self.models[summary.name] = served
            self._drop_unserved()
            self.last_sync_at = time.time()
            return self.describe()

    def _builds_changed(self, model: str, version: int) -> bool:
        """True when the version's build tags (ONNX, TFLite) differ from those it was loaded with."""
        try:
            now = _build_tags(self.registry.get_version(model, version).tags)
        except ModelOpsError:
            return False
        return now != self._loaded_builds.get((model, version), now)

    def _observe(self, summary: ModelSummary) -> None:
        """Record alias moves made outside ModelOps, so history and rollback see them."""
        try:
            for move in self.registry.observe_aliases(summary):
                log.info("%s: %s moved to v%s outside ModelOps; recorded", move.model, move.alias, move.to_version)
        except Exception as exc:  # the history is a record; serving must go on without it
            log.warning("%s: could not record alias moves made outside ModelOps: %s", summary.name, exc)

    def _arm(self, model: str, alias: str, version: int, served: ServedModel) -> Arm | None:
        cached = self._handles.get((model, version))
        if cached is not None:
            return Arm(alias, cached.handle, cached.batcher)
        failed = self._failures.get((model, version))
        if failed is not None and time.time() < failed.retry_at:
            return None  # backing off: the reason is already shown and logged
        trusted = False
        try:
            builds = _build_tags(self.registry.get_version(model, version).tags)
            trusted = trust_of(self.registry.store, model, self.settings.trusted_models).trusted
            handle = load_handle(
                self.settings.tracking_uri, model, version, self.config.tflite_models.get(model), trusted=trusted
            )
            self._loaded_builds[(model, version)] = builds
        except Exception as exc:
            message = f"v{version} ({alias}) failed to load and was not swapped in: {exc}"
            failure = LoadFailure.after(
                failed, message, self.config.poll_interval_s, isinstance(exc, UntrustedModelError) and not trusted
            )
            self._failures[(model, version)] = failure
            if failed is None or failed.message != message:  # logged once per change, not every poll
                log.warning("%s: %s (next try in %.0f s)", model, message, failure.retry_at - time.time())
            served.last_error, served.last_error_at, served.next_retry_at = message, time.time(), failure.retry_at
            self.metrics.load_failures.labels(model, str(version)).inc()
            return None
        if failed is not None:
            log.info("%s: v%s loaded after %d failed attempt(s)", model, version, failed.attempts)
            del self._failures[(model, version)]
        if served.last_error is not None and served.last_error.startswith(f"v{version} ("):
            # This version's own failure is over (after a retry, a reload or a trust decision).
            served.last_error = served.last_error_at = served.next_retry_at = None
        batcher = MicroBatcher(
            handle.score,
            max_rows=self.config.max_batch_rows,
            max_wait_ms=self.config.max_wait_ms,
            executor=self._executor,
        )
        arm = Arm(alias, handle, batcher)
        self._handles.put((model, version), arm)
        return arm

    def _drop_unserved(self) -> None:
        """Unload the least recently served versions beyond ``max_loaded_versions`` (never a served one)."""
        serving = {(m.name, arm.version) for m in self.models.values() for arm in m.arms.values()}
        for arm in self._handles.shrink(keep=serving):
            log.info("%s v%s unloaded (not served, least recently used)", arm.handle.model_name, arm.version)
            arm.batcher.retire()

    def _publish(self, served: ServedModel) -> None:
        gauge = self.metrics.served
        for labels in list(gauge._metrics):  # drop the previous versions of this model
            if labels[0] == served.name:
                gauge.remove(*labels)
        for alias, arm in served.arms.items():
            gauge.labels(served.name, alias, str(arm.version), arm.handle.runtime).set(1)

    def describe(self) -> ServedModels:
        """Everything ``GET /v1/models`` answers."""
        return ServedModels(
            models=[m.describe() for m in sorted(self.models.values(), key=lambda m: m.name)],
            last_sync_at=self.last_sync_at,
            last_sync_error=self.last_sync_error,
        )

    # -- background polling ----------------------------------------------------------------
    def start_polling(self) -> None:
        """Follow the registry every ``poll_interval_s`` in a background thread."""

        def loop() -> None:
            while not self._stop.wait(self.config.poll_interval_s):
                try:
                    self.sync()
                except Exception:  # never let the poller die
                    log.exception("registry poll failed")

        self._poller = threading.Thread(target=loop, name="registry-poll", daemon=True)
        self._poller.start()

    def stop(self) -> None:
        """Stop polling."""
        self._stop.set()
        self._executor.shutdown(wait=False, cancel_futures=True)


def _build_tags(tags: dict[str, str]) -> dict[str, str]:
    """The version tags that describe its builds and input spec (what a reload with ``rebuild`` compares)."""
    return {k: v for k, v in tags.items() if k.startswith((ONNX_TAG_PREFIX, TFLITE_TAG_PREFIX, names.TAG_INPUT_SPEC))}
