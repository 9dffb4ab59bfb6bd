"""Widgets shared by several pages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from core import names
from core.errors import ModelOpsError
from core.registry import ModelSummary
from dashboard import state

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


def model_picker(models: list[ModelSummary]) -> str:
    """A select box of model names; the choice is kept across pages."""
    options = [m.name for m in models]
    current = st.session_state.get(state.SELECTED_MODEL)
    if current not in options:
        st.session_state[state.SELECTED_MODEL] = options[0]
    return st.selectbox("Model", options, key=state.SELECTED_MODEL)


def flash() -> None:
    """Show (once) the message a previous run left before ``st.rerun``."""
    message = st.session_state.pop(state.FLASH, None)
    if message:
        st.success(message)


def empty_registry_notice() -> None:
    """What to do when the registry has no models."""
    st.info(
        "The registry has no models yet. Seed the demo with `python -m core demo` "
        "(or `make run`), or register your own with MLflow."
    )
