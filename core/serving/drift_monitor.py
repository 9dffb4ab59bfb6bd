"""Periodic drift of served inputs against each champion's reference, published as gauges."""

from __future__ import annotations

import logging
import threading

from core import names
from core.analysis.drift import LOG_COLUMNS, DriftDetector, fit_for_version
from core.serving.manager import ModelManager
from core.serving.metrics import ServiceMetrics
from core.store.log_reads import logged_inputs

log = logging.getLogger(__name__)
MIN_ROWS = 30


class DriftMonitor:
    """Every ``interval_s``: drift share of the last ``window`` requests per tabular model."""

    def __init__(self, manager: ModelManager, metrics: ServiceMetrics, interval_s: float, window: int = 1000) -> None:
        self.manager = manager
        self.metrics = metrics
        self.interval_s = interval_s
        self.window = window
        self._detectors: dict[tuple[str, int], DriftDetector | None] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="drift-monitor", daemon=True)

    def start(self) -> None:
        """Start the background refresh."""
        self._thread.start()

    def stop(self) -> None:
        """Stop refreshing."""
        self._stop.set()

    def refresh(self) -> dict[str, float]:
        """Compute and publish the drift share of every tabular model now; returns them."""
        shares = {}
        for name, served in list(self.manager.models.items()):
            arm = served.arms.get(names.CHAMPION)
            if arm is None or arm.handle.kind != "tabular":
                continue
            detector = self._detector(name, arm.version)
            if detector is None:
                continue
            frame = logged_inputs(self.manager.registry.store, name, limit=self.window)
            if len(frame) < MIN_ROWS:
                continue
            report = detector.compare(frame.drop(columns=list(LOG_COLUMNS)))
            self.metrics.drift_share.labels(name).set(report.share)
            self.metrics.dataset_drift.labels(name).set(1.0 if report.dataset_drift else 0.0)
            shares[name] = report.share
        return shares

    def _detector(self, name: str, version: int) -> DriftDetector | None:
        key = (name, version)
        if key not in self._detectors:
            try:
                self._detectors[key] = fit_for_version(self.manager.registry, name, version)
            except Exception as exc:  # no reference data: nothing to compare against
                log.info("no drift detector for %s v%s: %s", name, version, exc)
                self._detectors[key] = None
        return self._detectors[key]

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.refresh()
            except Exception:
                log.exception("drift refresh failed")
