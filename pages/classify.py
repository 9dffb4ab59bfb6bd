"""Classify: upload images (or pick samples), see the exact model input and the top-k classes."""

import streamlit as st

from core.demo.samples import ensure_samples, sample_label
from core.plots.explain import saliency_figure
from core.plots.traffic import topk_figure
from core.runtime.classify import classify_images, comparison_frame
from core.runtime.images import normalise_digit
from dashboard import auth, components, formats, resources, state
from dashboard.spec_editor import spec_editor

IMAGE_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif", "tif", "tiff"]
DETAIL_LIMIT = 6

st.title("Classify")
components.flash()

with components.errors_as_messages():
    image_models = resources.list_image_models()
    if not image_models:
        st.info(
            "No image model is registered. Seed the demo (`python -m core demo`) or register your own: "
            "`python -m core register-keras MODEL.keras --labels labels.txt --input-size 224`."
        )
        st.stop()

    left, mid, right = st.columns([2, 2, 1])
    name = left.selectbox("Model", [m.name for m in image_models], key=state.CLASSIFY_MODEL)
    model = next(m for m in image_models if m.name == name)
    numbers = [v.version for v in resources.list_versions(name)]
    label = lambda v: components.version_label(v, model.aliases)  # noqa: E731
    default = numbers.index(model.champion) if model.champion in numbers else 0
    version = mid.selectbox("Version", numbers, index=default, format_func=label, key=state.CLASSIFY_VERSION)
    top_k = right.number_input("Top-k", min_value=1, max_value=20, value=3, key=state.CLASSIFY_TOP_K)
    saliency = st.toggle("Saliency: show which pixels drove the top class (SHAP)", key=state.CLASSIFY_SALIENCY)
    chosen = [version]
    if len(numbers) > 1 and st.toggle("Compare with a second version", key=state.CLASSIFY_COMPARE):
        others = [v for v in numbers if v != version]
        second_default = others.index(model.challenger) if model.challenger in others else 0
        chosen.append(
            st.selectbox(
                "Second version", others, index=second_default, format_func=label, key=state.CLASSIFY_COMPARE_VERSION
            )
        )

    spec_editor(name, version, auth.current_user())

    uploads = st.file_uploader(
        "Images (drag and drop one or many)", type=IMAGE_TYPES, accept_multiple_files=True, key=state.CLASSIFY_UPLOADS
    )
    samples = {p.name: p for p in ensure_samples(resources.settings().home)}
    picked = st.multiselect("…or shipped samples", list(samples), key=state.CLASSIFY_SAMPLES)
    files = [(u.name, u.getvalue()) for u in uploads or []] + [(n, samples[n].read_bytes()) for n in picked]
    if not files:
        st.caption("Upload images or pick samples to classify them.")
        st.stop()

    tracking_uri = resources.settings().tracking_uri
    handles = {v: resources.model_handle(tracking_uri, name, v) for v in chosen}
    progress = st.progress(0.0, text=f"Classifying {len(files)} image(s)…")
    results = {}
    for i, (v, handle) in enumerate(handles.items()):

        def report(done: int, total: int, i: int = i, v: int = v) -> None:
            progress.progress((i + done / total) / len(handles), text=f"v{v}: {done}/{total} steps")

        results[v] = classify_images(handle, files, progress=report)
    progress.empty()

    first = results[chosen[0]]
    failed = [r for r in first if not r.ok]
    for r in failed:
        st.error(f"{r.name}: {r.error}")
    good = [i for i, r in enumerate(first) if r.ok]
    unlike = [first[i].name for i in good if first[i].unlike_training]
    st.caption(
        f"{len(good)} of {len(files)} image(s) classified"
        + (f", {len(failed)} refused" if failed else "")
        + (f", {len(unlike)} not like the training pictures" if unlike else "")
    )
    checked = handles[chosen[0]]
    if checked.ood is None:
        st.caption(f"No out-of-distribution check for v{checked.version}: {checked.ood_reason}")

    for i in good[:DETAIL_LIMIT]:
        r = first[i]
        with st.container(border=True, key=f"result-{i}"):
            truth = sample_label(samples[r.name]) if r.name in samples else None
            st.markdown(f"**{r.name}**" + (f" — true label {truth}" if truth is not None else ""))
            if r.unlike_training:
                st.warning(
                    f"Not like anything this model was trained on (distance {r.ood_score:.2f}× the threshold): "
                    "the classes below are a guess, not a reading.",
                    icon=":material/help:",
                )
            cols = st.columns([1, 1, *([2] * len(chosen))])
            cols[0].image(r.original, caption=f"original {r.original.size[0]}×{r.original.size[1]}", width=168)
            if saliency:
                (expl,) = resources.explainer(tracking_uri, name, chosen[0]).explain(r.model_input[None])
                cols[1].plotly_chart(
                    saliency_figure(expl, title=f"saliency: {expl.classes[expl.top_class]}"),
                    width="stretch",
                    key=f"saliency-{i}",
                )
            else:
                cols[1].image(components.input_preview(r.model_input), caption="exact model input", width=168)
            for col, v in zip(cols[2:], chosen, strict=True):
                top = results[v][i].top_k(int(top_k))
                col.markdown(f"**{label(v)}**: {top[0][0]} ({top[0][1]:.1%})")
                col.plotly_chart(topk_figure(top), width="stretch", key=f"topk-{i}-{v}")
            spec = handles[chosen[0]].input_spec
            if spec is not None and spec.normalize:
                with st.expander("How the picture became the model input"):
                    steps = normalise_digit(r.original, spec.height, spec.width, spec.fill)
                    shown = st.columns(4)
                    shown[0].image(steps.gray, caption="grey levels", width=140)
                    shown[1].image(
                        steps.ink,
                        caption="ink, paper and lighting removed ("
                        + ("dark ink on light: inverted" if steps.dark_ink else "light ink on dark")
                        + ")",
                        width=140,
                    )
                    shown[2].image(steps.mask, caption="kept after Otsu's threshold, specks dropped", width=140)
                    shown[3].image(
                        components.input_preview(steps.model_input[..., None]),
                        caption=f"cropped, centred by mass, {spec.width}×{spec.height}",
                        width=140,
                    )
    if len(good) > DETAIL_LIMIT:
        st.caption(f"Details shown for the first {DETAIL_LIMIT}; every file is in the table below.")

    st.subheader("Results")
    table = comparison_frame(results, k=int(top_k))
    formats.table(table, key="results-table")
    st.download_button(
        "Download CSV",
        table.to_csv(index=False).encode(),
        file_name=f"{name}-classify.csv",
        mime="text/csv",
        key="download-csv",
    )
