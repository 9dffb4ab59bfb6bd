"""Drift: reference vs served (or uploaded) data, per feature, over time and per segment."""

from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from core.analysis.drift import AUTO_DISTANCE_ROWS, LOG_COLUMNS, NUMERIC_TEST_NAMES, drift_over_time, report_html
from core.analysis.drift_slices import drift_by_segment, drift_by_slice, quantile_slices
from core.analysis.drift_stats import CATEGORICAL_TESTS
from core.analysis.output_drift import prediction_drift, served_predictions
from core.analysis.output_drift import reference_predictions as reference_predictions_of
from core.analysis.uploads import read_csv_upload
from core.errors import InvalidInputError, ModelOpsError
from core.names import TARGET
from core.plots.drift import distribution_figure, drift_over_time_figure, ecdf_figure
from dashboard import auth, components, formats, resources, state
from dashboard.reference import reference_upload
from dashboard.task import model_task, reference_predictions

WINDOWS = {"1 h": timedelta(hours=1), "24 h": timedelta(days=1), "7 days": timedelta(days=7), "all": None}
SOURCES = ("Prediction log", "Upload a CSV")

st.title("Drift")
components.flash()

with components.errors_as_messages():
    models = resources.list_tabular_models()
    if not models:
        components.empty_registry_notice()
        st.stop()
    c = st.columns([2, 1, 1, 1])
    name = c[0].selectbox("Model", [m.name for m in models], key=state.DRIFT_MODEL)
    model = next(m for m in models if m.name == name)
    numbers = [v.version for v in resources.list_versions(name)]
    with c[1]:
        version = components.version_picker(model, numbers, "Reference: version", state.DRIFT_VERSION)
    numeric_test = c[2].selectbox(
        "Numeric test",
        NUMERIC_TEST_NAMES,
        key=state.DRIFT_NUMERIC_TEST,
        help=f"auto: Kolmogorov–Smirnov below {AUTO_DISTANCE_ROWS:,} rows; from there PSI, because at volume a "
        "p-value flags differences too small to matter",
    )
    categorical_test = c[3].selectbox("Categorical test", list(CATEGORICAL_TESTS), key=state.DRIFT_CATEGORICAL_TEST)
    try:
        detector = resources.drift_detector(
            resources.settings().tracking_uri, name, version, numeric_test, categorical_test
        )
    except InvalidInputError as exc:
        st.error(str(exc))
        if "reference" in str(exc):  # none, or too little: offer the fix right here
            reference_upload(name, version, auth.current_user(), key="drift-reference")
        st.stop()

    source = st.radio("Current data", SOURCES, horizontal=True, key=state.DRIFT_SOURCE)
    if source == SOURCES[0]:
        span = WINDOWS[st.selectbox("Window", list(WINDOWS), index=1, key=state.DRIFT_WINDOW)]
        logged = resources.served_inputs(name, datetime.now(UTC) - span if span else None)
        if logged.empty:
            st.info(
                f"No predictions of {name} in this window. Send traffic, e.g. "
                f"`python -m core simulate --model {name} --rate 20 --duration 60 --drift 1`, or upload a CSV."
            )
            st.stop()
        current = logged.drop(columns=list(LOG_COLUMNS))
    else:
        upload = st.file_uploader(
            "CSV with the model's feature columns (a header row)", type=["csv"], key=state.DRIFT_UPLOAD
        )
        if upload is None:
            st.caption(f"Columns expected: {', '.join(detector.columns_)}")
            st.stop()
        try:
            current = read_csv_upload(upload.getvalue(), upload.name)
        except InvalidInputError as exc:
            st.error(str(exc))
            st.stop()
        current = current.drop(columns=[TARGET], errors="ignore")
        logged = None
    try:
        report = detector.compare(current)
    except InvalidInputError as exc:
        st.error(f"The current data does not fit {name} v{version}: {exc}")
        st.stop()

    st.subheader("Summary")
    m = st.columns(4)
    m[0].metric("Dataset drift", "yes" if report.dataset_drift else ("no" if report.enough_rows else "—"))
    m[1].metric("Drifted features", f"{len(report.drifted)} of {len(report.features)}")
    m[2].metric(
        "Drift share", f"{report.share:.0%}", f"threshold {report.drift_share_threshold:.0%}", delta_color="off"
    )
    m[3].metric("Rows (reference / current)", f"{report.n_reference:,} / {report.n_current:,}")
    if not report.enough_rows:
        st.warning(
            f"{report.n_current} rows are too few to judge drift: at least {report.min_rows} are needed. "
            "The per-feature figures below are shown for a first look only."
        )
    tests = ", ".join(sorted(set(report.features["test"])))
    st.caption(
        f"Tests: {tests} (Benjamini–Hochberg across features for p-value tests). With `auto`, each window and "
        f"segment is judged by its own size: KS below {AUTO_DISTANCE_ROWS:,} rows (PSI is unreliable on small samples)."
    )
    formats.table(report.ranked_features(), key="drift-features")

    st.subheader("Prediction drift")
    figures = []
    try:
        task = model_task(name, version)
        expected = reference_predictions(
            resources.settings().tracking_uri, name, version, resources.model_trust(name).trusted
        )
        if logged is not None:  # what this version served: another arm's predictions would differ anyway
            served = served_predictions(logged.loc[logged["version"].astype(int) == version, "predicted"], task)
            what = f"predictions v{version} served in the window"
        else:
            handle = resources.model_handle(resources.settings().tracking_uri, name, version)
            served = reference_predictions_of(handle, current)
            what = f"v{version}'s predictions on the uploaded rows"
        output = prediction_drift(expected, served, numeric_test, categorical_test)
    except ModelOpsError as exc:
        st.info(f"No prediction drift: {exc}")
    else:
        row = output.features.iloc[0]
        o = st.columns([1, 1, 1, 2])
        o[0].metric("Predictions drifted", ("yes" if bool(row["drifted"]) else "no") if output.enough_rows else "—")
        o[1].metric(str(row["test"]), f"{row['statistic']:.3g}")
        o[2].metric("Predictions", f"{len(expected):,} / {len(served):,}", help="reference / current")
        kind = "class mix" if task != "regression" else "predicted values"
        o[3].caption(
            f"The {kind} of v{version} on its reference rows against the {what}. It needs no labels and often "
            "moves before the per-feature tests agree."
            + (
                ""
                if output.enough_rows
                else f" {len(served)} predictions are too few to judge: {output.min_rows} needed."
            )
        )
        figures.append(distribution_figure(expected, served, "prediction"))
        st.plotly_chart(figures[-1], width="stretch", key="prediction-drift-figure")

    reference = resources.reference_frame(resources.settings().tracking_uri, name, version)
    # Options in the detector's fixed order (the most drifted one preselected): options that re-rank
    # with the data let the box show one feature while the charts drew another.
    most_drifted = report.ranked_features()["column"].iloc[0]
    feature = st.selectbox(
        "Feature",
        detector.columns_,
        index=detector.columns_.index(most_drifted),
        key=state.scoped(state.DRIFT_FEATURE, name, version, source),
    )
    left, right = st.columns(2)
    figures += [distribution_figure(reference[feature], current[feature], feature)]
    left.plotly_chart(figures[-1], width="stretch")
    if detector.kinds_[feature] == "numeric":
        figures.append(ecdf_figure(reference[feature], current[feature], feature))
        right.plotly_chart(figures[-1], width="stretch")

    if logged is not None:
        st.subheader("Drift over time")
        size = st.select_slider("Window (requests)", [50, 100, 200, 500, 1000], value=100, key=state.DRIFT_WINDOW_SIZE)
        windows = drift_over_time(detector, logged.drop(columns=["arm", "version", "predicted"]), size=size)
        if windows.empty:
            st.caption(f"Fewer than {size} rows: not enough for a window yet.")
        else:
            figures.append(drift_over_time_figure(windows, report.drift_share_threshold))
            st.plotly_chart(figures[-1], width="stretch")

    st.subheader("Per segment")
    options = (["arm", "version", "predicted"] if logged is not None else []) + detector.columns_
    segment_by = st.selectbox("Segment by", options, key=state.DRIFT_SEGMENT)
    if segment_by in ("arm", "version"):
        st.caption(f"Each {segment_by}'s traffic against the whole reference data of v{version}.")
        segments = drift_by_segment(detector, current, logged[segment_by].set_axis(current.index))
    else:
        reference_features = reference[detector.columns_]
        if segment_by == "predicted":
            st.caption(
                "Requests predicted as each class against the reference rows labelled with that class: "
                "a class differs from the whole reference by construction."
            )
            ref_seg = reference[TARGET].astype(str) if TARGET in reference else pd.Series("?", reference.index)
            cur_seg, order = logged["predicted"].astype(str).set_axis(current.index), None
        elif detector.kinds_.get(segment_by) == "numeric":
            st.caption(
                f"Quartiles of {segment_by} at the reference's edges; each slice of the current data against the "
                "same slice of the reference (a slice differs from the whole reference by construction)."
            )
            ref_seg, cur_seg, order = quantile_slices(reference[segment_by], current[segment_by])
        else:
            st.caption(f"Each value of {segment_by} against the reference rows with the same value.")
            ref_seg, cur_seg, order = reference[segment_by], current[segment_by], None
        segments = drift_by_slice(detector, reference_features, current, ref_seg, cur_seg, order)
    formats.table(segments, key="drift-segments")

    st.subheader("Download")
    d = st.columns(2)
    d[0].download_button(
        "Per-feature table (CSV)",
        report.features.to_csv(index=False).encode(),
        file_name=f"{name}-v{version}-drift.csv",
        mime="text/csv",
        key="drift-csv",
    )
    d[1].download_button(
        "Report (HTML)",
        report_html(f"Drift of {name} against v{version}", report, figures),
        file_name=f"{name}-v{version}-drift.html",
        mime="text/html",
        key="drift-html",
    )
