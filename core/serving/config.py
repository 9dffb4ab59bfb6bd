"""Service tuning knobs, from the environment with defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from core import names
from core.runtime.tflite import build_key, normalise_mode


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if value.strip().lower() in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{name}: expected 1/0 (true/false), got {value!r}")


def parse_tflite_models(text: str) -> dict[str, str]:
    """``"digits=int8, other=float16"`` → ``{"digits": "int8", "other": "float16"}``.

    Raises:
        ValueError: an entry is not ``model=mode``.
        InvalidInputError: an unknown mode.
    """

    chosen = {}
    for entry in filter(None, (e.strip() for e in text.split(","))):
        model, sep, mode = entry.partition("=")
        if not sep or not model.strip() or not mode.strip():
            raise ValueError(f"{names.ENV_TFLITE_MODELS}: expected model=mode, got {entry!r}")
        key = mode.strip().lower()
        int8_io = key == "int8-int8io"
        chosen[model.strip()] = build_key(normalise_mode("int8" if int8_io else key), int8_io)
    return chosen


@dataclass(frozen=True)
class ServiceConfig:
    """Limits and timings of the prediction service.

    Each attribute is read from ``MODELOPS_`` + its name in capitals (``max_rows`` from
    ``MODELOPS_MAX_ROWS``; the names are constants in :mod:`core.names`).

    Attributes:
        poll_interval_s: How often the registry aliases are checked for moves.
        max_batch_rows: Largest micro-batch handed to one predict call.
        max_wait_ms: How long the first request of a batch waits for company. 0 (the default)
            batches only what queued while the previous batch ran: no added latency when idle.
        max_rows: Most rows one predict request may carry.
        max_body_bytes: Largest JSON body accepted.
        max_image_bytes: Largest uploaded image accepted by ``classify``.
        max_image_pixels: Decompression-bomb guard: images with more pixels are refused.
        log_batch_max: Most prediction-log records written in one commit.
        drift_interval_s: How often the drift gauges are refreshed.
        drift_window: How many of the latest requests the drift gauges look at.
        max_explain_rows: Most rows one explain request may carry (SHAP costs more than a prediction).
        max_loaded_versions: Most model versions kept loaded (least recently served dropped first).
            Versions an arm serves are never dropped: with more of them than this, all stay loaded.
            0 keeps only what is served.
        tflite_models: Per model, the TFLite build key that serves ``classify`` when its build was
            accepted (``MODELOPS_TFLITE_MODELS="digits=int8,other=float16"``).
        online_eval_every: Evaluate an online candidate after this many labelled rows (0: on demand only).
        online_margin_points: How many accuracy points below the champion a candidate may be and pass.
        online_register: Register a candidate that passes the gate.
        online_promote: Promote a registered candidate to champion.
        auto_rollback: Models watched for automatic rollback (``*`` for every model).
        rollback_min_labels: Labelled requests each side needs before a rollback is considered.
        rollback_threshold_points: Live accuracy gap (points) below the predecessor that triggers it.
        rollback_interval_s: How often the watch runs.
    """

    poll_interval_s: float = 5.0
    max_batch_rows: int = 256
    max_wait_ms: float = 0.0
    max_rows: int = 1000
    max_body_bytes: int = 2 * 1024 * 1024
    max_image_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    log_batch_max: int = 512
    drift_interval_s: float = 60.0
    drift_window: int = 1000
    max_explain_rows: int = 100
    max_loaded_versions: int = 8
    tflite_models: dict[str, str] = field(default_factory=dict)
    online_eval_every: int = 200
    online_margin_points: float = 1.0
    online_register: bool = True
    online_promote: bool = False
    auto_rollback: frozenset[str] = frozenset({"breast-cancer-online"})
    rollback_min_labels: int = 100
    rollback_threshold_points: float = 5.0
    rollback_interval_s: float = 10.0

    def watches(self, model: str) -> bool:
        """True when ``model`` is watched for automatic rollback."""
        return "*" in self.auto_rollback or model in self.auto_rollback

    @classmethod
    def from_env(cls) -> ServiceConfig:
        """Read ``MODELOPS_*`` overrides from the environment."""
        config = cls(
            poll_interval_s=_env_float(names.ENV_POLL_INTERVAL_S, cls.poll_interval_s),
            max_batch_rows=_env_int(names.ENV_MAX_BATCH_ROWS, cls.max_batch_rows),
            max_wait_ms=_env_float(names.ENV_MAX_WAIT_MS, cls.max_wait_ms),
            max_rows=_env_int(names.ENV_MAX_ROWS, cls.max_rows),
            max_body_bytes=_env_int(names.ENV_MAX_BODY_BYTES, cls.max_body_bytes),
            max_image_bytes=_env_int(names.ENV_MAX_IMAGE_BYTES, cls.max_image_bytes),
            max_image_pixels=_env_int(names.ENV_MAX_IMAGE_PIXELS, cls.max_image_pixels),
            log_batch_max=_env_int(names.ENV_LOG_BATCH_MAX, cls.log_batch_max),
            drift_interval_s=_env_float(names.ENV_DRIFT_INTERVAL_S, cls.drift_interval_s),
            drift_window=_env_int(names.ENV_DRIFT_WINDOW, cls.drift_window),
            max_explain_rows=_env_int(names.ENV_MAX_EXPLAIN_ROWS, cls.max_explain_rows),
            max_loaded_versions=_env_int(names.ENV_MAX_LOADED_VERSIONS, cls.max_loaded_versions),
            tflite_models=parse_tflite_models(os.environ.get(names.ENV_TFLITE_MODELS, "")),
            online_eval_every=_env_int(names.ENV_ONLINE_EVAL_EVERY, cls.online_eval_every),
            online_margin_points=_env_float(names.ENV_ONLINE_MARGIN_POINTS, cls.online_margin_points),
            online_register=_env_bool(names.ENV_ONLINE_REGISTER, cls.online_register),
            online_promote=_env_bool(names.ENV_ONLINE_PROMOTE, cls.online_promote),
            auto_rollback=frozenset(
                m.strip()
                for m in os.environ.get(names.ENV_AUTO_ROLLBACK, ",".join(sorted(cls.auto_rollback))).split(",")
                if m.strip()
            ),
            rollback_min_labels=_env_int(names.ENV_ROLLBACK_MIN_LABELS, cls.rollback_min_labels),
            rollback_threshold_points=_env_float(names.ENV_ROLLBACK_THRESHOLD_POINTS, cls.rollback_threshold_points),
            rollback_interval_s=_env_float(names.ENV_ROLLBACK_INTERVAL_S, cls.rollback_interval_s),
        )
        if config.max_loaded_versions < 0:
            raise ValueError(f"{names.ENV_MAX_LOADED_VERSIONS}: expected 0 or more, got {config.max_loaded_versions}")
        return config
