"""Names users and scripts rely on: model names, aliases, environment variables.

One source of truth; everything else imports from here.
"""

from typing import Final

CHAMPION: Final = "champion"
CHALLENGER: Final = "challenger"
ALIASES: Final = (CHAMPION, CHALLENGER)

BREAST_CANCER: Final = "breast-cancer"
DIGITS: Final = "digits"
BREAST_CANCER_ONLINE: Final = "breast-cancer-online"
DEMO_MODELS: Final = (BREAST_CANCER, DIGITS, BREAST_CANCER_ONLINE)
# Demo models of the kinds MLflow users' registries hold (core.demo.kinds).
CHURN: Final = "churn"  # pipeline with string columns, string labels
DIABETES: Final = "diabetes-progression"  # regressor with a categorical column
CHURN_RULES: Final = "churn-rules"  # python_function model
KINDS_DEMO_MODELS: Final = (CHURN, DIABETES, CHURN_RULES)
ALL_DEMO_MODELS: Final = DEMO_MODELS + KINDS_DEMO_MODELS

ENV_HOME: Final = "MODELOPS_HOME"
ENV_TRACKING_URI: Final = "MLFLOW_TRACKING_URI"
ENV_DB_URL: Final = "MODELOPS_DB_URL"
ENV_API_URL: Final = "MODELOPS_API_URL"
ENV_API_TOKEN: Final = "MODELOPS_API_TOKEN"
ENV_ACTOR: Final = "MODELOPS_ACTOR"
ENV_MLFLOW_UI_URL: Final = "MODELOPS_MLFLOW_UI_URL"  # links from the dashboard to runs in the MLflow UI
ENV_TRUSTED_MODELS: Final = "MODELOPS_TRUSTED_MODELS"  # names (comma-separated) or * whose pickle versions may load

# The prediction service's tuning knobs (core.serving.config.ServiceConfig reads them).
ENV_POLL_INTERVAL_S: Final = "MODELOPS_POLL_INTERVAL_S"
ENV_MAX_BATCH_ROWS: Final = "MODELOPS_MAX_BATCH_ROWS"
ENV_MAX_WAIT_MS: Final = "MODELOPS_MAX_WAIT_MS"
ENV_MAX_ROWS: Final = "MODELOPS_MAX_ROWS"
ENV_MAX_BODY_BYTES: Final = "MODELOPS_MAX_BODY_BYTES"
ENV_MAX_IMAGE_BYTES: Final = "MODELOPS_MAX_IMAGE_BYTES"
ENV_MAX_IMAGE_PIXELS: Final = "MODELOPS_MAX_IMAGE_PIXELS"
ENV_MAX_EXPLAIN_ROWS: Final = "MODELOPS_MAX_EXPLAIN_ROWS"
ENV_MAX_LOADED_VERSIONS: Final = "MODELOPS_MAX_LOADED_VERSIONS"
ENV_LOG_BATCH_MAX: Final = "MODELOPS_LOG_BATCH_MAX"
ENV_DRIFT_INTERVAL_S: Final = "MODELOPS_DRIFT_INTERVAL_S"
ENV_DRIFT_WINDOW: Final = "MODELOPS_DRIFT_WINDOW"
ENV_TFLITE_MODELS: Final = "MODELOPS_TFLITE_MODELS"
ENV_ONLINE_EVAL_EVERY: Final = "MODELOPS_ONLINE_EVAL_EVERY"
ENV_ONLINE_MARGIN_POINTS: Final = "MODELOPS_ONLINE_MARGIN_POINTS"
ENV_ONLINE_REGISTER: Final = "MODELOPS_ONLINE_REGISTER"
ENV_ONLINE_PROMOTE: Final = "MODELOPS_ONLINE_PROMOTE"
ENV_AUTO_ROLLBACK: Final = "MODELOPS_AUTO_ROLLBACK"
ENV_ROLLBACK_MIN_LABELS: Final = "MODELOPS_ROLLBACK_MIN_LABELS"
ENV_ROLLBACK_THRESHOLD_POINTS: Final = "MODELOPS_ROLLBACK_THRESHOLD_POINTS"
ENV_ROLLBACK_INTERVAL_S: Final = "MODELOPS_ROLLBACK_INTERVAL_S"
ENV_GIL_SWITCH_S: Final = "MODELOPS_GIL_SWITCH_S"
# ONNX Runtime serving of scikit-learn versions (core.runtime.onnx).
ENV_ONNX: Final = "MODELOPS_ONNX"
ENV_ONNX_MIN_LABEL_AGREEMENT: Final = "MODELOPS_ONNX_MIN_LABEL_AGREEMENT"
ENV_ONNX_MAX_PROBA_DIFF: Final = "MODELOPS_ONNX_MAX_PROBA_DIFF"

EXPERIMENT: Final = "modelops-demo"

# Artifact paths inside a registered version's run.
TARGET: Final = "target"  # the label column of a version's reference and held-out frames
REFERENCE_DIR: Final = "reference"
INPUT_SPEC_FILE: Final = "input_spec.json"
OOD_REFERENCE_FILE: Final = "ood_reference.npz"  # image models: training features for the OOD check

# Tags written on model versions.
TAG_FLAVOR: Final = "modelops.flavor"
TAG_KIND: Final = "modelops.kind"
TAG_CLASS_NAMES: Final = "modelops.class_names"  # JSON object: class (as text) -> display name
TAG_ADOPTED_FROM: Final = "modelops.adopted_from"  # "v<N>": the pickled version this skops one replaces
TAG_ADOPTED_AS: Final = "modelops.adopted_as"  # "<N>": the skops version a pickled one was adopted as
TAG_INPUT_SPEC: Final = "modelops.input_spec"  # when and by whom a version's input spec was last saved
TAG_TASK: Final = "modelops.task"  # "classification" or "regression": overrides detection (python_function models)
TAG_CLASSES: Final = "modelops.classes"  # JSON list: every class of a python_function model that returns labels
TAG_ONLINE: Final = "modelops.online"  # "true" on versions that accept partial_fit updates
TAG_ONLINE_PARENT: Final = "modelops.online.parent"
TAG_ONLINE_ROWS: Final = "modelops.online.rows"
