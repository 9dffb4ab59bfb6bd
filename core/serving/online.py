"""Online learning inside the service: one candidate per model, and the automatic-rollback watch."""

from __future__ import annotations

import logging
import threading

from core import names
from core.api.schemas import OnlineState
from core.errors import NotServedError
from core.online.learner import OnlineConfig, OnlineLearner
from core.online.rollback import check_auto_rollback
from core.runtime.handles import ModelHandle
from core.serving.config import ServiceConfig
from core.serving.manager import ModelManager
from core.serving.metrics import ServiceMetrics

log = logging.getLogger(__name__)
ACTOR = "online-learning"


class OnlineService:
    """Candidates built lazily on the first train request; the rollback watch in a thread."""

    def __init__(self, manager: ModelManager, config: ServiceConfig, metrics: ServiceMetrics) -> None:
        self.manager = manager
        self.config = config
        self.metrics = metrics
        self.online = OnlineConfig(
            eval_every=config.online_eval_every,
            margin_points=config.online_margin_points,
            auto_register=config.online_register,
            auto_promote=config.online_promote,
        )
        self._learners: dict[str, OnlineLearner] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="auto-rollback", daemon=True)

    def learner(self, name: str) -> OnlineLearner:
        """The candidate of ``name`` (created from the served champion on first use)."""
        with self._lock:
            if name not in self._learners:
                self._learners[name] = OnlineLearner(
                    self.manager.registry,
                    self.manager.settings,
                    self._champion(name),
                    self.online,
                    champion=lambda: self._champion(name),
                    promote=lambda version, reason: self._promote(name, version, reason),
                    actor=ACTOR,
                )
            return self._learners[name]

    def describe(self, name: str) -> OnlineState:
        """The candidate's state, or that there is none yet."""
        with self._lock:
            learner = self._learners.get(name)
        if learner is not None:
            return OnlineState.model_validate(learner.describe())
        return OnlineState(
            model=name,
            parent_version=self._champion(name).version,
            rows_since_parent=0,
            batches=0,
            eval_every=self.online.eval_every,
            margin_points=self.online.margin_points,
            auto_register=self.online.auto_register,
            auto_promote=self.online.auto_promote,
            last_update=None,
        )

    def _champion(self, name: str) -> ModelHandle:
        arm = self.manager.get(name).arms.get(names.CHAMPION)
        if arm is None:
            raise NotServedError(f"model {name!r} has no loaded champion to learn from yet")
        return arm.handle

    def _promote(self, name: str, version: int, reason: str) -> None:
        self.manager.registry.promote(name, version, names.CHAMPION, actor=ACTOR, reason=reason)
        self.manager.sync()  # serve it now rather than at the next poll

    # -- automatic rollback -----------------------------------------------------------------
    def start(self) -> None:
        """Start the rollback watch."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the watch and finish queued training work."""
        self._stop.set()
        with self._lock:
            learners = list(self._learners.values())
        for learner in learners:
            learner.close()

    def check_rollbacks(self) -> list[str]:
        """Run the rollback check for every watched model now; returns the models moved back."""
        moved = []
        for name in list(self.manager.models):
            if not self.config.watches(name):
                continue
            move = check_auto_rollback(
                self.manager.registry, name, self.config.rollback_min_labels, self.config.rollback_threshold_points
            )
            if move is not None:
                log.warning("%s: %s", name, move.reason)
                self.metrics.auto_rollbacks.labels(name).inc()
                moved.append(name)
        if moved:
            self.manager.sync()
        return moved

    def _watch(self) -> None:
        while not self._stop.wait(self.config.rollback_interval_s):
            try:
                self.check_rollbacks()
            except Exception:
                log.exception("automatic rollback check failed")
