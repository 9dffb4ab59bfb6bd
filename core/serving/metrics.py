"""Prometheus metrics of the service (one registry per app, so tests can run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ServiceMetrics:
    """Request, latency, class, load-failure and served-version metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "modelops_requests",
            "Prediction requests by model, version, arm and HTTP status.",
            ["model", "version", "arm", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "modelops_request_latency_seconds",
            "Time from request parsed to prediction logged.",
            ["model", "version", "arm", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.predicted_class = Counter(
            "modelops_predicted_class",
            "Predicted classes by model and version.",
            ["model", "version", "class_label"],
            registry=self.registry,
        )
        self.load_failures = Counter(
            "modelops_model_load_failures",
            "Versions that failed to load and were not swapped in.",
            ["model", "version"],
            registry=self.registry,
        )
        self.served = Gauge(
            "modelops_served_version_info",
            "1 for the version each arm serves, with its runtime.",
            ["model", "arm", "version", "runtime"],
            registry=self.registry,
        )
        self.swaps = Counter(
            "modelops_version_swaps",
            "Completed version swaps by model and arm.",
            ["model", "arm"],
            registry=self.registry,
        )
        self.drift_share = Gauge(
            "modelops_drift_share",
            "Share of features drifted in the last served requests vs the champion's reference.",
            ["model"],
            registry=self.registry,
        )
        self.dataset_drift = Gauge(
            "modelops_dataset_drift",
            "1 when the drift share reaches the dataset-drift threshold.",
            ["model"],
            registry=self.registry,
        )
        self.online_batches = Counter(
            "modelops_online_rows",
            "Labelled rows applied to online-learning candidates.",
            ["model"],
            registry=self.registry,
        )
        self.online_updates = Counter(
            "modelops_online_updates",
            "Online-learning evaluations by outcome (rejected, evaluated, registered, promoted).",
            ["model", "event"],
            registry=self.registry,
        )
        self.auto_rollbacks = Counter(
            "modelops_auto_rollbacks",
            "Champions moved back because their live accuracy fell below their predecessor's.",
            ["model"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "modelops_rejected_requests",
            "Requests refused before reaching a model, by route and HTTP status.",
            ["route", "status"],
            registry=self.registry,
        )
