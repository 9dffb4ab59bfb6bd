"""Explain: SHAP views of a version — global on its reference data, one row, what-if, images."""

import numpy as np
import pandas as pd
import streamlit as st

from core.analysis.explain import PREDICTION, TabularExplainer
from core.analysis.explain_images import ImageExplainer
from core.demo.samples import ensure_samples
from core.errors import InvalidInputError
from core.plots.explain import (
    beeswarm_figure,
    dependence_figure,
    importance_figure,
    output_name,
    saliency_figure,
    waterfall_figure,
)
from core.runtime.classify import prepare
from core.store.log_reads import logged_request
from dashboard import auth, components, resources, state
from dashboard.reference import reference_upload

SOURCES = ("Reference data", "Prediction log", "What-if")
IMAGE_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif", "tif", "tiff"]
STRONGEST = "(strongest interaction)"
TOP_CLASS = "(top class)"

st.title("Explain")
components.flash()

with components.errors_as_messages():
    model = components.choose_model(resources.list_models())
    numbers = [v.version for v in resources.list_versions(model.name)]
    left, right = st.columns(2)
    with left:
        version = components.version_picker(
            model, numbers, "Version", key=state.scoped(state.EXPLAIN_VERSION, model.name)
        )
    chosen = [version]
    with right:
        if len(numbers) > 1 and st.toggle("Side by side with a second version", key=state.EXPLAIN_COMPARE):
            others = [v for v in numbers if v != version]
            chosen.append(
                st.selectbox(
                    "Second version",
                    others,
                    format_func=lambda v: components.version_label(v, model.aliases),
                    key=state.scoped(state.EXPLAIN_COMPARE_VERSION, model.name),
                )
            )
    uri = resources.settings().tracking_uri
    try:
        explainers = {v: resources.explainer(uri, model.name, v) for v in chosen}
    except InvalidInputError as exc:
        st.error(str(exc))
        if "reference" in str(exc):  # none, or too little: offer the fix right here
            reference_upload(model.name, version, auth.current_user(), key="explain-reference")
        st.stop()
    main = explainers[version]
    label = {v: components.version_label(v, model.aliases) for v in chosen}
    st.caption(
        " · ".join(f"{label[v]}: {e.method} explainer" for v, e in explainers.items())
        + "".join(
            f" · {label[v]}: {e.fallback_reason}" for v, e in explainers.items() if getattr(e, "fallback_reason", "")
        )
    )

    if isinstance(main, TabularExplainer):
        frame = resources.reference_frame(uri, model.name, version)
        features = main.feature_names
        handle_columns = main.handle.columns
        classes = [str(c) for c in main.classes]
        shown = dict(zip(classes, main.handle.class_names or classes, strict=False))
        default_class = 1 if len(classes) == 2 else 0
        if classes == [PREDICTION]:
            st.caption("A regressor: the SHAP values explain its predicted value, in the target's units.")
            picked_class = PREDICTION
        else:
            picked_class = st.selectbox(
                "Explain the probability of class",
                classes,
                index=default_class,
                format_func=lambda c: shown.get(c, c),
                key=state.scoped(state.EXPLAIN_CLASS, model.name, "tabular"),
            )
        overview, local = st.tabs(["Global", "One row"])

        with overview:
            # A pipeline on typed columns costs ~0.2 s a row under the permutation explainer (the model itself).
            default_rows = 500 if main.method == "tree" else (50 if main.dtype == object else 200)
            rows = st.slider(
                "Reference rows explained",
                min_value=min(20, len(frame)),
                max_value=max(len(frame), 20),
                value=min(default_rows, len(frame)),
                step=10,
                key=state.scoped(state.EXPLAIN_ROWS, model.name),
            )
            with st.spinner(f"Explaining {rows} rows with the {main.method} explainer…"):
                glob = resources.global_explanation(uri, model.name, version, int(rows))
            k = glob.class_index(picked_class)
            a, b = st.columns(2)
            a.plotly_chart(importance_figure(glob, k), width="stretch", key="importance-chart")
            b.plotly_chart(beeswarm_figure(glob, k), width="stretch", key="beeswarm-chart")
            ranked = list(glob.importance(k).index)
            c, d = st.columns(2)
            feature = c.selectbox("Dependence of feature", ranked, key=state.scoped(state.EXPLAIN_FEATURE, model.name))
            partner = d.selectbox(
                "Coloured by",
                [STRONGEST, *[f for f in features if f != feature]],
                key=state.scoped(state.EXPLAIN_INTERACTION, model.name),
            )
            st.plotly_chart(
                dependence_figure(glob, feature, k, None if partner == STRONGEST else partner),
                width="stretch",
                key="dependence-chart",
            )

        with local:
            source = st.radio("Row from", SOURCES, horizontal=True, key=state.EXPLAIN_SOURCE)
            reference = frame[features].reset_index(drop=True)
            if source == "Prediction log":
                recent = resources.recent_requests(model.name)
                pasted, listed = st.columns([2, 3])
                request_id = pasted.text_input(
                    "Request id (the `request_id` of a predict answer)", key=state.EXPLAIN_REQUEST
                )
                chosen_recent = listed.selectbox(
                    f"…or one of the last {len(recent)} served requests",
                    [None, *recent],
                    format_func=lambda r: "—" if r is None else r.label,
                    key=state.scoped(state.EXPLAIN_RECENT, model.name),
                    disabled=not recent,
                )
                request_id = request_id.strip() or (chosen_recent.request_id if chosen_recent else "")
                if not request_id:
                    st.caption(
                        "Paste a request id from a predict answer, or pick a recent request."
                        if recent
                        else f"No request of {model.name} is logged yet: send traffic to the service first."
                    )
                    st.stop()
                logged = logged_request(resources.registry().store, request_id, model=model.name)
                st.caption(f"Served by v{logged.version} ({logged.arm}); {len(logged.rows)} row(s) in the request.")
                if logged.version not in chosen:  # explain the answer that was given, beside the chosen version
                    explainers[logged.version] = resources.explainer(uri, model.name, logged.version)
                    label[logged.version] = components.version_label(logged.version, model.aliases) + " (served it)"
                    chosen.insert(0, logged.version)
                pick = 0
                if len(logged.rows) > 1:
                    pick = st.number_input(
                        "Row of the request",
                        0,
                        len(logged.rows) - 1,
                        0,
                        key=state.scoped(state.EXPLAIN_REQUEST_ROW, model.name),
                    )
                missing = [f for f in features if f not in logged.rows.columns]
                if missing:
                    st.error(f"The logged request lacks this version's features {missing[:5]}.")
                    st.stop()
                row = logged.rows.loc[int(pick), features].to_numpy(dtype=main.dtype)
            else:
                index = st.number_input(
                    f"Reference row (0–{len(reference) - 1})",
                    0,
                    len(reference) - 1,
                    0,
                    key=state.scoped(state.EXPLAIN_ROW, model.name),
                )
                row = reference.loc[int(index)].to_numpy(dtype=main.dtype)
                if source == "What-if":
                    st.caption(
                        "Change any value; numbers are bounded by the range seen in the reference data, "
                        "categories offer the values the model knows."
                    )
                    grid = st.columns(3)
                    edited = [
                        components.whatif_input(grid[j % 3], c, reference[c.name], row[j], f"whatif-{index}-{j}")
                        for j, c in enumerate(handle_columns)
                    ]
                    row = np.asarray(edited, dtype=main.dtype)
            columns = st.columns(len(chosen))
            for col, v in zip(columns, chosen, strict=True):
                explainer = explainers[v]
                assert isinstance(explainer, TabularExplainer)
                one = explainer.explain(row[None, :])
                kk = one.class_index(picked_class)
                with col:
                    probability = f"{label[v]}: {output_name(one, kk)}"
                    st.metric(probability, f"{one.outputs[0, kk]:.3f}")
                    st.plotly_chart(
                        waterfall_figure(one, 0, kk, title=f"{probability} = {one.outputs[0, kk]:.3f}"),
                        width="stretch",
                        key=f"waterfall-{v}",
                    )
                    table = one.row_frame(0, kk)
                    st.dataframe(table, hide_index=True, width="stretch", key=f"row-table-{v}")
    else:
        assert isinstance(main, ImageExplainer)
        upload = st.file_uploader("An image", type=IMAGE_TYPES, key=state.EXPLAIN_UPLOAD)
        samples = {p.name: p for p in ensure_samples(resources.settings().home)}
        sample = st.selectbox("…or a shipped sample", ["", *samples], key=state.EXPLAIN_SAMPLE)
        if upload is not None:
            name, data = upload.name, upload.getvalue()
        elif sample:
            name, data = sample, samples[sample].read_bytes()
        else:
            st.caption("Upload an image or pick a sample to see which pixels drove the prediction.")
            st.stop()
        prepared = prepare(name, data, main.handle)
        if prepared.error:
            st.error(f"{name}: {prepared.error}")
            st.stop()
        picked = st.selectbox(
            "Attributions to class",
            [TOP_CLASS, *main.classes],
            key=state.scoped(state.EXPLAIN_CLASS, model.name, "image"),
        )
        columns = st.columns(len(chosen) + 1)
        columns[0].image(prepared.original, caption=f"{name} (original)", width=200)
        for col, v in zip(columns[1:], chosen, strict=True):
            explainer = explainers[v]
            assert isinstance(explainer, ImageExplainer)
            with st.spinner(f"Explaining with {label[v]}…"):
                (expl,) = explainer.explain(prepared.model_input[None])
            k = expl.top_class if picked == TOP_CLASS else expl.classes.index(picked)
            col.plotly_chart(
                saliency_figure(expl, k, title=f"{label[v]}: why {expl.classes[k]} ({expl.probabilities[k]:.1%})"),
                width="stretch",
                key=f"saliency-{v}",
            )
            col.dataframe(
                pd.DataFrame(
                    {
                        "class": expl.classes,
                        "probability": expl.probabilities,
                        "attribution sum": expl.values.sum(axis=(0, 1, 2)),
                    }
                )
                .sort_values("probability", ascending=False)
                .head(5),
                hide_index=True,
                key=f"image-table-{v}",
            )
