"""ModelOps core library: registry facade, stores and (later) the prediction service.

This package never imports streamlit; the dashboard is a thin layer over it.
"""

import os

__all__ = ["__version__"]

# An unreachable tracking server should fail in seconds, not after MLflow's default minutes
# of retries; artifact downloads happen on every version load and their progress bars only
# clutter logs. Users can still override all three in the environment.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

__version__ = "0.1.0"
