"""Edge export: TFLite builds of a Keras version, each with its quantization report card."""

import streamlit as st

from core.edge.export import export_version
from core.edge.reports import per_class_frame, report_frame
from core.plots.lifecycle import export_report_figure
from core.runtime.tflite import DEFAULT_MAX_DROP, MODES, TAG_PREFIX
from dashboard import components, formats, resources, state

MODE_HELP = {
    "float32": "no optimisation: the reference build",
    "dynamic-range": "int8 weights, float activations",
    "float16": "float16 weights",
    "int8": "full-integer, calibrated on reference images",
}

st.title("Edge export (TFLite)")
components.flash()

with components.errors_as_messages():
    image_models = resources.list_image_models()
    if not image_models:
        st.info(
            "No Keras model is registered. Seed the demo (`python -m core demo`) or register your own with "
            "`python -m core register-keras`; scikit-learn versions are compiled to ONNX instead."
        )
        st.stop()
    left, right = st.columns(2)
    name = left.selectbox("Model", [m.name for m in image_models], key=state.EXPORT_MODEL)
    model = next(m for m in image_models if m.name == name)
    infos = {v.version: v for v in resources.list_versions(name)}
    with right:
        version = components.version_picker(model, list(infos), "Version", key=state.EXPORT_VERSION)

    a, b, c = st.columns([3, 1, 1], vertical_alignment="bottom")
    modes = a.multiselect(
        "Modes",
        MODES,
        default=list(MODES),
        key=state.EXPORT_MODES,
        help=" · ".join(f"**{m}**: {text}" for m, text in MODE_HELP.items()),
    )
    int8_io = b.checkbox(
        "int8 input/output", key=state.EXPORT_INT8_IO, help="int8 mode only: integer tensors in and out"
    )
    max_drop = c.number_input(
        "Max accuracy drop (points)",
        min_value=0.0,
        max_value=100.0,
        value=DEFAULT_MAX_DROP,
        step=0.5,
        key=state.EXPORT_MAX_DROP,
        help="the gate: a build that loses more held-out accuracy than this is rejected",
    )
    if st.button("Export", type="primary", key="export-run", disabled=not modes):
        uri = resources.settings().tracking_uri
        handle = resources.model_handle(uri, name, version)
        bar = st.progress(0.0, text="Starting…")
        builds = export_version(
            resources.registry(),
            handle,
            modes,
            int8_io=int8_io,
            max_accuracy_drop=float(max_drop),
            progress=lambda text, fraction: bar.progress(min(fraction, 1.0), text=text),
        )
        bar.empty()
        resources.registry_changed()
        fresh = [b.report.key for b in builds if not b.reused]
        reused = [b.report.key for b in builds if b.reused]
        st.session_state[state.FLASH] = (f"Exported {', '.join(fresh)}. " if fresh else "") + (
            f"Reused stored {', '.join(reused)}." if reused else ""
        )
        st.rerun()

    tags = {k[len(TAG_PREFIX) :]: v for k, v in infos[version].tags.items() if k.startswith(TAG_PREFIX)}
    if not tags:
        st.caption(f"v{version} has no TFLite builds yet. Choose modes and press Export.")
        st.stop()
    uri = resources.settings().tracking_uri
    stored = {key: resources.stored_report(uri, name, version, key, tag) for key, tag in sorted(tags.items())}
    stored = {k: v for k, v in stored.items() if v is not None}
    reports = [report for report, _ in stored.values()]
    st.subheader(f"Report card: {name} v{version}")
    st.caption(
        f"Measured against the Keras model on {reports[0].holdout_images} held-out images; latency is one image, "
        "median, LiteRT interpreter vs the compiled Keras graph the service runs, in the same run."
    )
    # The gate's reasons are sentences: listed under the table, which then fits a 1,280 px window.
    formats.table(report_frame(reports).drop(columns=["reason"]), key="report-table")
    st.markdown("\n".join(f"- **{r.key}** {'accepted' if r.accepted else 'rejected'}: {r.reason}" for r in reports))
    st.plotly_chart(export_report_figure(reports), width="stretch", key="report-chart")
    with st.expander("Per-class accuracy change (points)"):
        formats.table(per_class_frame(reports), key="per-class-table")
    st.markdown("**Downloads**")
    columns = st.columns(min(len(stored), 5))
    for i, (key, (report, content)) in enumerate(stored.items()):
        columns[i % len(columns)].download_button(
            f"{key}.tflite ({len(content) / 1024:.0f} KiB{'' if report.accepted else ', rejected'})",
            content,
            file_name=f"{name}-v{version}-{key}.tflite",
            mime="application/octet-stream",
            key=f"download-{key}",
        )
