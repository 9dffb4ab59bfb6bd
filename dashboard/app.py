"""Dashboard entry point: ``streamlit run dashboard/app.py``.

Declares the pages with ``st.navigation``; each page is a thin script in ``pages/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts only dashboard/ on sys.path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import auth  # noqa: E402

PAGES = ROOT / "pages"


def main() -> None:
    """Configure the app and run the selected page."""
    st.set_page_config(page_title="ModelOps", page_icon=":material/model_training:", layout="wide")
    navigation = st.navigation(
        [
            st.Page(PAGES / "overview.py", title="Overview", icon=":material/dashboard:", default=True),
            st.Page(PAGES / "registry.py", title="Registry", icon=":material/inventory_2:", url_path="registry"),
            st.Page(PAGES / "evaluation.py", title="Evaluation", icon=":material/fact_check:", url_path="evaluation"),
            st.Page(PAGES / "classify.py", title="Classify", icon=":material/image_search:", url_path="classify"),
            st.Page(PAGES / "explain.py", title="Explain", icon=":material/lightbulb:", url_path="explain"),
            st.Page(PAGES / "export.py", title="Edge export", icon=":material/memory:", url_path="export"),
            st.Page(PAGES / "online.py", title="Online learning", icon=":material/school:", url_path="online"),
            st.Page(PAGES / "ab_testing.py", title="A/B testing", icon=":material/science:", url_path="ab"),
            st.Page(PAGES / "drift.py", title="Drift", icon=":material/query_stats:", url_path="drift"),
            st.Page(
                PAGES / "image_drift.py", title="Image drift", icon=":material/photo_filter:", url_path="image-drift"
            ),
            st.Page(PAGES / "monitoring.py", title="Monitoring", icon=":material/monitoring:", url_path="monitoring"),
        ]
    )
    auth.sidebar()
    navigation.run()


main()
