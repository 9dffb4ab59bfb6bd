"""Streamlit shell: the entry script, shared widgets, caching and session-state keys."""
