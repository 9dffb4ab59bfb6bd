"""Evaluation: a version on its held-out data and on live labelled traffic, side by side."""

import math

import pandas as pd
import streamlit as st

from core.analysis.evaluation import Evaluation, headline_auc, per_class_table
from core.errors import InvalidInputError
from core.plots.evaluation import calibration_figure, confusion_figure, curve_figure, source_label
from dashboard import components, formats, resources, state
from dashboard.regression_views import regression_evaluation
from dashboard.task import model_task

st.title("Evaluation")

with components.errors_as_messages():
    model = components.choose_model(resources.list_models())
    numbers = [v.version for v in resources.list_versions(model.name)]
    if not numbers:
        st.info(f"{model.name} has no versions yet.")
        st.stop()
    version = components.version_picker(model, numbers, "Version", state.scoped(state.EVALUATION_VERSION, model.name))
    if model_task(model.name, version) == "regression":
        regression_evaluation(model.name, version)
        st.stop()
    s = resources.settings()
    try:
        held_out: Evaluation | None = resources.holdout_evaluation(s.tracking_uri, model.name, version)
        missing = ""
    except InvalidInputError as exc:  # registered elsewhere without held-out rows: live traffic alone judges it
        held_out, missing = None, str(exc)
    live = resources.live_evaluation(s.tracking_uri, s.db_url, model.name, version)
    shown = [ev for ev in (held_out, live) if ev is not None]
    if not shown:
        st.error(missing)
        st.info(f"Nothing to evaluate v{version} on yet: no held-out data and no labelled request.")
        st.stop()
    primary = shown[0]
    multiclass = len(primary.per_class) > 2
    auc_help = (
        f"Micro-average over the {len(primary.per_class)} classes (each class against the rest); "
        "each class's own ROC AUC is in the Per class table."
        if multiclass
        else f"Of the positive class, {primary.per_class['class'].iloc[-1]}."
    )

    # What each side is, as the code builds it: the held-out frame logged with the version
    # (core.analysis.evaluation.holdout_evaluation) and every request the version served that got a
    # feedback label, all time (live_evaluation: labelled_probabilities has no window).
    runtime = resources.model_handle(s.tracking_uri, model.name, version).runtime
    held_box, live_box = st.columns(2, border=True)
    held_box.markdown("**Held-out set**")
    if held_out is None:
        held_box.caption(f"No held-out figures: {missing}")
    else:
        held_box.caption(
            f"The {held_out.rows:,} rows logged with v{version} as its held-out (test) data when it was registered, "
            f"scored now by the runtime the service uses ({runtime})."
        )
    auc = math.nan if held_out is None else headline_auc(held_out)
    a, b = held_box.columns(2)
    a.metric("Held-out accuracy", "—" if held_out is None else f"{held_out.accuracy:.1%}")
    b.metric("Held-out ROC AUC", "—" if math.isnan(auc) else f"{auc:.3f}", help=auc_help)
    live_box.markdown("**Live traffic**")
    if live is None:
        live_box.caption(
            f"No labelled request yet: live figures appear once requests served by v{version} get labels "
            "(POST /v1/feedback with the request_id of a predict answer)."
        )
        a, b = live_box.columns(2)
        a.metric("Live accuracy", "—")
        b.metric("Live ROC AUC", "—", help=auc_help)
    else:
        live_box.caption(
            f"All {live.rows:,} requests v{version} has served that got a feedback label, since it was first "
            "served: no time window. A request's latest label counts; requests logged without probabilities "
            "are left out. Refreshed every 10 s."
        )
        live_auc = headline_auc(live)
        a, b = live_box.columns(2)
        a.metric(
            "Live accuracy",
            f"{live.accuracy:.1%}",
            None if held_out is None else f"{100 * (live.accuracy - held_out.accuracy):+.1f} pts vs held-out",
            delta_color="off",
            delta_arrow="off",
        )
        b.metric("Live ROC AUC", "—" if math.isnan(live_auc) else f"{live_auc:.3f}", help=auc_help)
    st.caption(
        "The held-out metrics on the Registry page were computed at training time and can differ slightly "
        "(a float32 runtime can tie probabilities, which lowers ROC AUC)."
    )

    st.subheader("Confusion matrix")
    for column, ev in zip(st.columns(2), shown, strict=False):
        column.plotly_chart(confusion_figure(ev), width="stretch", key=f"confusion-{ev.source}")

    st.subheader("Curves")
    sides = " and ".join(f"{source_label(ev.source)} ({ev.rows:,})" for ev in shown)
    st.caption(
        f"Solid: held-out set, dotted: live traffic. Drawn for {sides}"
        + (
            f"; {len(primary.per_class)} classes: the curves pool every class against the rest (micro-average), "
            "each class's own ROC AUC is in the table below."
            if multiclass
            else f"; the positive class is {primary.per_class['class'].iloc[-1]}."
        )
    )
    a, b, c = st.columns(3)
    a.plotly_chart(curve_figure(shown, "roc"), width="stretch", key="roc")
    b.plotly_chart(curve_figure(shown, "pr"), width="stretch", key="pr")
    c.plotly_chart(calibration_figure(shown), width="stretch", key="calibration")

    st.subheader("Per class")
    # One row per class and data set (7 columns) instead of one row per class with every metric twice
    # (11 columns, which ran off the page at 1280 px).
    classes = list(primary.per_class["class"])
    parts = []
    for ev in shown:
        part = per_class_table(ev)
        part = part.rename(columns={c: c.removesuffix(f" ({ev.source})") for c in part.columns})
        parts.append(part.assign(data=source_label(ev.source)))
    table = pd.concat(parts, ignore_index=True)
    table["order"] = table["class"].map({c: i for i, c in enumerate(classes)})
    table = table.sort_values(["order"], kind="stable").drop(columns="order")
    table = table[["class", "data", "precision", "recall", "f1", "support", "roc_auc"]]
    metric = formats.metric_columns(["precision", "recall", "f1"])
    metric["roc_auc"] = st.column_config.NumberColumn(
        "ROC AUC", format=formats.METRIC, help="This class against the rest (one-vs-rest)."
    )
    metric["f1"] = st.column_config.NumberColumn("F1", format=formats.METRIC)
    if not multiclass:
        st.caption(
            f"A binary model's ROC AUC is that of its positive class ({classes[-1]}); {classes[0]}'s would be the same."
        )
    formats.table(
        table, key="per-class", columns=metric, height="auto" if len(table) <= 10 else 35 * (len(table) + 1) + 3
    )
