"""Reference rows from the dashboard: what a version has, and (signed in) attaching a CSV/Parquet file."""

from __future__ import annotations

import streamlit as st

from core.analysis.reference_upload import MAX_REFERENCE_BYTES, attach_reference
from core.errors import ModelOpsError
from dashboard import resources, task
from dashboard.components import leave_message


def forget_reference() -> None:
    """Drop every cached read built on a version's reference rows."""
    for cached in (
        resources.reference_frame,
        resources.drift_detector,
        resources.explainer,
        resources.global_explanation,
        task.reference_predictions,
    ):
        cached.clear()


def reference_source(model: str, version: int) -> str:
    """Where ``model`` v``version``'s reference rows come from, or why it has none."""
    try:
        frame = resources.reference_frame(resources.settings().tracking_uri, model, version)
    except ModelOpsError as exc:
        return f"none ({exc})"
    return f"{len(frame):,} rows from {frame.attrs.get('source', 'the version')}"


def reference_upload(model: str, version: int, user: str | None, *, key: str) -> None:
    """An uploader that checks a file against the version's columns and stores it as its reference rows."""
    st.caption(
        f"A CSV or Parquet file (up to {MAX_REFERENCE_BYTES // 2**20} MB) with v{version}'s columns, and optionally "
        "its labels in a `target` column. It is checked like a prediction request, stored with the version's run "
        "as reference/reference.parquet, and recorded in the edit history."
    )
    upload = st.file_uploader("Reference rows", type=["csv", "parquet"], key=f"{key}-file")
    if user is None:
        st.caption("Sign in (sidebar) to attach reference rows.")
    if st.button("Attach as reference", key=f"{key}-attach", disabled=user is None or upload is None):
        assert upload is not None
        try:
            handle = resources.model_handle(resources.settings().tracking_uri, model, version)
            done = attach_reference(
                resources.registry(),
                model,
                version,
                handle.columns,
                upload.getvalue(),
                upload.name,
                user or "",
                task=handle.task,
                classes=list(handle.classes),
            )
        except ModelOpsError as exc:
            st.error(str(exc))
            return
        forget_reference()
        resources.registry_changed()
        leave_message(done)
        st.rerun()
