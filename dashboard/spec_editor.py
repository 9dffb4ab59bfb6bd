"""The input spec of a Keras version: shown, and (signed in) edited and saved as the version's own."""

from __future__ import annotations

import streamlit as st

from core.errors import ModelOpsError, ServiceUnreachableError
from core.flavors.keras_model import InputSpec
from core.registry.keras import save_input_spec
from core.registry.reference import stored_input_spec
from dashboard import resources, state
from dashboard.components import leave_message


@st.cache_data(ttl=30, show_spinner=False, max_entries=64)
def _stored(tracking_uri: str, model: str, version: int) -> InputSpec | None:
    return stored_input_spec(tracking_uri, model, version)


def spec_editor(model: str, version: int, user: str | None) -> None:
    """An expander with the version's input spec; open when the spec was only inferred from the model."""
    uri = resources.settings().tracking_uri
    handle = resources.model_handle(uri, model, version)
    spec = handle.input_spec
    if spec is None:
        return
    stored = _stored(uri, model, version)
    source = "stored with the version" if stored is not None else "inferred from the model's input shape"
    with st.expander(f"Input spec of v{version} ({source})", expanded=stored is None):
        if stored is None:
            st.warning(
                f"v{version} was logged without ModelOps' input_spec.json, so its spec is guessed: size and channels "
                "from the model, pixels divided by 255, no inversion, classes named by output index. Check it and "
                "save it as this version's spec."
            )
        st.caption(f"Size {spec.height}×{spec.width}, {spec.channels} channel(s): fixed by the model.")
        key = state.scoped(state.SPEC_EDIT, model, version)
        c = st.columns(4)
        scale = c[0].number_input("Divide pixels by", min_value=0.001, value=float(spec.scale), key=f"{key}-scale")
        invert = c[1].checkbox(
            "Invert", value=spec.invert, key=f"{key}-invert", help="Dark ink on light paper becomes light on dark."
        )
        center = c[2].checkbox("Centre by bounding box", value=spec.center, key=f"{key}-center")
        normalize = c[3].checkbox(
            "Digit normalisation",
            value=spec.normalize,
            key=f"{key}-normalize",
            help="Lighting and paper removed, polarity detected from the picture, ink cropped and centred.",
        )
        fill = st.slider("Ink fills (digit normalisation)", 0.3, 1.0, float(spec.fill), 0.05, key=f"{key}-fill")
        names = st.text_area(
            f"Class names, one per line ({len(handle.classes)} outputs)",
            value="\n".join(spec.class_names),
            key=f"{key}-classes",
            height=160,
        )
        if user is None:
            st.caption("Sign in (sidebar) to save the spec.")
        if st.button("Save as this version's spec", key=f"{key}-save", disabled=user is None):
            edited = InputSpec(
                height=spec.height,
                width=spec.width,
                channels=spec.channels,
                scale=float(scale),
                invert=bool(invert),
                center=bool(center),
                class_names=[line for line in names.splitlines() if line.strip()],
                normalize=bool(normalize),
                fill=float(fill),
            )
            try:
                done = save_input_spec(
                    resources.registry(),
                    model,
                    version,
                    edited,
                    user or "",
                    input_shape=(spec.height, spec.width, spec.channels),
                    units=len(handle.classes),
                )
            except ModelOpsError as exc:
                st.error(str(exc))
                return
            _stored.clear()
            resources.handles_changed()
            resources.registry_changed()
            try:
                resources.service_client().reload()
                done += "; the prediction service reloaded it"
            except ServiceUnreachableError as exc:
                done += f"; the prediction service was not reloaded ({exc})"
            finally:
                resources.service_changed()
            leave_message(done)
            st.rerun()
