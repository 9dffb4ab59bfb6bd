"""Seed the demo registry from data that ships inside scikit-learn (no downloads).

``python -m core demo`` is idempotent: a model that already has its versions is left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core import names
from core.config import Settings
from core.demo import kinds
from core.demo.augment import augmented
from core.demo.datasets import (
    BREAST_CANCER_CLASS_NAMES,
    DIGITS_SIZE,
    SEED,
    breast_cancer_split,
    digits_images,
    image_frame,
)
from core.demo.online import seed_online
from core.edge.onnx_compile import compile_version
from core.errors import RegistryUnavailableError
from core.flavors import keras_model
from core.flavors.keras_model import InputSpec
from core.registry.facade import Registry
from core.registry.registration import configure_mlflow, log_frames, log_sklearn_version, tag_version
from core.runtime import ood
from core.runtime.images import preprocess

log = logging.getLogger(__name__)

BREAST_CANCER_VERSIONS = 3
DIGITS_VERSIONS = 2
AUGMENTED_COPIES = 4  # photo/MNIST-style pictures per training digit, beside the scan itself


@dataclass(frozen=True)
class SeedResult:
    """What :func:`seed_demo` did for one model."""

    model: str
    created_versions: list[int]
    skipped: bool
    champion: int | None
    challenger: int | None


def seed_demo(
    settings: Settings,
    *,
    models: tuple[str, ...] = names.ALL_DEMO_MODELS,
    progress: Callable[[str], None] = print,
) -> list[SeedResult]:
    """Register the demo models that are missing and set their aliases.

    Args:
        settings: Where the registry and store live.
        models: Which demo models to seed.
        progress: Called with a short line for each step.
    """
    registry = Registry.from_settings(settings)
    existing = {m.name: m for m in registry.list_models()}  # fails fast, typed, if unreachable
    try:
        experiment_id = configure_mlflow(settings)
    except Exception as exc:
        raise RegistryUnavailableError(
            f"cannot prepare the demo experiment at {settings.tracking_uri!r}: {exc}"
        ) from exc
    builders: dict[str, tuple[int, Callable[[str, Registry], list[int]]]] = {
        names.BREAST_CANCER: (BREAST_CANCER_VERSIONS, _seed_breast_cancer),
        names.DIGITS: (DIGITS_VERSIONS, _seed_digits),
        names.BREAST_CANCER_ONLINE: (1, _seed_online),
        names.CHURN: (2, kinds.seed_churn),
        names.DIABETES: (2, kinds.seed_diabetes),
        names.CHURN_RULES: (1, kinds.seed_churn_rules),
    }
    results = []
    for model in models:
        expected, build = builders[model]
        summary = existing.get(model)
        if summary is not None and summary.version_count >= expected and summary.champion is not None:
            progress(f"{model}: already seeded ({_versions(summary.version_count)}), skipped")
            results.append(SeedResult(model, [], True, summary.champion, summary.challenger))
            continue
        if summary is not None:
            # A half-seeded demo model (an interrupted earlier run): start it again.
            progress(f"{model}: incomplete ({_versions(summary.version_count)}), re-seeding")
            registry.client.delete_registered_model(model)
        progress(f"{model}: training {_versions(expected)}")
        created = build(experiment_id, registry)
        champion, challenger = _set_demo_aliases(registry, model, progress)
        results.append(SeedResult(model, created, False, champion, challenger))
    return results


def _set_demo_aliases(registry: Registry, model: str, progress: Callable[[str], None]) -> tuple[int, int | None]:
    """Walk ``champion`` forward through each better version, then set ``challenger``.

    The alias history then holds a realistic chain (v1 -> v2 -> v3), so the demo's
    one-click rollback has somewhere to go.
    """
    versions = sorted(registry.list_versions(model), key=lambda v: v.version)
    # Classifiers by accuracy, regressors by mean absolute error (lower is better).
    metric = "accuracy" if any("accuracy" in v.metrics for v in versions) else "mae"
    sign = 1.0 if metric == "accuracy" else -1.0

    def score(v: Any) -> float:
        return sign * v.metrics.get(metric, sign * -float("inf"))

    champion = versions[0]
    registry.promote(model, champion.version, names.CHAMPION, actor="demo", reason="first version")
    for v in versions[1:]:
        if score(v) > score(champion):
            registry.promote(
                model,
                v.version,
                names.CHAMPION,
                actor="demo",
                reason=f"{metric} {v.metrics[metric]:.3f} {'>' if sign > 0 else '<'} "
                f"{champion.metrics.get(metric, 0):.3f}",
            )
            champion = v
    if len(versions) == 1:
        progress(f"{model}: champion v{champion.version}")
        return champion.version, None
    runner_up = max((v for v in versions if v.version != champion.version), key=lambda v: (score(v), v.version))
    registry.promote(model, runner_up.version, names.CHALLENGER, actor="demo", reason="runner-up")
    progress(f"{model}: champion v{champion.version}, challenger v{runner_up.version}")
    return champion.version, runner_up.version


def _seed_online(experiment_id: str, registry: Registry) -> list[int]:

    return seed_online(experiment_id, registry)


def _seed_breast_cancer(experiment_id: str, registry: Registry) -> list[int]:
    import mlflow
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
    from sklearn.model_selection import GridSearchCV
    from sklearn.naive_bayes import GaussianNB
    from sklearn.tree import DecisionTreeClassifier

    X_train, X_test, y_train, y_test = breast_cancer_split()
    grid = GridSearchCV(
        # The forest keeps sklearn's default n_jobs, as a user's would; the search runs in parallel.
        RandomForestClassifier(n_estimators=200, random_state=SEED),
        param_grid={"max_depth": [4, None], "max_features": ["sqrt", 0.3]},
        cv=3,
        scoring="accuracy",
        n_jobs=-1,
    )
    candidates: list[tuple[str, str, Any, Callable[[Any], dict[str, Any]]]] = [
        (
            "decision-stump",
            "A one-split decision tree: the baseline.",
            DecisionTreeClassifier(max_depth=1, random_state=SEED),
            lambda m: m.get_params(),
        ),
        ("gaussian-nb", "Gaussian naive Bayes.", GaussianNB(), lambda m: m.get_params()),
        (
            "random-forest-grid",
            "200-tree random forest tuned with GridSearchCV (3-fold).",
            grid,
            lambda m: {**m.best_params_, "n_estimators": 200, "cv_folds": 3, "cv_best_accuracy": m.best_score_},
        ),
    ]
    created = []
    for kind, description, estimator, params_of in candidates:
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"{names.BREAST_CANCER}-{kind}"):
            estimator.fit(X_train, y_train)
            model = estimator.best_estimator_ if hasattr(estimator, "best_estimator_") else estimator
            proba = model.predict_proba(X_test)[:, 1]
            pred = model.predict(X_test)
            mlflow.log_params({k: v for k, v in params_of(estimator).items() if v is not None})
            mlflow.log_metrics(
                {
                    "accuracy": float(accuracy_score(y_test, pred)),
                    "f1": float(f1_score(y_test, pred)),
                    "roc_auc": float(roc_auc_score(y_test, proba)),
                }
            )
            version = log_sklearn_version(model, names.BREAST_CANCER, X_train, X_test, y_train, y_test)
            tag_version(registry, names.BREAST_CANCER, version, "sklearn", kind, description, BREAST_CANCER_CLASS_NAMES)
            created.append(version)

    for version in created:  # after the runs end: the build is logged into each version's run
        compile_version(registry, names.BREAST_CANCER, version)
    return created


def _seed_digits(experiment_id: str, registry: Registry) -> list[int]:
    import keras
    import mlflow
    import numpy as np
    from PIL import Image

    X_train, X_test, y_train, y_test = digits_images()
    spec = InputSpec(
        height=DIGITS_SIZE,
        width=DIGITS_SIZE,
        channels=1,
        scale=255.0,
        invert=True,  # the reference frames hold bright-on-black digits; uploads are dark-on-light
        class_names=[str(d) for d in range(10)],
        normalize=True,  # photos and scans, either polarity: see core.runtime.images.normalise_digit
        fill=0.8,
    )
    # Trained on what it will be served: every training digit as a scan, a photo and an MNIST-style
    # picture, each through the service's own preprocessing.
    uploads, y_aug = augmented(X_train, y_train, copies=AUGMENTED_COPIES, seed=SEED)
    x_train = np.stack([preprocess(picture, spec) for picture in uploads])
    x_test = np.stack([preprocess(Image.fromarray(255 - digit), spec) for digit in X_test])
    # The out-of-distribution threshold is set on held-out digits drawn the same ways (the first half of
    # the held-out scans; tests judge the check on the second half).
    calibration, _ = augmented(X_test[: len(X_test) // 2], y_test[: len(y_test) // 2], copies=2, seed=SEED + 1)
    x_calibration = np.stack([preprocess(picture, spec) for picture in calibration])
    configs = [
        ("cnn-small", "One 8-filter convolution, 1 epoch: quick and rough.", (8,), 1),
        (
            "cnn",
            f"Two convolutions (16, 32 filters), 6 epochs on {AUGMENTED_COPIES + 1} pictures per digit.",
            (16, 32),
            6,
        ),
    ]
    created = []
    for kind, description, filters, epochs in configs:
        keras.utils.set_random_seed(SEED)
        layers: list[Any] = [keras.Input((DIGITS_SIZE, DIGITS_SIZE, 1))]
        for f in filters:
            layers += [keras.layers.Conv2D(f, 3, activation="relu"), keras.layers.MaxPooling2D()]
        layers += [
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
        model = keras.Sequential(layers, name=f"digits_{kind.replace('-', '_')}")
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"{names.DIGITS}-{kind}"):
            model.fit(x_train, y_aug, epochs=epochs, batch_size=64, verbose=0)
            _, accuracy = model.evaluate(x_test, y_test, verbose=0)
            mlflow.log_params({"filters": ",".join(map(str, filters)), "epochs": epochs, "batch_size": 64})
            mlflow.log_metrics({"accuracy": float(accuracy)})
            log_frames(
                {
                    "reference.parquet": image_frame(X_train, y_train),
                    "holdout.parquet": image_frame(X_test, y_test),
                }
            )
            from mlflow.models import infer_signature

            info = keras_model.log_model(
                model,
                spec,
                signature=infer_signature(x_test[:5], model(x_test[:5]).numpy()),
                registered_model_name=names.DIGITS,
            )
            extract = ood.feature_extractor(model)
            ood.log_reference(
                ood.calibrate(
                    ood.features_in_batches(extract, x_train),
                    ood.features_in_batches(extract, x_calibration),
                    source=f"{len(x_calibration):,} held-out pictures: scans, photos, white-on-black",
                )
            )
            version = int(info.registered_model_version)
            tag_version(registry, names.DIGITS, version, "keras", kind, description)
            created.append(version)
    return created


def _versions(count: int) -> str:
    return f"{count} version" if count == 1 else f"{count} versions"
