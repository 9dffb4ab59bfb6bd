"""Online learning: the candidate against the champion, gate decisions over time, evaluate/register/promote."""

import pandas as pd
import streamlit as st

from core import names
from core.errors import ServiceUnreachableError
from core.plots.lifecycle import online_updates_figure
from dashboard import actions, auth, components, formats, resources, state, task

st.title("Online learning")
components.flash()

with components.errors_as_messages():
    online_models = resources.list_online_models()
    if not online_models:
        st.info(
            "No model accepts online updates. Seed the demo (`python -m core demo`) for "
            f"`{names.BREAST_CANCER_ONLINE}`, or tag a version whose model supports `partial_fit` with "
            f"`{names.TAG_ONLINE}=true`."
        )
        st.stop()
    name = st.selectbox("Model", [m.name for m in online_models], key=state.ONLINE_MODEL)
    model = next(m for m in online_models if m.name == name)
    regression = task.model_task(name, model.champion) == "regression"
    metric = "MAE" if regression else "accuracy"  # a regressor is judged by its held-out MAE (lower is better)
    user = auth.current_user()
    client = resources.service_client()

    st.subheader("Candidate")
    try:
        live = client.online_state(name)
    except ServiceUnreachableError as exc:
        live = None
        st.warning(f"The candidate lives in the prediction service, which did not answer: {exc}")
    if live is not None:
        last = live.last_update
        cols = st.columns(4)
        cols[0].metric("Parent version", f"v{live.parent_version}")
        cols[1].metric("Rows since parent", f"{live.rows_since_parent:,}")
        cols[2].metric("Batches received", f"{live.batches:,}", help="since the service started, across discards")
        if last is not None:
            if last.metric == "mae":
                change = 100 * (last.candidate_accuracy - last.champion_accuracy) / (last.champion_accuracy or 1)
                cols[3].metric(
                    f"Candidate MAE vs v{last.champion_version}",
                    f"{last.candidate_accuracy:.4g}",
                    f"{change:+.2f}%",
                    delta_color="inverse",
                )
            else:
                cols[3].metric(
                    f"Candidate vs v{last.champion_version}",
                    f"{last.candidate_accuracy:.4f}",
                    f"{100 * (last.candidate_accuracy - last.champion_accuracy):+.2f} points",
                )
            # The one place a decision is shown (the buttons below leave no message that would repeat it);
            # only a passed gate is green.
            passed = last.accepted and last.event != "rejected"
            made = f" → v{last.new_version}" if last.new_version else ""
            (st.success if passed else st.error)(f"Last decision ({last.event}{made}): {last.reason}")
            if model.champion is not None and last.champion_version != model.champion:
                st.caption(
                    f"That decision compared the candidate with v{last.champion_version}; the champion is now "
                    f"v{model.champion}. Evaluate again to judge it against v{model.champion}."
                )
        every = live.eval_every
        st.caption(
            (f"Judged every {every} rows" if every else "Judged on demand")
            + (
                f"; passes when its MAE is at most {live.margin_points:g}% above the champion's on held-out data; "
                if regression
                else f"; passes when at most {live.margin_points:g} points below the champion on held-out data; "
            )
            + ("registers" if live.auto_register else "does not register")
            + (" and promotes" if live.auto_promote else "")
            + " automatically."
        )
        if user is None:
            st.caption(auth.refusal())
        a, b, c, d = st.columns(4)
        # The decision shows up as "Last decision" above after the rerun: no flash message repeating it.
        if a.button("Evaluate", key="online-evaluate", disabled=user is None, help="judge without registering"):
            client.online_evaluate(name, register=False)
            resources.online_changed()
            st.rerun()
        if b.button("Evaluate and register", key="online-register", disabled=user is None):
            client.online_evaluate(name, register=True)
            resources.registry_changed()
            resources.online_changed()
            st.rerun()
        online_versions = [
            v.version
            for v in resources.list_versions(name)
            # only versions newer than the champion: after promoting v4, "Promote v3" would go backwards
            if names.TAG_ONLINE_PARENT in v.tags and v.version > (model.champion or 0)
        ]
        newest = max(online_versions, default=None)
        if newest is None:
            c.button("Promote", key="online-promote", disabled=True, help="no online version newer than the champion")
        else:
            components.confirm_promotion(
                model,
                newest,
                names.CHAMPION,
                user=user,
                reason="promoted from the Online learning page",
                key="online-promote",
                button=c,
                label=f"Promote v{newest}",
                after=lambda: actions.record_online_promotion(name, model.champion, newest, actor=user or ""),
            )
        discard = components.confirm(
            "online-reset",
            "Discard candidate",
            f"Throw away the {live.rows_since_parent:,} rows learnt since v{live.parent_version} and restart the "
            "candidate from the champion? Registered versions are kept.",
            disabled=user is None,
            button=d,
        )
        if discard:
            reset = client.online_reset(name)
            components.leave_message(f"Candidate restarted from v{reset.parent_version}.")
            resources.online_changed()
            st.rerun()

    st.subheader("Gate decisions over time")
    updates = resources.online_updates(name)
    if updates.empty:
        st.caption(
            f"No decisions yet. Send labelled rows: `POST /v1/models/{name}/train` with "
            '`{"dataframe_records": [...], "labels": [...]}` and the bearer token.'
        )
    else:
        st.plotly_chart(online_updates_figure(updates, metric), width="stretch", key="online-chart")
        # what happened and why first: the table is wider than a laptop screen
        first = ["at", "event", "new_version", "reason", "candidate_accuracy", "champion_accuracy"]
        ordered = [c for c in first if c in updates.columns] + [c for c in updates.columns if c not in first]
        formats.table(updates.iloc[::-1][ordered], key="online-table")

    st.subheader("Lineage")
    rows = [
        {
            "version": v.version,
            "parent": v.tags.get(names.TAG_ONLINE_PARENT, ""),
            "rows": v.tags.get(names.TAG_ONLINE_ROWS, ""),
            "accuracy": v.metrics.get("accuracy"),
            "aliases": ", ".join(v.aliases),
        }
        for v in resources.list_versions(name)
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="lineage-table")
