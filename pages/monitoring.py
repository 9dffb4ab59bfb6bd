"""Monitoring: throughput, latency, errors and the predicted-class mix, refreshing itself."""

from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from core.analysis.monitoring import (
    FREQUENCIES,
    class_mix,
    last_complete,
    prediction_quantiles,
    traffic_timeseries,
)
from core.plots.traffic import class_mix_figure, timeseries_figure
from core.runtime.handles import REGRESSION
from dashboard import components, resources, state, task

WINDOWS = {"15 min": timedelta(minutes=15), "1 h": timedelta(hours=1), "24 h": timedelta(days=1), "all": None}
REFRESH_S = 5
STATUS_CLASSES = {"ok": "2xx answered", "rejected": "4xx refused", "error": "5xx model failed"}

st.title("Monitoring")

with components.errors_as_messages():
    cols = st.columns([2, 1, 1])
    with cols[0]:
        chosen = components.choose_model(resources.list_models())
    name, champion = chosen.name, chosen.champion
    window = cols[1].selectbox("Window", list(WINDOWS), key=state.MONITOR_WINDOW)
    freq = FREQUENCIES[cols[2].selectbox("Bin", list(FREQUENCIES), key=state.MONITOR_BIN)]


@st.fragment(run_every=REFRESH_S)
def live_panel() -> None:
    """Re-drawn every few seconds without rerunning the page."""
    with components.errors_as_messages():
        span = WINDOWS[window]
        frame = resources.outcomes(name, datetime.now(UTC) - span if span else None)
        if frame.empty:
            st.info(
                f"No predictions of {name} logged in this window. Send traffic, for example "
                f"`python -m core simulate --model {name} --rate 10 --duration 60`."
            )
            return
        series = traffic_timeseries(frame, freq)
        complete = series[series["complete"]]
        recent = last_complete(series)
        statuses = frame["status"].value_counts()
        answered = len(frame)
        m = st.columns(4)
        m[0].metric("Requests in window", f"{answered:,}")
        m[1].metric(
            "Requests/s",
            "—" if recent is None else f"{recent['rps']:.1f}",
            help="In the last complete bin: the bin still filling is left out, it would understate the rate.",
        )
        p99 = None if recent is None else recent["p99"]
        m[2].metric(
            "p99 latency",
            "—" if p99 is None or pd.isna(p99) else f"{p99:.1f} ms",
            help="In the last complete bin, of answered (2xx) requests; refusals take no model time.",
        )
        m[3].metric(
            "Failed · refused (window)",
            f"{(frame['status'] == 'error').mean():.1%} · {(frame['status'] == 'rejected').mean():.1%}",
            help="Failed: the model raised (500). Refused: bad input (4xx). Both are answered requests.",
        )
        st.caption(
            " · ".join(f"{STATUS_CLASSES.get(s, s)}: {n:,}" for s, n in statuses.items())
            + f" of {answered:,} answered requests"
        )
        left, right = st.columns(2)
        left.plotly_chart(
            timeseries_figure(complete, ["rps"], "Throughput (complete bins)", "requests/s"), width="stretch"
        )
        right.plotly_chart(timeseries_figure(series, ["p50", "p95", "p99"], "Latency", "ms"), width="stretch")
        left.plotly_chart(
            timeseries_figure(
                series, ["error_rate", "rejected_rate"], "Failed (5xx) and refused (4xx)", "", percent=True
            ),
            width="stretch",
        )
        if task.model_task(name, champion) == REGRESSION:
            spread = prediction_quantiles(frame, freq)
            if spread.empty:
                right.caption("No answered predictions in this window, so no prediction spread.")
            else:
                right.plotly_chart(
                    timeseries_figure(spread, list(spread.columns[1:]), "Predicted value (percentiles)", ""),
                    width="stretch",
                )
            st.caption(f"Refreshes every {REFRESH_S} s · {datetime.now(UTC):%H:%M:%S} UTC")
            return
        mix = class_mix(frame, freq, resources.class_names(name))
        if mix.empty:
            right.caption("No answered predictions in this window, so no class mix.")
        else:
            right.plotly_chart(class_mix_figure(mix), width="stretch")
        st.caption(f"Refreshes every {REFRESH_S} s · {datetime.now(UTC):%H:%M:%S} UTC")


live_panel()
