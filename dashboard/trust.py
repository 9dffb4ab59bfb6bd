"""Cached reads about trust: whether a model's pickled versions may load, the decisions, how versions are stored."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import names
from core.registry.reference import version_storage
from core.registry.types import VersionInfo
from core.store.trust import trust_history
from dashboard.resources import registry, settings


@st.cache_data(ttl=3, show_spinner=False)
def _trust_history(db_url: str, model: str) -> pd.DataFrame:
    return trust_history(registry().store, model)


def trust_decisions(model: str) -> pd.DataFrame:
    """Every recorded trust decision on ``model``, newest first."""
    return _trust_history(settings().db_url, model)


def decisions_changed() -> None:
    """Forget the cached decisions after one is recorded."""
    _trust_history.clear()


def storage_formats(model: str, versions: list[VersionInfo]) -> dict[int, str]:
    """How each version is stored (``skops``, ``cloudpickle``, ``keras``...): tagged ones without a download."""
    formats = {}
    for v in versions:
        tagged = v.tags.get(names.TAG_FLAVOR)
        formats[v.version] = ("skops" if tagged == "sklearn" else tagged) if tagged else None
        formats[v.version] = formats[v.version] or _storage(settings().tracking_uri, model, v.version) or "unknown"
    return formats


@st.cache_data(show_spinner=False, max_entries=256)
def _storage(tracking_uri: str, model: str, version: int) -> str | None:
    return version_storage(tracking_uri, model, version)
