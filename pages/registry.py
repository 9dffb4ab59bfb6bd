"""Registry: versions side by side, compare, promote, one-click roll back, alias history."""

import streamlit as st

from core import names
from core.edge.reports import builds_frame
from core.plots.registry import champion_timeline_figure, version_metrics_figure
from core.registry.frames import HEADLINE_METRICS, compare_defaults, history_frame, matching, run_url, versions_frame
from core.runtime.tflite import TAG_PREFIX
from dashboard import actions, auth, components, formats, resources, state, task, trust
from dashboard.reference import reference_source, reference_upload

st.title("Registry")
components.flash()

with components.errors_as_messages():
    model = components.choose_model(resources.list_models())
    name = model.name
    versions = resources.list_versions(name)
    user = auth.current_user()

    with st.container(key="alias-badges"):
        st.markdown(components.alias_badges(model.aliases))
    if model.champion is not None:
        flavor = resources.champion_flavor(model)
        kind = "image classifier" if flavor == "keras" else task.model_task(name, model.champion)
        st.caption(
            f"Task: **{kind}**, read from the champion v{model.champion}. It decides what each page shows: "
            "accuracy and class mixes, or errors and predicted values.",
            help="A scikit-learn model without predict_proba, or a python_function model that returns one number "
            "per row, is a regressor; the version tag modelops.task overrides it for python_function models.",
        )

    st.subheader("Versions")
    query = st.text_input(
        "Search versions",
        placeholder="version, alias, kind, description, tag or run id — e.g. v3, forest, champion",
        key=state.scoped(state.VERSION_SEARCH, name),
    )
    found = matching(versions, query)
    if query and not found:
        st.caption(f"No version of {name} matches {query!r}.")
    table = versions_frame(found)
    stored = trust.storage_formats(name, versions)
    table.insert(min(2, len(table.columns)), "stored as", [stored[v.version] for v in found])
    metric_format = formats.metric_columns(sorted({k for v in versions for k in v.metrics}))
    ui = resources.settings().mlflow_ui_url
    if ui:  # MODELOPS_MLFLOW_UI_URL: each run id opens the run in the MLflow UI
        table["run_id"] = [run_url(ui, v) for v in found]
        link = st.column_config.LinkColumn("run_id", display_text=r".*/([^/]+)$")
        formats.table(table, key="versions-table", columns={**metric_format, "run_id": link})
    else:
        formats.table(table, key="versions-table", columns=metric_format)
    if any(m in v.metrics for v in versions for m in HEADLINE_METRICS):
        st.plotly_chart(version_metrics_figure(versions), width="stretch")
    else:
        st.caption(f"No version logged {', '.join(HEADLINE_METRICS)}: nothing to chart.")
    components.version_editor(name, versions, user)
    adopted = {v.version: v.tags[names.TAG_ADOPTED_AS] for v in versions if names.TAG_ADOPTED_AS in v.tags}
    components.trust_panel(name, stored, user, adopted)
    if resources.champion_flavor(model) != "keras":
        with st.expander("Reference rows (Drift, Explain, the simulator)"):
            numbers_ = [v.version for v in versions]
            at = numbers_.index(model.champion) if model.champion in numbers_ else 0  # the champion first
            chosen = st.selectbox("Version", numbers_, index=at, key=state.scoped(state.REFERENCE_VERSION, name))
            st.markdown(f"v{chosen}: {reference_source(name, chosen)}")
            reference_upload(name, chosen, user, key=f"registry-reference-{name}")

    numbers = [v.version for v in versions]
    if len(numbers) >= 2:
        st.subheader("Compare two versions")
        left, right = st.columns(2)
        default_a, default_b = compare_defaults(numbers, model.champion, model.challenger)
        a = left.selectbox(
            "Version A", numbers, index=numbers.index(default_a), key=state.scoped(state.COMPARE_A, name)
        )
        b = right.selectbox(
            "Version B", numbers, index=numbers.index(default_b), key=state.scoped(state.COMPARE_B, name)
        )
        comparison = resources.compare_versions(name, a, b)
        left.markdown("**Metrics** (delta = B − A)")
        side_by_side = formats.metric_columns([str(c) for c in comparison.metrics.columns[1:3]])
        formats.table(comparison.metrics, container=left, columns=side_by_side)
        right.markdown("**Parameters that differ**")
        if comparison.params.empty:
            logged = any(v.params for v in versions if v.version in (a, b))
            right.caption("Same parameters." if logged else "Neither version logged any parameters.")
        else:
            formats.table(comparison.params, key="compare-params", container=right)

    st.subheader("Promote")
    reason_key = state.scoped(state.PROMOTE_REASON, name)
    cols = st.columns([1, 1, 2, 1], vertical_alignment="bottom")
    version = cols[0].selectbox("Version", numbers, key=state.scoped(state.PROMOTE_VERSION, name))
    alias = cols[1].selectbox("Alias", names.ALIASES, key=state.scoped(state.PROMOTE_ALIAS, name))
    reason = cols[2].text_input("Reason", key=reason_key, max_chars=500)
    if user is None:
        st.caption(auth.refusal())
    components.confirm_promotion(
        model, version, alias, user=user, reason=reason, key="promote", clear=(reason_key,), button=cols[3]
    )

    st.subheader("Roll back")
    current, previous, why_not = resources.rollback_target(name) if model.champion else (None, None, "")
    if why_not:
        current = model.champion
        st.caption(why_not)
    if current is None:
        st.caption(f"{name} has no champion.")
    elif previous is not None:
        if not st.session_state.get(state.CONFIRM_ROLLBACK):
            if st.button(f"Roll back champion: v{current} → v{previous}", key="rollback", disabled=user is None):
                st.session_state[state.CONFIRM_ROLLBACK] = True
                st.rerun()
        else:
            with st.container(border=True, key="rollback-confirm"):
                st.warning(f"Move **champion** of **{name}** from v{current} back to v{previous}?")
                why = st.text_input("Reason (optional)", key=state.ROLLBACK_REASON, max_chars=500)
                yes, no = st.columns(2)
                if yes.button("Confirm roll back", type="primary", key="rollback-confirm-button"):
                    st.session_state[state.CONFIRM_ROLLBACK] = False
                    st.session_state.pop(state.ROLLBACK_REASON, None)
                    st.session_state[state.FLASH] = actions.roll_back(name, actor=user, reason=why)
                    st.rerun()
                if no.button("Cancel", key="rollback-cancel"):
                    st.session_state[state.CONFIRM_ROLLBACK] = False
                    st.rerun()

    builds = builds_frame(versions)
    if not builds.empty:
        st.subheader("Edge builds (TFLite)")
        formats.table(builds, key="builds-table")
        labels = [f"v{v} {b}" for v, b in zip(builds["version"], builds["build"], strict=True)]
        pick, get = st.columns([3, 1], vertical_alignment="bottom")
        chosen = pick.selectbox("Build", labels, key=state.REGISTRY_BUILD)
        row = builds.iloc[labels.index(chosen)]
        tag = next(v.tags for v in versions if v.version == row["version"])[TAG_PREFIX + row["build"]]
        stored = resources.stored_report(
            resources.settings().tracking_uri, name, int(row["version"]), row["build"], tag
        )
        if stored is not None:
            get.download_button(
                "Download .tflite",
                stored[1],
                file_name=f"{name}-v{row['version']}-{row['build']}.tflite",
                mime="application/octet-stream",
                key="registry-download-build",
            )
        st.caption("Export and compare builds on the Edge export page.")

    st.subheader("Serving")
    status = resources.service_status()
    components.served_arms(name, status)
    components.traffic_controls(name, status)

    st.subheader("Alias history")
    moves = resources.list_history(name)
    if moves:
        st.plotly_chart(champion_timeline_figure(moves), width="stretch")
    # 820 px of table at 1280: the model is the one chosen above and "from → to" is one column, so the
    # reason (last, wrapped onto four lines when long) keeps about 360 px of it
    history = history_frame(moves)
    history.insert(3, "move", history.pop("from") + " → " + history.pop("to"))
    formats.table(
        history.drop(columns=["model"]),
        key="alias-history",
        columns={
            "when": st.column_config.DatetimeColumn("when (UTC)", format="YYYY-MM-DD HH:mm", width=135),
            "alias": st.column_config.TextColumn(width=90),
            "move": st.column_config.TextColumn(width=75),
            "action": st.column_config.TextColumn(width=75),
            "who": st.column_config.TextColumn(width=70),
            "reason": st.column_config.TextColumn(width=360),
        },
    )
