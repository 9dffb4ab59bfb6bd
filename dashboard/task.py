"""What kind of model a version is, as the pages need to know it (cheaply: the service first)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import ModelOpsError
from core.runtime.handles import CLASSIFICATION
from dashboard import resources


def model_task(model: str, version: int | None) -> str:
    """``classification`` or ``regression``: as the service reports it, else from the version itself.

    Only a scikit-learn version can be a regressor, so a Keras one is never loaded for this; a
    scikit-learn one is loaded (cached) when the service cannot say. Classification if it cannot load.
    """
    if version is None:
        return CLASSIFICATION
    status = resources.service_status()
    served = status.models.get(model) if status.alive else None
    if served is not None and served.task and any(a.version == version for a in served.arms.values()):
        return served.task
    summary = next((m for m in resources.list_models() if m.name == model), None)
    flavor = resources.champion_flavor(summary) if summary is not None and summary.champion == version else None
    if flavor == "keras":  # image models classify; never load TensorFlow to learn that
        return CLASSIFICATION
    try:
        return resources.model_handle(resources.settings().tracking_uri, model, version).task
    except ModelOpsError:
        return CLASSIFICATION


@st.cache_data(show_spinner="Scoring the reference rows…", max_entries=16)
def reference_predictions(tracking_uri: str, model: str, version: int, trusted: bool) -> pd.Series:
    """What ``model`` v``version`` predicts on its reference rows (labels as text, or numbers), once per version.

    ``trusted`` is part of the key: a new trust decision scores again.
    """
    from core.analysis.output_drift import reference_predictions as score

    handle = resources.model_handle(tracking_uri, model, version)
    return score(handle, resources.reference_frame(tracking_uri, model, version))
