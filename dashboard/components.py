"""Widgets shared by several pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core import names
from core.api.client import ServiceStatus
from core.api.schemas import ArmInfo
from core.errors import ModelOpsError, ServiceUnreachableError
from core.registry.frames import metric_regressions
from core.registry.types import ModelSummary, VersionInfo
from core.runtime.tabular import INTEGER_TYPES, NUMERIC_TYPES, Column
from dashboard import actions, auth, formats, resources, state, trust

ALIAS_COLORS = {names.CHAMPION: "green", names.CHALLENGER: "orange"}


@contextmanager
def errors_as_messages() -> Iterator[None]:
    """Show a :class:`ModelOpsError` as ``st.error`` and stop the page, never a traceback."""
    try:
        yield
    except ModelOpsError as exc:
        st.error(str(exc))
        st.stop()


def alias_badges(aliases: dict[str, int]) -> str:
    """Markdown with one coloured badge per alias, e.g. ``champion v3``."""
    if not aliases:
        return ":gray-badge[no aliases]"
    return " ".join(
        f":{ALIAS_COLORS.get(alias, 'blue')}-badge[{alias} v{version}]" for alias, version in sorted(aliases.items())
    )


def choose_model(models: list[ModelSummary]) -> ModelSummary:
    """The model picked in a select box; explains an empty registry and stops the page."""
    if not models:
        empty_registry_notice()
        st.stop()
    name = model_picker(models)
    return next(m for m in models if m.name == name)


def version_picker(model: ModelSummary, versions: list[int], label: str, key: str) -> int:
    """A version select box labelled with aliases, defaulting to the champion."""
    index = versions.index(model.champion) if model.champion in versions else 0
    return st.selectbox(label, versions, index=index, format_func=lambda v: version_label(v, model.aliases), key=key)


def model_picker(models: list[ModelSummary]) -> str:
    """A select box of model names; the choice is kept across pages."""
    options = [m.name for m in models]
    current = st.session_state.get(state.SELECTED_MODEL)
    if current not in options:
        st.session_state[state.SELECTED_MODEL] = options[0]
    return st.selectbox("Model", options, key=state.SELECTED_MODEL)


def flash() -> None:
    """Show (once) the message a previous run left before ``st.rerun`` (see :func:`leave_message`).

    Also empties the text fields a previous run asked to clear: a widget's value can only be reset
    before the widget is drawn, so the clearing waits for this run's start.
    """
    for key in st.session_state.pop(state.CLEAR_FIELDS, ()):
        st.session_state[key] = ""
    message = st.session_state.pop(state.FLASH, None)
    if not message:
        return
    kind, text = message if isinstance(message, tuple) else ("success", message)
    {"success": st.success, "warning": st.warning, "error": st.error}.get(kind, st.info)(text)


def leave_message(text: str, kind: str = "success") -> None:
    """Show ``text`` after the next ``st.rerun``: ``success`` (green), ``warning``, ``error`` or ``info``."""
    st.session_state[state.FLASH] = (kind, text)


def confirm(key: str, label: str, question: str, *, disabled: bool = False, button: Any = None) -> bool:
    """A button that asks ``question`` before acting; True on the run where the user confirms.

    ``key`` names the buttons (``{key}``, ``{key}-confirm-button``, ``{key}-cancel``) and the
    pending state; ``button`` is the container to draw the first button in.
    """
    pending_key = state.scoped(state.CONFIRM_ACTION, key)
    if not st.session_state.get(pending_key):
        if (button or st).button(label, key=key, disabled=disabled):
            st.session_state[pending_key] = True
            st.rerun()
        return False
    with st.container(border=True, key=f"{key}-confirm"):
        st.markdown(question)
        yes, no = st.columns(2)
        if yes.button(f"Confirm: {label.lower()}", type="primary", key=f"{key}-confirm-button"):
            st.session_state.pop(pending_key, None)
            return True
        if no.button("Cancel", key=f"{key}-cancel"):
            st.session_state.pop(pending_key, None)
            st.rerun()
    return False


def empty_registry_notice() -> None:
    """What to do when the registry has no models."""
    st.info(
        "The registry has no models yet. Seed the demo with `python -m core demo` "
        "(or `make run`), or register your own with MLflow."
    )


def service_panel(status: ServiceStatus) -> None:
    """Health of the prediction service and what each model's arms serve."""
    if not status.alive:
        st.warning(
            f"The prediction service at {status.url} is not reachable. Start it with "
            "`python -m core serve` (or `make run`)."
        )
        return
    st.markdown(
        f"Prediction service at `{status.url}`: :green-badge[alive] "
        + (":green-badge[ready]" if status.ready else ":orange-badge[not ready]")
    )
    rows = [
        {
            "model": name,
            "state": model.state,
            "champion": _arm_text(model.arms.get(names.CHAMPION)),
            "challenger": _arm_text(model.arms.get(names.CHALLENGER)),
            "challenger share": model.traffic.challenger_share,
            "shadow": model.traffic.shadow,
            "last error": model.last_error or "",
        }
        for name, model in sorted(status.models.items())
    ]
    formats.table(pd.DataFrame(rows), key="service-models")


def served_arms(model: str, status: ServiceStatus) -> None:
    """What the service runs for each arm of ``model`` and why (runtime and its reason)."""
    served = status.models.get(model) if status.alive else None
    if served is None or not served.arms:
        st.caption("The prediction service is not serving this model right now.")
        return
    formats.table(
        pd.DataFrame(
            [
                {"arm": alias, "version": f"v{arm.version}", "runtime": arm.runtime, "why": arm.runtime_reason}
                for alias, arm in sorted(served.arms.items())
            ]
        ),
        key=f"served-arms-{model}",
    )


def _arm_text(arm: ArmInfo | None) -> str:
    return f"v{arm.version} ({arm.runtime})" if arm else "—"


def traffic_controls(model: str, status: ServiceStatus) -> None:
    """Challenger share slider and shadow toggle, saved through the service's traffic route."""
    if not status.alive:
        st.caption("Traffic can be set once the prediction service is running.")
        return
    served = status.models.get(model)
    if served is None:
        st.caption(f"The service does not serve {model} (yet).")
        return
    traffic = served.traffic
    if names.CHALLENGER not in served.registry_aliases:
        if not traffic.challenger_share and not traffic.shadow:  # else: offer to set a stale split back to 0
            st.caption(f"{model} has no challenger: all traffic goes to the champion.")
            return
    elif names.CHALLENGER not in served.arms:
        why = f" It failed to load: {served.last_error}" if served.last_error else ""
        st.caption(f"{model}'s challenger is not loaded: all traffic goes to the champion.{why}")
    cols = st.columns([3, 1, 1], vertical_alignment="bottom")
    share = cols[0].slider(
        "Challenger share of traffic (%)",
        0,
        100,
        round(100 * traffic.challenger_share),
        key=f"{state.TRAFFIC_SHARE}-{model}",
    )
    shadow = cols[1].toggle(
        "Shadow",
        value=traffic.shadow,
        key=f"{state.TRAFFIC_SHADOW}-{model}",
        help="The champion answers everything; the challenger gets a logged copy.",
    )
    allowed = auth.current_user() is not None
    if cols[2].button(
        "Save traffic", key=f"save-traffic-{model}", disabled=not allowed, help=None if allowed else auth.refusal()
    ):
        try:
            resources.service_client().set_traffic(model, share / 100.0, shadow)
        except ServiceUnreachableError as exc:
            st.error(str(exc))
            return
        resources.service_changed()
        st.session_state[state.FLASH] = f"{model}: challenger {share}%" + (", shadow on" if shadow else "")
        st.rerun()


def version_label(version: int, aliases: dict[str, int]) -> str:
    """``v3 (champion)`` style label for a version select box."""
    held = [alias for alias, v in sorted(aliases.items()) if v == version]
    return f"v{version}" + (f" ({', '.join(held)})" if held else "")


def input_preview(model_input, size: int = 168):  # np.ndarray -> PIL.Image.Image
    """The exact model input as a picture, enlarged without smoothing so its pixels show."""
    import numpy as np
    from PIL import Image

    arr = np.asarray(model_input, dtype="float64")
    lo, hi = float(arr.min()), float(arr.max())
    scaled = ((arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)).astype("uint8")
    image = Image.fromarray(scaled[..., 0] if scaled.shape[-1] == 1 else scaled)
    return image.resize((size, round(size * image.height / image.width)), Image.Resampling.NEAREST)


def confirm_promotion(
    model: ModelSummary,
    version: int,
    alias: str,
    *,
    user: str | None,
    reason: str,
    key: str,
    warnings: tuple[str, ...] = (),
    clear: tuple[str, ...] = (),
    button: Any = None,
    label: str = "Promote",
    after: Callable[[], None] | None = None,
) -> None:
    """A Promote button that asks first: what moves, and a warning when ``version`` is worse on held-out data.

    ``key`` prefixes the buttons' keys (``{key}``, ``{key}-confirm-button``, ``{key}-cancel``);
    ``warnings`` are shown beside the held-out comparison; ``clear`` names widget keys reset after the
    move (the reason field). ``button`` is the container to draw the first button in; ``after``
    runs once the move is made.
    """
    pending_key = state.scoped(state.CONFIRM_PROMOTE, model.name, key)
    if st.session_state.get(pending_key) != (version, alias):
        if (button or st).button(label, type="primary", key=key, disabled=user is None):
            st.session_state[pending_key] = (version, alias)
            st.rerun()
        return
    versions = {v.version: v for v in resources.list_versions(model.name)}
    holder = model.aliases.get(alias)
    worse = metric_regressions(versions[version], versions.get(holder)) if holder in versions else []
    with st.container(border=True, key=f"{key}-confirm"):
        before = f"v{holder}" if holder is not None else "no version"
        st.markdown(f"Move **{alias}** of **{model.name}** from {before} to **v{version}**?")
        if holder == version:
            st.info(f"v{version} already is the {alias}; promoting it again only records the move.")
        if worse:
            st.warning(f"v{version} is worse on held-out data than the current {alias}: " + "; ".join(worse))
        for text in warnings:
            st.warning(text)
        yes, no = st.columns(2)
        if yes.button(f"Confirm: promote v{version}", type="primary", key=f"{key}-confirm-button"):
            assert user is not None
            st.session_state.pop(pending_key, None)
            st.session_state[state.CLEAR_FIELDS] = tuple(clear)  # the next move starts afresh (an empty reason)
            st.session_state[state.FLASH] = actions.promote(model.name, version, alias, actor=user, reason=reason)
            if after is not None:
                after()
            st.rerun()
        if no.button("Cancel", key=f"{key}-cancel"):
            st.session_state.pop(pending_key, None)
            st.rerun()


def version_editor(model: str, versions: list[VersionInfo], user: str | None) -> None:
    """Edit one version's description and one tag at a time (signed-in users; every change recorded)."""
    with st.expander("Edit a version's description and tags"):
        if user is None:
            st.caption("Sign in (sidebar) to edit descriptions and tags.")
        numbers = [v.version for v in versions]
        version = st.selectbox("Version", numbers, key=state.scoped(state.EDIT_VERSION, model))
        info = next(v for v in versions if v.version == version)
        description = st.text_area(
            "Description",
            value=info.description,
            max_chars=5000,
            key=state.scoped(state.EDIT_DESCRIPTION, model, version),
        )
        key_col, value_col = st.columns(2)
        tag_key = key_col.text_input("Tag", key=state.scoped(state.EDIT_TAG_KEY, model), placeholder="e.g. owner")
        tag_value = value_col.text_input(
            "Value (empty deletes the tag)", key=state.scoped(state.EDIT_TAG_VALUE, model), max_chars=5000
        )
        if st.button("Save", key=f"save-edit-{model}", disabled=user is None):
            tags = {tag_key: tag_value or None} if tag_key.strip() else {}
            changed = actions.edit_version(model, version, actor=user or "", description=description, tags=tags)
            leave_message(f"v{version}: {', '.join(changed)} saved." if changed else f"v{version}: nothing changed.")
            st.session_state[state.CLEAR_FIELDS] = (
                state.scoped(state.EDIT_TAG_KEY, model),
                state.scoped(state.EDIT_TAG_VALUE, model),
            )
            st.rerun()
        edits = resources.version_edits(model)
        if edits.empty:
            st.caption("No edits recorded yet.")
        else:
            formats.table(edits, key=f"edits-{model}")


def trust_panel(model: str, flavors: dict[int, str], user: str | None, adopted: dict[int, str] | None = None) -> None:
    """Trust for versions that run code (pickled, python_function): who decided, the decisions, the switch."""
    decision = resources.model_trust(model)
    adopted = adopted or {}
    pickled = sorted(v for v, fmt in flavors.items() if fmt in ("cloudpickle", "pickle"))
    pyfunc = sorted(v for v, fmt in flavors.items() if fmt == "python_function")
    title = "Trust: pickled and python_function versions " + ("may load" if decision.trusted else "do not load")
    with st.expander(title, expanded=bool(pickled or pyfunc) and not decision.trusted):
        for found, how in ((pickled, "stored with pickle"), (pyfunc, "python_function models (their own Python code)")):
            if found:
                listed = ", ".join(f"v{v}" for v in found)
                st.markdown(
                    f"{listed} {'is' if len(found) == 1 else 'are'} {how}. Loading runs code from the artifact, so "
                    "ModelOps loads these only for a model an operator trusts."
                )
        st.caption(f"{'Trusted' if decision.trusted else 'Not trusted'}: {decision.why}.")
        if user is None:
            st.caption("Sign in (sidebar) to trust this model or withdraw trust.")
        reason = st.text_input("Reason (recorded)", key=state.scoped(state.TRUST_REASON, model), max_chars=500)
        label = "Withdraw trust" if decision.trusted else "Trust this model"
        if st.button(label, key=f"trust-{model}", disabled=user is None):
            leave_message(actions.set_trust(model, not decision.trusted, actor=user or "", reason=reason))
            st.session_state[state.CLEAR_FIELDS] = (state.scoped(state.TRUST_REASON, model),)
            st.rerun()
        adoptable = [v for v in pickled if v not in adopted]
        if decision.trusted and adoptable:
            st.markdown("**Adopt**: re-register a pickled version in skops (and ONNX), checked to answer the same.")
            picked = st.selectbox("Pickled version", adoptable, format_func=lambda v: f"v{v}", key=f"adopt-v-{model}")
            if st.button("Adopt as skops", key=f"adopt-{model}", disabled=user is None):
                with st.spinner(f"Adopting v{picked}: loading, re-logging, verifying…"):
                    leave_message(actions.adopt(model, int(picked), actor=user or ""))
                st.rerun()
        history = trust.trust_decisions(model)
        if not history.empty:
            formats.table(history, key=f"trust-history-{model}")


def whatif_input(container: Any, column: Column, seen: pd.Series, value: Any, key: str) -> Any:
    """One what-if field for ``column``: a bounded number, a category, a true/false choice or a date-time text."""
    if column.type in NUMERIC_TYPES:
        lo, hi = float(seen.min()), float(seen.max())
        integer = column.type in INTEGER_TYPES
        step = 1.0 if integer else ((hi - lo) / 100 or 0.01)
        picked = container.number_input(
            column.name,
            min_value=lo,
            max_value=hi,
            value=float(np.clip(float(value), lo, hi)),
            step=step,
            format="%.0f" if integer else "%.4g",
            key=key,
        )
        return int(picked) if integer else picked
    if column.type == "boolean":
        return container.selectbox(column.name, [False, True], index=int(bool(value)), key=key)
    if column.type == "datetime":
        return container.text_input(column.name, value=str(value), key=key)
    options = list(column.categories) if column.categories else sorted(seen.dropna().unique().tolist(), key=str)
    if value not in options:
        options.append(value)
    return container.selectbox(column.name, options, index=options.index(value), key=key)
