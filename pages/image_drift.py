"""Image drift: uploaded or served images against a version's reference images."""

import streamlit as st

from core.analysis.drift import drift_over_time
from core.analysis.image_drift import SIZE_COLUMNS, STAT_COLUMNS, logged_image_stats, stats_frame
from core.errors import InvalidInputError
from core.plots.drift import distribution_figure, drift_over_time_figure
from core.runtime.images import decode_image
from dashboard import components, formats, resources, state

SOURCES = ("Upload images", "Prediction log (statistics)")
MIN_IMAGES = 10

st.title("Image drift")

with components.errors_as_messages():
    models = resources.list_image_models()
    if not models:
        st.info("No image model is registered; seed the demo or use `python -m core register-keras`.")
        st.stop()
    c = st.columns([2, 1])
    name = c[0].selectbox("Model", [m.name for m in models], key=state.IMAGE_DRIFT_MODEL)
    model = next(m for m in models if m.name == name)
    numbers = [v.version for v in resources.list_versions(name)]
    with c[1]:
        version = components.version_picker(model, numbers, "Reference: version", state.IMAGE_DRIFT_VERSION)
    detector = resources.image_drift_detector(resources.settings().tracking_uri, name, version)
    source = st.radio("Current images", SOURCES, horizontal=True, key=state.IMAGE_DRIFT_SOURCE)

    if source == SOURCES[0]:
        uploads = st.file_uploader(
            f"At least {MIN_IMAGES} images",
            type=["png", "jpg", "jpeg", "webp", "bmp", "gif", "tif", "tiff"],
            accept_multiple_files=True,
            key=state.IMAGE_DRIFT_UPLOADS,
        )
        images = []
        for upload in uploads or []:
            try:
                images.append(decode_image(upload.getvalue()))
            except InvalidInputError as exc:
                st.error(f"{upload.name}: {exc}")
        if len(images) < MIN_IMAGES:
            st.caption(f"{len(images)} usable image(s); upload at least {MIN_IMAGES} to compare.")
            st.stop()
        current = stats_frame(images, detector.handle_.input_spec)
        report = detector.compare_stats(images)
        mmd = detector.compare_embeddings(images)
        verdict = "drifted" if mmd.drifted else "no drift detected"
        box = st.error if mmd.drifted else st.success
        box(
            f"Embeddings (penultimate layer, MMD permutation test): {verdict} — MMD² = {mmd.mmd2:.4f}, "
            f"p = {mmd.p_value:.3f} (α = {mmd.alpha})."
        )
    else:
        logged = logged_image_stats(resources.registry().store, name)
        if len(logged) < MIN_IMAGES:
            st.info(f"{len(logged)} classified image(s) of {name} are logged; at least {MIN_IMAGES} are needed.")
            st.stop()
        current = logged.drop(columns=["at"])
        report = detector.stats_.compare(current[list(STAT_COLUMNS)])
        windows = drift_over_time(
            detector.stats_,
            logged[["at", *STAT_COLUMNS]],
            size=max(MIN_IMAGES, len(logged) // 10),
            min_rows=MIN_IMAGES,
        )
        if not windows.empty:
            st.plotly_chart(drift_over_time_figure(windows, report.drift_share_threshold), width="stretch")

    st.subheader("Image statistics")
    m = st.columns(2)
    m[0].metric("Statistics drifted", f"{len(report.drifted)} of {len(report.features)}")
    m[1].metric("Images (reference / current)", f"{report.n_reference:,} / {report.n_current:,}")
    formats.table(report.ranked_features(), key="image-drift-features")
    spec = detector.handle_.input_spec
    ref_size = detector.reference_stats_[list(SIZE_COLUMNS)].median()
    cur_size = current[list(SIZE_COLUMNS)].median()
    st.caption(
        f"Statistics of the model input: each image after v{version}'s preprocessing, at "
        f"{spec.width}×{spec.height}. Size is shown, not tested (the model resizes every image): median "
        f"{cur_size['width']:.0f}×{cur_size['height']:.0f} px here, {ref_size['width']:.0f}×"
        f"{ref_size['height']:.0f} px in the reference."
    )
    stat = st.selectbox("Statistic", list(STAT_COLUMNS), key=state.IMAGE_DRIFT_STAT)
    reference_stats = detector.stats_.state_[stat]["sorted"] if detector.stats_.kinds_[stat] == "numeric" else None
    if reference_stats is not None:
        st.plotly_chart(distribution_figure(reference_stats, current[stat], stat), width="stretch")
