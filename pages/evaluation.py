"""Evaluation: a version on its held-out data and on live labelled traffic, side by side."""

import math

import streamlit as st

from core.plots.evaluation import calibration_figure, confusion_figure, curve_figure
from dashboard import components, formats, resources, state

st.title("Evaluation")

with components.errors_as_messages():
    model = components.choose_model(resources.list_models())
    numbers = [v.version for v in resources.list_versions(model.name)]
    if not numbers:
        st.info(f"{model.name} has no versions yet.")
        st.stop()
    version = components.version_picker(model, numbers, "Version", state.scoped(state.EVALUATION_VERSION, model.name))
    s = resources.settings()
    held_out = resources.holdout_evaluation(s.tracking_uri, model.name, version)
    live = resources.live_evaluation(s.tracking_uri, s.db_url, model.name, version)
    shown = [held_out] + ([live] if live is not None else [])

    cols = st.columns(4)
    cols[0].metric("Held-out accuracy", f"{held_out.accuracy:.1%}", f"{held_out.rows:,} rows", delta_color="off")
    if live is None:
        cols[1].metric("Live accuracy", "—", "no labelled requests yet", delta_color="off")
    else:
        cols[1].metric(
            "Live accuracy",
            f"{live.accuracy:.1%}",
            f"{100 * (live.accuracy - held_out.accuracy):+.1f} points vs held-out · {live.rows:,} labels",
            delta_color="off",
            delta_arrow="off",
        )
    auc = held_out.areas["roc_auc"].mean()
    cols[2].metric(
        "Held-out ROC AUC" + (" (mean over classes)" if len(held_out.areas) > 1 else ""),
        "—" if math.isnan(auc) else f"{auc:.3f}",
    )
    live_auc = live.areas["roc_auc"].mean() if live is not None and len(live.areas) else math.nan
    cols[3].metric("Live ROC AUC", "—" if math.isnan(live_auc) else f"{live_auc:.3f}")
    if live is None:
        st.caption(
            f"Live figures appear once requests served by v{version} get labels: POST /v1/feedback with the "
            "request_id of a predict answer."
        )

    st.subheader("Confusion matrix")
    left, right = st.columns(2)
    left.plotly_chart(confusion_figure(held_out), width="stretch", key="confusion-held-out")
    if live is not None:
        right.plotly_chart(confusion_figure(live), width="stretch", key="confusion-live")

    st.subheader("Curves")
    many = len(held_out.areas) > 3
    if many:
        st.caption(f"One curve per class ({len(held_out.areas)} classes), each class against the rest.")
    a, b, c = st.columns(3)
    a.plotly_chart(curve_figure(shown, "roc"), width="stretch", key="roc")
    b.plotly_chart(curve_figure(shown, "pr"), width="stretch", key="pr")
    c.plotly_chart(calibration_figure(shown), width="stretch", key="calibration")

    st.subheader("Per class")
    table = held_out.per_class.rename(columns={k: f"{k} (held-out)" for k in ("precision", "recall", "f1", "support")})
    if live is not None:
        live_table = live.per_class.rename(columns={k: f"{k} (live)" for k in ("precision", "recall", "f1", "support")})
        table = table.merge(live_table, on="class")
    formats.table(
        table,
        key="per-class",
        columns=formats.metric_columns(
            [col for col in table.columns if col.split(" ")[0] in ("precision", "recall", "f1")]
        ),
    )
