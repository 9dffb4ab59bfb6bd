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

ENV_HOME: Final = "MODELOPS_HOME"
ENV_TRACKING_URI: Final = "MLFLOW_TRACKING_URI"
ENV_DB_URL: Final = "MODELOPS_DB_URL"
ENV_API_URL: Final = "MODELOPS_API_URL"
ENV_API_TOKEN: Final = "MODELOPS_API_TOKEN"
ENV_ACTOR: Final = "MODELOPS_ACTOR"

EXPERIMENT: Final = "modelops-demo"

# Artifact paths inside a registered version's run.
TARGET: Final = "target"  # the label column of a version's reference and held-out frames
REFERENCE_DIR: Final = "reference"
INPUT_SPEC_FILE: Final = "input_spec.json"

# Tags written on model versions.
TAG_FLAVOR: Final = "modelops.flavor"
TAG_KIND: Final = "modelops.kind"
TAG_ONLINE: Final = "modelops.online"  # "true" on versions that accept partial_fit updates
TAG_ONLINE_PARENT: Final = "modelops.online.parent"
TAG_ONLINE_ROWS: Final = "modelops.online.rows"
