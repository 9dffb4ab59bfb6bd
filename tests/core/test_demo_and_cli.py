"""Demo seeding is idempotent; the CLI answers --help and reports what it did."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mlflow import MlflowClient

from core import names
from core.config import Settings
from core.demo.seed import seed_demo
from core.flavors.keras_model import InputSpec

ROOT = Path(__file__).resolve().parents[2]


def test_seeding_twice_adds_nothing(seeded_home: Settings) -> None:
    results = seed_demo(seeded_home, models=names.DEMO_MODELS, progress=lambda _l: None)
    assert all(r.skipped for r in results)
    client = MlflowClient(seeded_home.tracking_uri, seeded_home.tracking_uri)
    assert len(client.search_model_versions(f"name='{names.BREAST_CANCER}'")) == 3
    assert len(client.search_model_versions(f"name='{names.DIGITS}'")) == 2


def test_the_demo_seeds_a_string_pipeline_a_regressor_and_a_trusted_pyfunc_model(bc_home: Settings) -> None:
    from core.registry.facade import Registry
    from core.runtime.handles import load_handle
    from core.store.trust import trust_of

    first = {r.model: r for r in seed_demo(bc_home, models=names.KINDS_DEMO_MODELS, progress=lambda _l: None)}
    assert [len(first[m].created_versions) for m in names.KINDS_DEMO_MODELS] == [2, 2, 1]
    assert all(r.skipped for r in seed_demo(bc_home, models=names.KINDS_DEMO_MODELS, progress=lambda _l: None))
    registry = Registry.from_settings(bc_home)
    decided = trust_of(registry.store, names.CHURN_RULES)
    assert decided.trusted and decided.why.startswith("demo trusted")
    uri = bc_home.tracking_uri
    churn = load_handle(uri, names.CHURN, first[names.CHURN].champion)
    assert churn.task == "classification" and churn.classes == ["no", "yes"]
    assert {c.type for c in churn.columns} == {"string", "long", "double", "boolean"}
    diabetes = load_handle(uri, names.DIABETES, first[names.DIABETES].champion)
    assert diabetes.task == "regression" and ("region", "string") in [(c.name, c.type) for c in diabetes.columns]
    champion = registry.get_version(names.DIABETES, first[names.DIABETES].champion)
    challenger = registry.get_version(names.DIABETES, first[names.DIABETES].challenger)
    assert champion.metrics["mae"] <= challenger.metrics["mae"]  # regressors ranked by error, lower first
    rules = load_handle(uri, names.CHURN_RULES, 1, trusted=True)
    assert rules.runtime == "pyfunc" and rules.classes == ["no", "yes"]


def test_versions_carry_reference_data_and_input_spec(digits_home: Settings) -> None:
    import mlflow.artifacts
    import pandas as pd

    client = MlflowClient(digits_home.tracking_uri, digits_home.tracking_uri)
    bc = client.get_model_version_by_alias(names.BREAST_CANCER, names.CHAMPION)
    ref = pd.read_parquet(
        mlflow.artifacts.download_artifacts(
            run_id=bc.run_id,
            artifact_path=f"{names.REFERENCE_DIR}/reference.parquet",
            tracking_uri=digits_home.tracking_uri,
        )
    )
    assert "target" in ref.columns and len(ref) > 300 and ref.shape[1] == 31
    digits = client.get_model_version_by_alias(names.DIGITS, names.CHAMPION)
    spec_path = mlflow.artifacts.download_artifacts(
        run_id=digits.run_id, artifact_path=names.INPUT_SPEC_FILE, tracking_uri=digits_home.tracking_uri
    )
    spec = InputSpec.from_json(Path(spec_path).read_text())
    assert (spec.height, spec.width, spec.channels) == (28, 28, 1)
    assert spec.class_names == [str(d) for d in range(10)]
    run = client.get_run(digits.run_id)
    assert run.data.metrics["accuracy"] > 0.8
    # Nothing landed in ./mlruns of the working directory: artifacts live under MODELOPS_HOME.
    location = client.get_experiment(run.info.experiment_id).artifact_location
    assert location.startswith("file://") and "mlruns" not in location


def test_cli_help_and_idempotent_demo(bc_home: Settings) -> None:
    env = {**os.environ, names.ENV_HOME: str(bc_home.home)}
    help_out = subprocess.run(
        [sys.executable, "-m", "core", "demo", "--help"], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert help_out.returncode == 0 and "--model" in help_out.stdout
    out = subprocess.run(
        [sys.executable, "-m", "core", "demo", "--model", "breast-cancer"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "breast-cancer: kept; champion v3, challenger v2" in out.stdout
    assert not (ROOT / "mlruns").exists()


def test_cli_reports_an_unreachable_registry_without_traceback(tmp_path: Path) -> None:
    env = {
        **os.environ,
        names.ENV_HOME: str(tmp_path),
        names.ENV_TRACKING_URI: "http://127.0.0.1:9",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    }
    out = subprocess.run(
        [sys.executable, "-m", "core", "demo"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    assert out.returncode == 2
    assert out.stderr.startswith("error:") and "127.0.0.1:9" in out.stderr
    assert "Traceback" not in out.stderr
