"""A/B testing: traffic split, per-arm statistics, the sequential decision, promote the challenger."""

import math

import streamlit as st

from core import names
from core.analysis.ab import ALPHA, ABReport, analyse, sample_size_per_arm
from core.analysis.ab_regression import RegressionABReport, analyse_regression
from core.plots.traffic import cumulative_accuracy_figure
from core.runtime.handles import REGRESSION
from dashboard import auth, components, formats, resources, state, task

st.title("A/B testing")
components.flash()

with components.errors_as_messages():
    model = components.choose_model(resources.list_models())
    name = model.name
    status = resources.service_status()

    st.subheader("Traffic")
    components.traffic_controls(name, status)
    served = status.models.get(name)
    traffic = served.traffic if served is not None else None
    share = 0.0 if traffic is None or traffic.shadow else traffic.challenger_share
    versions = {alias: v for alias, v in model.aliases.items() if alias in names.ALIASES}
    if names.CHALLENGER not in versions:
        st.info(f"{name} has no challenger. Promote a version to `challenger` on the Registry page to start a test.")
        st.stop()

    regression = task.model_task(name, versions.get(names.CHAMPION)) == REGRESSION
    report: ABReport | RegressionABReport
    if regression:
        st.caption("A regressor: each arm is judged by its absolute errors on labelled requests (lower is better).")
        since = resources.split_since(name)
        report = analyse_regression(resources.outcomes(name), name, versions, share, split_since=since)
    else:
        min_effect = st.select_slider(
            "Smallest accuracy difference worth detecting",
            options=[0.01, 0.02, 0.03, 0.05, 0.1],
            value=0.05,
            format_func=lambda v: f"{v:.0%}",
            key=state.AB_MIN_EFFECT,
        )
        report = analyse(
            resources.outcomes(name),
            name,
            versions,
            share,
            split_since=resources.split_since(name),
            min_effect=min_effect,
        )

    st.subheader("Decision")
    box = {"better": st.success, "worse": st.error}.get(report.verdict, st.info)
    with st.container(key="ab-decision"):
        box(report.decision)
    reference_test = "Welch t-test" if regression else "z-test"
    st.caption(
        f"Decided by the mixture sequential probability ratio test (mSPRT): its p-value stays valid however "
        f"often this page is watched, so the decision is made at α = {ALPHA}. The fixed-sample {reference_test} "
        f"p-value below is for reference only; it is valid once, at a sample size planned in advance."
    )
    if report.srm_detected:
        st.warning(
            f"Sample-ratio mismatch: since {formats.moment(report.srm_since)} the arms received "
            f"{report.srm_requests[0]:,} and {report.srm_requests[1]:,} requests for a configured "
            f"{1 - share:.0%}/{share:.0%} split "
            f"(chi-square p = {report.srm_p:.2g}). "
            "Assignment or logging is broken somewhere; do not trust the comparison until it is explained."
        )

    st.subheader("Per arm")
    formats.table(report.table(), key="ab-table")
    cols = st.columns(3)
    diff = report.diff
    if regression:
        cols[0].metric(
            "MAE difference (challenger − champion)",
            "—" if math.isnan(diff.diff) else f"{diff.diff:+.4g}".replace("-", "−"),
            None if math.isnan(diff.low) else f"95% CI {diff.low:+.4g} … {diff.high:+.4g}",
            delta_color="off",
            delta_arrow="off",
            help="Below zero: the challenger's absolute errors are smaller.",
        )
    else:
        cols[0].metric(
            "Accuracy difference (challenger − champion)",
            "—" if math.isnan(diff.diff) else f"{diff.diff * 100:+.1f} points".replace("-", "−"),
            None if math.isnan(diff.low) else f"95% CI {diff.low * 100:+.1f} … {diff.high * 100:+.1f} points",
            delta_color="off",
            delta_arrow="off",
        )
    cols[1].metric(
        "Sequential p (decides)",
        "—" if math.isnan(diff.diff) else f"{report.sequential_p:.4f}",
        help="Needs labelled outcomes on both arms; it starts at 1 and only falls as evidence comes in.",
    )
    cols[2].metric(f"{reference_test} p (reference)", "—" if math.isnan(diff.p_value) else f"{diff.p_value:.4f}")
    if len(report.cumulative):
        figure = (
            cumulative_accuracy_figure(report.cumulative, "mae", "cumulative MAE (lower is better)", percent=False)
            if regression
            else cumulative_accuracy_figure(report.cumulative)
        )
        st.plotly_chart(figure, width="stretch")

    if not regression:
        with st.expander("Sample-size calculator"):
            c = st.columns(4)
            base = c[0].number_input("Baseline accuracy", 0.01, 0.99, 0.9, 0.01, key="ss_base")
            effect = c[1].number_input("Difference to detect", 0.005, 0.5, 0.02, 0.005, key="ss_effect")
            alpha = c[2].number_input("α", 0.001, 0.2, 0.05, 0.005, key="ss_alpha")
            power = c[3].number_input("Power", 0.5, 0.99, 0.8, 0.05, key="ss_power")
            if base + effect >= 1:
                st.error("Baseline plus difference must stay below 100%.")
            else:
                n = sample_size_per_arm(base, effect, alpha, power)
                st.markdown(f"**{n:,} labelled requests per arm** ({2 * n:,} in total).")

    st.subheader("Promote")
    challenger = versions[names.CHALLENGER]
    user = auth.current_user()
    if user is None:
        st.caption(auth.refusal())
    live = (
        () if report.verdict == "better" else (f"The live test has not found v{challenger} better: {report.decision}",)
    )
    components.confirm_promotion(
        model,
        challenger,
        names.CHAMPION,
        user=user,
        reason=f"A/B: {report.verdict}",
        key="ab-promote",
        warnings=live,
        label=f"Promote challenger v{challenger} to champion",
    )
