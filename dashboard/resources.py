"""All Streamlit caching lives here: shared clients (cache_resource) and tables (cache_data).

Cached functions take plain strings (the URIs) so that two dashboards with different
settings in one process never share entries.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
import sqlalchemy.exc as sa_exc
import streamlit as st

from core import names
from core.analysis import evaluation
from core.analysis.ab import load_outcomes
from core.analysis.drift import DriftDetector, fit_for_version
from core.analysis.evaluation import Evaluation
from core.analysis.explain import TabularExplainer, TabularExplanation, explainer_for
from core.analysis.explain_images import ImageExplainer
from core.analysis.image_drift import ImageDriftDetector, reference_images
from core.api.client import ServiceClient, ServiceStatus
from core.config import Settings
from core.errors import ModelOpsError, NoEarlierChampionError
from core.registry.facade import Registry
from core.registry.reference import class_name_map, version_flavor
from core.registry.types import ModelSummary, VersionComparison, VersionInfo
from core.runtime.handles import ModelHandle, load_handle
from core.runtime.tflite import BuildReport, stored_build
from core.store.db import AliasMove
from core.store.edits import edits_frame
from core.store.log_reads import logged_inputs, recent_answered
from core.store.traffic import load_traffic
from core.store.trust import Trust, trust_of

REGISTRY_TTL_S = 15
SERVICE_TTL_S = 3


def settings() -> Settings:
    """The settings of this process (read from the environment on every rerun; cheap)."""
    return Settings.from_env()


@st.cache_resource(show_spinner=False)
def _registry(tracking_uri: str, db_url: str) -> Registry:
    return Registry.from_settings(settings())


def registry() -> Registry:
    """The shared registry facade for the configured tracking URI and store."""
    s = settings()
    return _registry(s.tracking_uri, s.db_url)


@st.cache_data(ttl=REGISTRY_TTL_S, show_spinner=False)
def models(tracking_uri: str, db_url: str) -> list[ModelSummary]:
    """Registered models (cached briefly; cleared after every alias move).

    Alias moves made outside ModelOps since the last look are recorded here too (as the service
    does on every poll), so the history and Roll back see them even without a running service.
    """
    summaries = registry().list_models()
    for summary in summaries:
        with contextlib.suppress(ModelOpsError, sa_exc.SQLAlchemyError):
            registry().observe_aliases(summary)
    return summaries


@st.cache_data(ttl=REGISTRY_TTL_S, show_spinner=False)
def versions(tracking_uri: str, db_url: str, model: str) -> list[VersionInfo]:
    """Versions of one model, newest first."""
    return registry().list_versions(model)


@st.cache_data(ttl=REGISTRY_TTL_S, show_spinner=False)
def history(tracking_uri: str, db_url: str, model: str | None, limit: int | None) -> list[AliasMove]:
    """Alias moves, newest first."""
    return registry().history(model, limit=limit)


@st.cache_data(ttl=REGISTRY_TTL_S, show_spinner=False)
def _rollback_target(tracking_uri: str, db_url: str, model: str) -> tuple[int | None, int | None, str]:
    try:
        current, previous = registry().rollback_target(model)
    except NoEarlierChampionError as exc:
        return None, None, str(exc)
    return current, previous, ""


def rollback_target(model: str) -> tuple[int | None, int | None, str]:
    """``(champion, version a rollback returns to, why there is none)``; cached like the other registry reads."""
    s = settings()
    return _rollback_target(s.tracking_uri, s.db_url, model)


@st.cache_data(ttl=REGISTRY_TTL_S, show_spinner=False)
def _comparison(tracking_uri: str, db_url: str, model: str, a: int, b: int) -> VersionComparison:
    return registry().compare(model, a, b)


def compare_versions(model: str, a: int, b: int) -> VersionComparison:
    """Two versions side by side (cached like the other registry reads)."""
    s = settings()
    return _comparison(s.tracking_uri, s.db_url, model, a, b)


def list_models() -> list[ModelSummary]:
    """Registered models for the current settings."""
    s = settings()
    return models(s.tracking_uri, s.db_url)


def list_versions(model: str) -> list[VersionInfo]:
    """Versions of ``model`` for the current settings."""
    s = settings()
    return versions(s.tracking_uri, s.db_url, model)


def list_history(model: str | None = None, limit: int | None = None) -> list[AliasMove]:
    """Alias moves for the current settings."""
    s = settings()
    return history(s.tracking_uri, s.db_url, model, limit)


def list_image_models() -> list[ModelSummary]:
    """Registered models whose champion is a Keras image classifier."""
    return [m for m in list_models() if champion_flavor(m) == "keras"]


def registry_changed() -> None:
    """Forget cached registry reads after an alias move."""
    models.clear()
    versions.clear()
    _version_edits.clear()
    history.clear()
    _rollback_target.clear()


def service_client() -> ServiceClient:
    """A client of the prediction service at ``MODELOPS_API_URL``."""
    return ServiceClient(settings())


@st.cache_data(ttl=SERVICE_TTL_S, show_spinner=False)
def _service_status(api_url: str) -> ServiceStatus:
    return service_client().status()


def service_status() -> ServiceStatus:
    """The service's health and what it serves (cached for a few seconds)."""
    return _service_status(settings().api_url)


@dataclass(frozen=True)
class RecentRequest:
    """A served request to pick on the Explain page."""

    request_id: str
    label: str


@st.cache_data(ttl=3, show_spinner=False)
def _recent_answered(db_url: str, model: str, limit: int) -> pd.DataFrame:
    return recent_answered(registry().store, model, limit)


def recent_requests(model: str, limit: int = 20) -> list[RecentRequest]:
    """The newest ``limit`` answered requests of ``model``, labelled for a picker (time, arm, answer)."""
    names_ = class_names(model)
    return [
        RecentRequest(
            r.request_id,
            f"{r.at:%H:%M:%S} · {r.arm} v{r.version} · {names_.get(str(r.predicted), r.predicted)} · "
            f"{r.request_id[:8]}…",
        )
        for r in _recent_answered(settings().db_url, model, limit).itertuples()
    ]


def class_names(model: str) -> dict[str, str]:
    """Class (as text) -> display name, from the champion's ``modelops.class_names`` tag (``{}`` when none)."""
    summary = next((m for m in list_models() if m.name == model), None)
    if summary is None or summary.champion is None:
        return {}
    champion = next((v for v in list_versions(model) if v.version == summary.champion), None)
    return class_name_map(champion.tags) if champion else {}


def service_changed() -> None:
    """Forget the cached service status after a reload."""
    _service_status.clear()


@st.cache_resource(show_spinner="Loading the model version…", max_entries=8)
def _model_handle(tracking_uri: str, model: str, version: int, trusted: bool) -> ModelHandle:
    return load_handle(tracking_uri, model, version, trusted=trusted)


def model_handle(tracking_uri: str, model: str, version: int) -> ModelHandle:
    """A model version loaded once and shared by every session (never mutated).

    Pickled versions load only when the model is trusted (:func:`model_trust`); a new decision
    is a new cache entry, so it takes effect on the next render.
    """
    return _model_handle(tracking_uri, model, version, model_trust(model).trusted)


@st.cache_data(ttl=3, show_spinner=False)
def _trust(db_url: str, model: str) -> Trust:
    return trust_of(registry().store, model, settings().trusted_models)


def model_trust(model: str) -> Trust:
    """Whether ``model``'s pickled versions may load, and on whose word."""
    return _trust(settings().db_url, model)


def trust_changed() -> None:
    """Forget cached trust decisions after one is recorded."""
    _trust.clear()


def handles_changed() -> None:
    """Forget loaded model versions (after a version's input spec changed)."""
    _model_handle.clear()


@st.cache_data(ttl=3, show_spinner=False)
def _outcomes(db_url: str, model: str, since: datetime | None) -> pd.DataFrame:
    return load_outcomes(registry().store, model, since)


@st.cache_data(ttl=3, show_spinner=False)
def _split_since(db_url: str, model: str) -> datetime | None:
    return load_traffic(registry().store, model).updated_at


def split_since(model: str) -> datetime | None:
    """When ``model``'s traffic split was last changed (``None``: never set)."""
    return _split_since(settings().db_url, model)


def outcomes(model: str, since: datetime | None = None) -> pd.DataFrame:
    """Served requests of ``model`` joined with their feedback (cached for a few seconds)."""
    return _outcomes(settings().db_url, model, _cache_step(since))


def _cache_step(since: datetime | None, step_s: int = 10) -> datetime | None:
    """``since`` floored to ``step_s`` seconds: a window "the last hour" computed from ``now()`` on
    every rerun was a new cache key each time, so nothing was ever read from the cache."""
    if since is None:
        return None
    return datetime.fromtimestamp(since.timestamp() // step_s * step_s, tz=since.tzinfo)


@st.cache_data(show_spinner=False, max_entries=16)
def reference_frame(tracking_uri: str, model: str, version: int) -> pd.DataFrame:
    """The reference data stored with a version, downloaded once per version."""
    from core.registry.reference import load_version_frame

    return load_version_frame(registry(), model, version, "reference")


@st.cache_resource(show_spinner="Fitting the drift detector on the reference data…", max_entries=16)
def drift_detector(
    tracking_uri: str, model: str, version: int, numeric_test: str, categorical_test: str
) -> DriftDetector:
    """A detector fitted once per version and test choice (shared, never mutated)."""
    return fit_for_version(registry(), model, version, numeric_test=numeric_test, categorical_test=categorical_test)


@st.cache_data(ttl=5, show_spinner=False)
def _served_inputs(db_url: str, model: str, since: datetime | None) -> pd.DataFrame:
    return logged_inputs(registry().store, model, since)


def served_inputs(model: str, since: datetime | None = None) -> pd.DataFrame:
    """Tabular inputs served for ``model`` (cached for a few seconds)."""
    return _served_inputs(settings().db_url, model, _cache_step(since))


def list_tabular_models() -> list[ModelSummary]:
    """Registered models whose champion is tabular: scikit-learn, or any other flavor served through pyfunc."""
    return [m for m in list_models() if champion_flavor(m) not in (None, "keras")]


def champion_flavor(model: ModelSummary) -> str | None:
    """The champion's flavor: the ModelOps tag, else read from its MLmodel (a model registered elsewhere)."""
    tagged = _champion_tag(model, names.TAG_FLAVOR)
    if tagged is not None or model.champion is None:
        return tagged
    return _mlmodel_flavor(settings().tracking_uri, model.name, model.champion)


@st.cache_data(show_spinner=False, max_entries=64)
def _mlmodel_flavor(tracking_uri: str, model: str, version: int) -> str | None:
    return version_flavor(tracking_uri, model, version)


@st.cache_resource(show_spinner="Fitting the image drift detector on the reference images…", max_entries=4)
def image_drift_detector(tracking_uri: str, model: str, version: int) -> ImageDriftDetector:
    """Statistics and embeddings of a version's reference images, computed once."""
    from core.registry.reference import load_version_frame

    handle = model_handle(tracking_uri, model, version)
    frame = load_version_frame(registry(), model, version, "reference")
    images = reference_images(frame, invert=bool(handle.input_spec and handle.input_spec.invert))
    return ImageDriftDetector().fit(images, handle)


@st.cache_resource(show_spinner="Building the explainer for this version…", max_entries=8)
def explainer(tracking_uri: str, model: str, version: int) -> TabularExplainer | ImageExplainer:
    """The SHAP explainer of a version, built once from its reference data (shared, never mutated)."""
    handle = model_handle(tracking_uri, model, version)
    return explainer_for(handle, lambda m, v: reference_frame(tracking_uri, m, v))


@st.cache_data(show_spinner=False, max_entries=16)
def global_explanation(tracking_uri: str, model: str, version: int, rows: int) -> TabularExplanation:
    """SHAP values of the first ``rows`` rows of the version's reference data (a fixed sample)."""
    explainer_ = explainer(tracking_uri, model, version)
    assert isinstance(explainer_, TabularExplainer)
    frame = reference_frame(tracking_uri, model, version)
    sample = frame.sample(n=min(rows, len(frame)), random_state=0) if len(frame) > rows else frame
    return explainer_.explain(sample[explainer_.feature_names].to_numpy(dtype=explainer_.dtype))


@st.cache_data(show_spinner=False, max_entries=32)
def stored_report(tracking_uri: str, model: str, version: int, key: str, tag: str) -> tuple[BuildReport, bytes] | None:
    """A stored TFLite build's report and file (``tag`` is the version tag's value: a new export invalidates)."""
    build = stored_build(registry().tracking_uri, model, version, key)
    return None if build is None else (build.report, build.read_bytes())


def list_online_models() -> list[ModelSummary]:
    """Registered models whose champion accepts ``partial_fit`` updates (tagged ``modelops.online``)."""
    return [m for m in list_models() if _champion_tag(m, names.TAG_ONLINE) == "true"]


def _champion_tag(model: ModelSummary, tag: str) -> str | None:
    champion = next((v for v in list_versions(model.name) if v.version == model.champion), None)
    return champion.tags.get(tag) if champion else None


@st.cache_data(ttl=3, show_spinner=False)
def _online_updates(db_url: str, model: str) -> pd.DataFrame:
    from core.store.events import updates_frame

    return updates_frame(registry().store, model)


def online_updates(model: str) -> pd.DataFrame:
    """Online-learning events of ``model`` (cached for a few seconds; see :func:`online_changed`)."""
    return _online_updates(settings().db_url, model)


def online_changed() -> None:
    """Forget cached online-learning events after the page evaluated, registered or reset."""
    _online_updates.clear()


@st.cache_data(show_spinner="Scoring the held-out data…", max_entries=16)
def holdout_evaluation(tracking_uri: str, model: str, version: int) -> Evaluation:
    """A version on its held-out data (computed once per version)."""
    return evaluation.holdout_evaluation(registry(), model_handle(tracking_uri, model, version))


@st.cache_data(ttl=10, show_spinner=False, max_entries=16)
def live_evaluation(tracking_uri: str, db_url: str, model: str, version: int) -> Evaluation | None:
    """A version on the labelled requests it served (refreshed every few seconds)."""
    return evaluation.live_evaluation(registry().store, model_handle(tracking_uri, model, version))


@st.cache_data(ttl=REGISTRY_TTL_S, show_spinner=False)
def _version_edits(db_url: str, model: str) -> pd.DataFrame:
    return edits_frame(registry().store, model)


def version_edits(model: str) -> pd.DataFrame:
    """The recorded edits of ``model``'s versions, newest first (cleared after every edit)."""
    return _version_edits(settings().db_url, model)
