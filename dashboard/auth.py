"""Who may act: promote, roll back and traffic changes need a signed-in user off localhost.

Modes, in order: OIDC through ``st.login`` when ``[auth]`` is configured in secrets; a shared
password (``MODELOPS_DASHBOARD_PASSWORD`` or ``[modelops] password`` in secrets); otherwise
only a dashboard bound to loopback may act (``make run``), as the local user.
"""

from __future__ import annotations

import hmac
import os

import streamlit as st

from core.registry.types import current_actor
from dashboard import state

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _secret(section: str, key: str) -> str | None:
    try:
        return str(st.secrets[section][key])
    except (KeyError, FileNotFoundError, AttributeError):
        return None
    except Exception:  # no secrets file at all
        return None


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:
        return False


def _password() -> str | None:
    return os.environ.get("MODELOPS_DASHBOARD_PASSWORD") or _secret("modelops", "password")


def mode() -> str:
    """``oidc``, ``password`` or ``local``."""
    if _oidc_configured():
        return "oidc"
    if _password():
        return "password"
    return "local"


def current_user() -> str | None:
    """The name recorded for actions by this session, or ``None`` when it may not act."""
    current = mode()
    if current == "oidc":
        return getattr(st.user, "email", None) if getattr(st.user, "is_logged_in", False) else None
    if current == "password":
        return st.session_state.get(state.SIGNED_IN_USER)
    address = st.get_option("server.address")
    return current_actor() if address in LOOPBACK else None


def refusal() -> str:
    """Why this session may not act (shown where a mutating button would be)."""
    if mode() == "local":
        return (
            "This dashboard is reachable beyond localhost and has no sign-in configured: set "
            "MODELOPS_DASHBOARD_PASSWORD (or [auth] for OIDC) in secrets to allow changes."
        )
    return "Sign in (sidebar) to promote, roll back or change traffic."


def sidebar() -> None:
    """Sign-in / sign-out controls in the sidebar."""
    current = mode()
    with st.sidebar:
        user = current_user()
        if user:
            st.caption(f"Acting as **{user}**")
        if current == "oidc":
            if getattr(st.user, "is_logged_in", False):
                st.button("Sign out", on_click=st.logout, key="sign-out")
            else:
                st.button("Sign in", on_click=st.login, key="sign-in")
        elif current == "password":
            if user:
                if st.button("Sign out", key="sign-out"):
                    st.session_state.pop(state.SIGNED_IN_USER, None)
                    st.rerun()
                return
            with st.form("sign-in-form"):
                name = st.text_input("Name", key=state.SIGN_IN_NAME, max_chars=100)
                password = st.text_input("Password", type="password", key=state.SIGN_IN_PASSWORD)
                if st.form_submit_button("Sign in"):
                    expected = _password() or ""
                    if name.strip() and hmac.compare_digest(password.encode(), expected.encode()):
                        st.session_state[state.SIGNED_IN_USER] = name.strip()
                        st.rerun()
                    st.error("Wrong name or password.")
