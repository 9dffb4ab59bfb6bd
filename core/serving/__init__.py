"""The prediction service: thin FastAPI routes over the same core functions the pages use."""

import os

# Artifact downloads happen on every version load; their progress bars only clutter logs.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
