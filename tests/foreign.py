"""A registry written by plain MLflow code, the way MLflow users' registries are: no ModelOps call.

``churn``: a ``Pipeline(ColumnTransformer(OneHotEncoder, StandardScaler), LogisticRegression)`` on
string, integer, float and boolean columns with string labels, logged in MLflow's default (skops)
format, with a signature, an input example and its training table logged with ``mlflow.log_input``;
v2 is the same pipeline stored with cloudpickle (the older format), without a signature.
The encoder refuses unknown categories.

``diabetes-progression``: a regressor, ``Pipeline(ColumnTransformer(OneHotEncoder, passthrough), Ridge)``
on scikit-learn's diabetes data plus a string ``region`` column; v1 a ridge regression, v2 gradient
boosting (which declares the tree type skops needs, as MLflow's documentation shows).

``churn-rules``: ``mlflow.pyfunc.PythonModel`` versions, a hand-written scoring rule over the churn
columns: v1 returns a probability table (columns ``no``/``yes``), v2 labels only; no ModelOps tag.
"""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc

CHURN = "churn"
DIABETES = "diabetes-progression"
RULES = "churn-rules"


class ChurnRules(mlflow.pyfunc.PythonModel):
    """A custom ``PythonModel``: a logistic scoring rule written by hand (pickled by reference to this module)."""

    def __init__(self, labels_only: bool = False) -> None:
        self.labels_only = labels_only

    def predict(self, context: object, model_input: object, params: object = None) -> object:
        """P(churn) per row as a ``no``/``yes`` table, or the label alone."""
        import numpy as np
        import pandas as pd

        frame = pd.DataFrame(model_input)
        logit = (
            -1.0
            + 1.5 * (frame["contract"] == "month-to-month")
            - 0.04 * frame["tenure_months"].astype(float)
            + 0.02 * (frame["monthly_charges"].astype(float) - 65)
        )
        p = 1 / (1 + np.exp(-logit.to_numpy(dtype=float)))
        if self.labels_only:
            return pd.Series(np.where(p > 0.5, "yes", "no"), name="churned")
        return pd.DataFrame({"no": 1 - p, "yes": p})


def build_foreign_registry(home: Path) -> Path:
    """Write the models into ``home/mlflow.db`` with artifacts under ``home/artifacts``; returns ``home``."""
    import mlflow
    import mlflow.data
    import mlflow.sklearn
    from mlflow import MlflowClient
    from mlflow.models import infer_signature
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from core.demo.datasets import churn_frame

    home.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{home / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    experiment = mlflow.create_experiment("churn", artifact_location=(home / "artifacts").as_uri())
    X, y = churn_frame()
    pipeline = make_pipeline(
        ColumnTransformer(
            [
                ("categories", OneHotEncoder(handle_unknown="error"), ["contract", "internet"]),
                ("numbers", StandardScaler(), ["tenure_months", "monthly_charges"]),
            ],
            remainder="passthrough",
        ),
        LogisticRegression(max_iter=1000),
    ).fit(X, y)
    training = X.assign(churned=y)
    training.to_parquet(home / "churn-training.parquet")
    with mlflow.start_run(experiment_id=experiment):
        dataset = mlflow.data.from_pandas(training, source=str(home / "churn-training.parquet"), name="churn-2024")
        mlflow.log_input(dataset, context="training")
        mlflow.sklearn.log_model(
            pipeline,
            name="model",
            signature=infer_signature(X, pipeline.predict(X)),
            input_example=X.head(3),
            registered_model_name=CHURN,
        )
    with mlflow.start_run(experiment_id=experiment):
        mlflow.sklearn.log_model(
            pipeline, name="model", serialization_format="cloudpickle", registered_model_name=CHURN
        )
    client = MlflowClient(uri, uri)
    client.set_registered_model_alias(CHURN, "champion", "1")
    client.set_registered_model_alias(CHURN, "challenger", "2")
    _log_regressors(experiment, home)
    client.set_registered_model_alias(DIABETES, "champion", "1")
    client.set_registered_model_alias(DIABETES, "challenger", "2")
    _log_rules(experiment, X, home)
    client.set_registered_model_alias(RULES, "champion", "1")
    client.set_registered_model_alias(RULES, "challenger", "2")
    return home


def _log_rules(experiment: str, X: object, home: Path) -> None:
    import mlflow
    import mlflow.data
    import mlflow.pyfunc
    import pandas as pd
    from mlflow.models import infer_signature

    frame = X.head(50)  # type: ignore[attr-defined]
    source = str(home / "churn-training.parquet")
    for labels_only in (False, True):
        model = ChurnRules(labels_only)
        with mlflow.start_run(experiment_id=experiment):
            if labels_only:  # the labels-only version learns its classes from the training labels
                training = pd.read_parquet(source)
                mlflow.log_input(
                    mlflow.data.from_pandas(training, source=source, name="churn-2024"), context="training"
                )
            mlflow.pyfunc.log_model(
                name="model",
                python_model=model,
                signature=infer_signature(frame, model.predict(None, frame)),
                input_example=frame.head(5),
                registered_model_name=RULES,
            )


def _log_regressors(experiment: str, home: Path) -> None:
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from core.demo.datasets import diabetes_frame

    X, y = diabetes_frame()
    training = X.assign(progression=y)
    training.to_parquet(home / "diabetes-training.parquet")
    for estimator, trusted in [
        (Ridge(alpha=0.1), None),
        (GradientBoostingRegressor(n_estimators=60, max_depth=2, random_state=0), ["sklearn.tree._tree.Tree"]),
    ]:
        pipeline = make_pipeline(
            ColumnTransformer(
                [("region", OneHotEncoder(handle_unknown="ignore"), ["region"])], remainder="passthrough"
            ),
            estimator,
        ).fit(X, y)
        with mlflow.start_run(experiment_id=experiment):
            source = str(home / "diabetes-training.parquet")
            mlflow.log_input(mlflow.data.from_pandas(training, source=source, name="diabetes"), context="training")
            mlflow.log_metric("mae", float((pipeline.predict(X) - y).abs().mean()))
            mlflow.sklearn.log_model(
                pipeline,
                name="model",
                signature=infer_signature(X, pipeline.predict(X)),
                input_example=X.head(3),
                registered_model_name=DIABETES,
                skops_trusted_types=trusted,
            )
