"""The demo's data, all shipped inside scikit-learn (nothing is downloaded)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.names import TARGET

SEED = 0


DIGITS_SIZE = 28


#: scikit-learn's ``load_breast_cancer().target_names``: class 0 is malignant, class 1 benign.
BREAST_CANCER_CLASS_NAMES = {"0": "malignant", "1": "benign"}


def breast_cancer_split() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """The fixed train/held-out split of scikit-learn's breast-cancer data."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    data = load_breast_cancer(as_frame=True)
    X, y = data.data.astype("float64"), data.target.astype("int64")
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=SEED)
    return X_train, X_test, y_train, y_test


def digits_images() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Scikit-learn's 8×8 digits upscaled to 28×28 uint8 images, split train/held-out."""
    from PIL import Image
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = np.stack(
        [
            np.asarray(
                Image.fromarray((img * (255.0 / 16.0)).astype(np.uint8)).resize(
                    (DIGITS_SIZE, DIGITS_SIZE), Image.Resampling.BILINEAR
                )
            )
            for img in digits.images
        ]
    )
    X_train, X_test, y_train, y_test = train_test_split(
        images, digits.target.astype("int64"), test_size=0.25, stratify=digits.target, random_state=SEED
    )
    return X_train, X_test, y_train, y_test


def image_frame(images: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """Images as one row each: flattened pixels in ``pixels`` (bytes), shape, and the label."""
    return pd.DataFrame(
        {
            "pixels": [img.tobytes() for img in images],
            "height": images.shape[1],
            "width": images.shape[2],
            TARGET: labels,
        }
    )


CHURN_CONTRACTS = ("month-to-month", "one-year", "two-year")
CHURN_INTERNET = ("fiber", "dsl", "none")


def churn_frame(rows: int = 2000, seed: int = SEED) -> tuple[pd.DataFrame, pd.Series]:
    """A customer-churn table as MLflow users have them: string, integer, float and boolean columns,
    string labels (``"yes"``/``"no"``). Generated (no download) from a fixed logistic model."""
    rng = np.random.default_rng(seed)
    contract = rng.choice(CHURN_CONTRACTS, rows, p=[0.55, 0.25, 0.2])
    internet = rng.choice(CHURN_INTERNET, rows, p=[0.45, 0.35, 0.2])
    tenure = rng.integers(0, 72, rows)
    charges = np.round(rng.normal(65, 25, rows).clip(18, 120), 2)
    paperless = rng.random(rows) < 0.6
    logit = (
        -1.2
        + 1.6 * (contract == "month-to-month")
        - 0.8 * (contract == "two-year")
        + 0.7 * (internet == "fiber")
        - 0.04 * tenure
        + 0.02 * (charges - 65)
        + 0.4 * paperless
    )
    churned = rng.random(rows) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame(
        {
            "contract": contract.astype(object),
            "internet": internet.astype(object),
            "tenure_months": tenure.astype("int64"),
            "monthly_charges": charges.astype("float64"),
            "paperless_billing": paperless.astype(bool),
        }
    )
    return frame, pd.Series(np.where(churned, "yes", "no"), name="churned")


DIABETES_REGIONS = ("north", "south", "east", "west")


def diabetes_frame(seed: int = SEED) -> tuple[pd.DataFrame, pd.Series]:
    """scikit-learn's diabetes data (disease progression after a year, a regression target) with a
    string ``region`` column whose effect is added to the target, as a categorical feature."""
    from sklearn.datasets import load_diabetes

    data = load_diabetes(as_frame=True)
    rng = np.random.default_rng(seed)
    region = rng.choice(DIABETES_REGIONS, len(data.frame))
    effect = pd.Series(region).map({"north": 0.0, "south": 25.0, "east": -15.0, "west": 10.0}).to_numpy()
    frame = data.data.astype("float64").assign(region=region.astype(object))
    return frame, pd.Series(data.target.to_numpy() + effect, name="progression")
