"""Demo models of the kinds MLflow users' registries hold, beside the three classic demo models.

- ``churn``: ``Pipeline(ColumnTransformer(OneHotEncoder, StandardScaler), classifier)`` on string,
  integer, float and boolean columns with string labels (``"yes"``/``"no"``); v1 logistic
  regression, v2 gradient boosting;
- ``diabetes-progression``: a regressor on scikit-learn's diabetes data plus a string ``region``
  column; v1 ridge regression, v2 gradient boosting;
- ``churn-rules``: a ``python_function`` model (:class:`RetentionRules`), the retention team's
  hand-written score over the churn columns. Loading it runs its code, so the demo records its
  trust decision (actor ``demo``) in the store, as an operator would on the Registry page.
"""

from __future__ import annotations

from typing import Any, ClassVar

import mlflow.pyfunc
import numpy as np
import pandas as pd

from core import names
from core.demo.datasets import SEED, churn_frame, diabetes_frame
from core.registry.facade import Registry
from core.registry.registration import log_frames, log_sklearn_version, tag_version
from core.store.trust import record_trust

CHURN_ROWS = 3000


class RetentionRules(mlflow.pyfunc.PythonModel):
    """P(churn) from a hand-written logistic score: contract, tenure, charges and fibre internet."""

    WEIGHTS: ClassVar[dict[str, float]] = {
        "month-to-month": 1.5,
        "two-year": -0.8,
        "fiber": 0.6,
        "tenure": -0.04,
        "charge": 0.02,
    }

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """A ``no``/``yes`` probability table, one row per customer."""
        frame = pd.DataFrame(model_input)
        w = self.WEIGHTS
        logit = (
            -1.1
            + w["month-to-month"] * (frame["contract"] == "month-to-month")
            + w["two-year"] * (frame["contract"] == "two-year")
            + w["fiber"] * (frame["internet"] == "fiber")
            + w["tenure"] * frame["tenure_months"].astype("float64")
            + w["charge"] * (frame["monthly_charges"].astype("float64") - 65)
        )
        p = 1 / (1 + np.exp(-logit.to_numpy(dtype="float64")))
        return pd.DataFrame({"no": 1 - p, "yes": p})


def _split(X: pd.DataFrame, y: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    from sklearn.model_selection import train_test_split

    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=SEED)
    return X_train, X_test, y_train, y_test


def _log_frames(X_train: pd.DataFrame, X_test: pd.DataFrame, y_train: pd.Series, y_test: pd.Series) -> None:
    log_frames(
        {
            "reference.parquet": X_train.assign(**{names.TARGET: y_train.to_numpy()}),
            "holdout.parquet": X_test.assign(**{names.TARGET: y_test.to_numpy()}),
        }
    )


def seed_churn(experiment_id: str, registry: Registry) -> list[int]:
    """Two scikit-learn pipelines with string columns and string labels (skops)."""
    import mlflow
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X_train, X_test, y_train, y_test = _split(*churn_frame(rows=CHURN_ROWS))
    candidates = [
        ("logistic", "Logistic regression on one-hot contract/internet and scaled numbers.", LogisticRegression()),
        (
            "boosting",
            "Gradient boosting, 100 depth-3 trees.",
            GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=SEED),
        ),
    ]
    created = []
    for kind, description, estimator in candidates:
        pipeline = make_pipeline(
            ColumnTransformer(
                [
                    ("categories", OneHotEncoder(handle_unknown="error"), ["contract", "internet"]),
                    ("numbers", StandardScaler(), ["tenure_months", "monthly_charges"]),
                ],
                remainder="passthrough",
            ),
            estimator,
        ).fit(X_train, y_train)
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"{names.CHURN}-{kind}"):
            proba = pipeline.predict_proba(X_test)[:, list(pipeline.classes_).index("yes")]
            mlflow.log_metrics(
                {
                    "accuracy": float(accuracy_score(y_test, pipeline.predict(X_test))),
                    "roc_auc": float(roc_auc_score(y_test == "yes", proba)),
                }
            )
            version = log_sklearn_version(pipeline, names.CHURN, X_train, X_test, y_train, y_test)
        tag_version(registry, names.CHURN, version, "sklearn", kind, description)
        created.append(version)
    return created


def seed_diabetes(experiment_id: str, registry: Registry) -> list[int]:
    """Two regressors with a string ``region`` column (skops)."""
    import mlflow
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.linear_model import Ridge
    from sklearn.metrics import mean_absolute_error, root_mean_squared_error
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    X_train, X_test, y_train, y_test = _split(*diabetes_frame())
    candidates = [
        ("ridge", "Ridge regression (alpha 0.1) on the ten measurements and one-hot region.", Ridge(alpha=0.1)),
        (
            "boosting",
            "Gradient boosting, 150 depth-2 trees.",
            GradientBoostingRegressor(n_estimators=150, max_depth=2, random_state=SEED),
        ),
    ]
    created = []
    for kind, description, estimator in candidates:
        pipeline = make_pipeline(
            ColumnTransformer(
                [("region", OneHotEncoder(handle_unknown="ignore"), ["region"])], remainder="passthrough"
            ),
            estimator,
        ).fit(X_train, y_train)
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"{names.DIABETES}-{kind}"):
            predicted = pipeline.predict(X_test)
            mlflow.log_metrics(
                {
                    "mae": float(mean_absolute_error(y_test, predicted)),
                    "rmse": float(root_mean_squared_error(y_test, predicted)),
                }
            )
            version = log_sklearn_version(pipeline, names.DIABETES, X_train, X_test, y_train, y_test)
        tag_version(registry, names.DIABETES, version, "sklearn", kind, description)
        created.append(version)
    return created


def seed_churn_rules(experiment_id: str, registry: Registry) -> list[int]:
    """One ``python_function`` version of :class:`RetentionRules`, trusted by the demo (recorded)."""
    import mlflow
    from mlflow.models import infer_signature
    from sklearn.metrics import accuracy_score, roc_auc_score

    X_train, X_test, y_train, y_test = _split(*churn_frame(rows=CHURN_ROWS))
    rules = RetentionRules()
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{names.CHURN_RULES}-rules"):
        proba = rules.predict(None, X_test)
        predicted = np.where(proba["yes"] > 0.5, "yes", "no")
        mlflow.log_metrics(
            {
                "accuracy": float(accuracy_score(y_test, predicted)),
                "roc_auc": float(roc_auc_score(y_test == "yes", proba["yes"])),
            }
        )
        _log_frames(X_train, X_test, y_train, y_test)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=rules,
            signature=infer_signature(X_train, rules.predict(None, X_train.head(50))),
            input_example=X_train.head(3),
            registered_model_name=names.CHURN_RULES,
        )
    version = int(info.registered_model_version)
    tag_version(
        registry, names.CHURN_RULES, version, "python_function", "rules", "The retention team's hand-written score."
    )
    record_trust(registry.store, names.CHURN_RULES, True, "demo", "the demo's own python_function model")
    return [version]
