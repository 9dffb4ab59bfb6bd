"""The Evaluation page for a regressor: held-out and live figures side by side (cached reads, rendering)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.analysis import evaluation_regression as regression
from core.analysis.evaluation_regression import RegressionEvaluation
from core.errors import InvalidInputError
from core.plots.evaluation import error_distribution_figure, predicted_actual_figure, source_label
from dashboard import formats, resources


@st.cache_data(show_spinner="Scoring the held-out data…", max_entries=16)
def holdout_regression(tracking_uri: str, model: str, version: int) -> RegressionEvaluation:
    """A regressor's version on its held-out data (computed once per version)."""
    return regression.holdout_regression(resources.registry(), resources.model_handle(tracking_uri, model, version))


@st.cache_data(ttl=10, show_spinner=False, max_entries=16)
def live_regression(tracking_uri: str, db_url: str, model: str, version: int) -> RegressionEvaluation | None:
    """A regressor's version on the labelled requests it served (refreshed every few seconds)."""
    return regression.live_regression(resources.registry().store, resources.model_handle(tracking_uri, model, version))


def _metrics(
    container: st.delta_generator.DeltaGenerator, ev: RegressionEvaluation | None, base: RegressionEvaluation | None
) -> None:
    cols = container.columns(3)
    if ev is None:
        for col, label in zip(cols, ("MAE", "RMSE", "R²"), strict=True):
            col.metric(label, "—")
        return
    delta = None if base is None else f"{ev.mae - base.mae:+.3g} vs held-out"
    cols[0].metric("MAE", f"{ev.mae:.3g}", delta, delta_color="off", delta_arrow="off")
    cols[1].metric("RMSE", f"{ev.rmse:.3g}")
    cols[2].metric("R²", "—" if ev.r2 != ev.r2 else f"{ev.r2:.3f}", help="1 − squared error / variance of the labels")


def regression_evaluation(model: str, version: int) -> None:
    """Render the Evaluation page's body for a regressor."""
    s = resources.settings()
    try:
        held_out: RegressionEvaluation | None = holdout_regression(s.tracking_uri, model, version)
        missing = ""
    except InvalidInputError as exc:  # a version registered elsewhere: the live side still judges it
        held_out, missing = None, str(exc)
    live = live_regression(s.tracking_uri, s.db_url, model, version)
    shown = [ev for ev in (held_out, live) if ev is not None]
    held_box, live_box = st.columns(2, border=True)
    held_box.markdown("**Held-out set**")
    if held_out is None:
        held_box.caption(f"No held-out figures: {missing}")
    else:
        held_box.caption(
            f"The {held_out.rows:,} rows logged with v{version} as its held-out (test) data when it was registered, "
            f"predicted now. Mean error (bias) {held_out.bias:+.3g}."
        )
    _metrics(held_box, held_out, None)
    live_box.markdown("**Live traffic**")
    if live is None:
        live_box.caption(
            f"No labelled request yet: live figures appear once requests served by v{version} get numeric labels "
            "(POST /v1/feedback with the request_id of a predict answer)."
        )
    else:
        live_box.caption(
            f"All {live.rows:,} requests v{version} has served that got a numeric label, since it was first served: "
            f"no time window. A request's latest label counts. Mean error (bias) {live.bias:+.3g}. "
            "Refreshed every 10 s."
        )
    _metrics(live_box, live, held_out)

    if not shown:
        st.info(f"Nothing to evaluate v{version} on yet: no held-out data and no labelled request.")
        return
    st.subheader("Predictions and errors")
    a, b = st.columns(2)
    a.plotly_chart(predicted_actual_figure(shown), width="stretch", key="predicted-actual")
    b.plotly_chart(error_distribution_figure(shown), width="stretch", key="errors")

    st.subheader("Absolute error quantiles")
    table = pd.concat(
        [ev.error_quantiles.assign(data=source_label(ev.source)) for ev in shown], ignore_index=True
    ).pivot(index="quantile", columns="data", values="absolute_error")
    table = table.round(2)
    table.index = [f"{q:.0%}" for q in table.index]
    st.caption("Half of the rows have an absolute error under the 50% figure, 95 in 100 under the 95% figure.")
    formats.table(table.reset_index(names="quantile"), key="error-quantiles")
