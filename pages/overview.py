"""Overview: every registered model with its champion and challenger, and the latest alias moves."""

import streamlit as st

from core import names
from core.registry.frames import HEADLINE_METRICS, history_frame
from dashboard import components, formats, resources

st.title("Overview")

with st.container(key="service-status"):
    st.subheader("Prediction service")
    components.service_panel(resources.service_status())

with components.errors_as_messages():
    models = resources.list_models()
    if not models:
        components.empty_registry_notice()
        st.stop()
    for model in models:
        versions = {v.version: v for v in resources.list_versions(model.name)}
        with st.container(border=True, key=f"overview-{model.name}"):
            st.subheader(model.name)
            st.markdown(components.alias_badges(model.aliases))
            cols = st.columns(2)
            for col, alias in zip(cols, names.ALIASES, strict=True):
                version = versions.get(model.aliases.get(alias, -1))
                with col:
                    if version is None:
                        st.caption(f"no {alias}")
                        continue
                    about = version.description or version.tags.get(names.TAG_KIND, "")
                    st.markdown(f"**{alias}: v{version.version}**" + (f" — {about}" if about else ""))
                    shown = [m for m in HEADLINE_METRICS if m in version.metrics]
                    if not shown:
                        st.caption(f"no {', '.join(HEADLINE_METRICS)} logged with this version's run")
                    for metric_col, metric in zip(st.columns(max(len(shown), 1)), shown, strict=False):
                        metric_col.metric(metric, f"{version.metrics[metric]:.3f}")
            count = model.version_count
            st.caption(f"{count} version{'s' if count != 1 else ''} · latest v{model.latest_version}")

    st.subheader("Latest alias moves")
    formats.table(history_frame(resources.list_history(limit=10)), key="overview-history")
