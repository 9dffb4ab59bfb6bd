"""Evaluation: a version on its held-out data and on live labelled traffic, side by side."""

import math

import streamlit as st

from core.analysis.evaluation import headline_auc, per_class_table
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
    cols[0].metric(
        "Held-out accuracy", f"{held_out.accuracy:.1%}", f"{held_out.rows:,} rows", delta_color="off", delta_arrow="off"
    )
    if live is None:
        cols[1].metric("Live accuracy", "—", "no labelled requests yet", delta_color="off", delta_arrow="off")
    else:
        cols[1].metric(
            "Live accuracy",
            f"{live.accuracy:.1%}",
            f"{100 * (live.accuracy - held_out.accuracy):+.1f} points vs held-out · {live.rows:,} labels",
            delta_color="off",
            delta_arrow="off",
        )
    multiclass = len(held_out.per_class) > 2
    suffix = " (micro-average)" if multiclass else ""
    auc, live_auc = headline_auc(held_out), headline_auc(live) if live is not None else math.nan
    cols[2].metric("Held-out ROC AUC" + suffix, "—" if math.isnan(auc) else f"{auc:.3f}")
    cols[3].metric("Live ROC AUC" + suffix, "—" if math.isnan(live_auc) else f"{live_auc:.3f}")
    handle = resources.model_handle(s.tracking_uri, model.name, version)
    st.caption(
        f"Scored by the runtime the service uses for v{version} ({handle.runtime}); the held-out metrics on the "
        "Registry page were computed at training time and can differ slightly (a float32 runtime can tie "
        "probabilities, which lowers ROC AUC)."
    )
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
    if multiclass:
        st.caption(
            f"{len(held_out.per_class)} classes: the curves pool every class against the rest (micro-average); "
            "each class's own ROC AUC is in the table below."
        )
    a, b, c = st.columns(3)
    a.plotly_chart(curve_figure(shown, "roc"), width="stretch", key="roc")
    b.plotly_chart(curve_figure(shown, "pr"), width="stretch", key="pr")
    c.plotly_chart(calibration_figure(shown), width="stretch", key="calibration")

    st.subheader("Per class")
    table = per_class_table(held_out)
    if live is not None:
        table = table.merge(per_class_table(live), on="class", how="left")
    scores = [col for col in table.columns if col.split(" ")[0] in ("precision", "recall", "f1", "roc_auc")]
    formats.table(table, key="per-class", columns=formats.metric_columns(scores))
