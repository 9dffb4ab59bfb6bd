"""ModelOps core library: registry facade, stores and (later) the prediction service.

This package never imports streamlit; the dashboard is a thin layer over it.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
