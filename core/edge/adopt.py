"""Adopt a pickled scikit-learn version: re-register it in skops (and ONNX where it compiles), verified equal.

A registry full of ``cloudpickle`` versions is a registry whose every load runs code from an
artifact. Once an operator trusts such a model, :func:`adopt_version` loads the pickled version
one last time and logs the same estimator as a **new version** in skops format — loadable without
unpickling — after checking that the new version answers exactly as the old one on the reference
rows (or the input example). Lineage is kept both ways in tags (``modelops.adopted_from`` on the
new version, ``modelops.adopted_as`` on the old one) and in the edit history with who and when.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import names
from core.edge.onnx_compile import compile_version
from core.errors import InvalidInputError, UntrustedModelError
from core.flavors import sklearn_skops
from core.registry.facade import Registry
from core.registry.reference import load_version_frame, version_file
from core.store.edits import VersionEdit, now, record_edits
from core.store.trust import trust_of

TAG_ADOPTED_FROM = names.TAG_ADOPTED_FROM
TAG_ADOPTED_AS = names.TAG_ADOPTED_AS
VERIFY_ROWS = 2_000


@dataclass(frozen=True)
class Adoption:
    """What :func:`adopt_version` did."""

    model: str
    source_version: int
    new_version: int
    rows_compared: int
    onnx_status: str  # "passed", "failed", "unsupported" or "not tried: ..."

    def summary(self) -> str:
        """One line for the CLI and the page."""
        return (
            f"{self.model} v{self.source_version} adopted as v{self.new_version} (skops); identical answers on "
            f"{self.rows_compared:,} rows; ONNX build {self.onnx_status}"
        )


def adopt_version(
    registry: Registry, model: str, version: int, actor: str, trusted_models: tuple[str, ...] = ()
) -> Adoption:
    """Re-register a trusted pickled version of ``model`` in skops as a new version; see the module docstring.

    Raises:
        UntrustedModelError: nobody trusted the model (its pickle is not loaded), or the estimator
            holds types skops cannot be told to trust safely (outside scikit-learn, NumPy, SciPy).
        InvalidInputError: the version is not a pickled scikit-learn model, was adopted already,
            or has no rows to verify on.
    """
    import mlflow
    import mlflow.artifacts
    import mlflow.sklearn
    import skops.io
    import yaml

    info = registry.get_version(model, version)
    if info.tags.get(TAG_ADOPTED_AS):
        raise InvalidInputError(f"{model} v{version} was adopted already, as v{info.tags[TAG_ADOPTED_AS]}")
    local = Path(version_file(registry.tracking_uri, model, version, "MLmodel")).parent
    flavor = (yaml.safe_load((local / "MLmodel").read_text()).get("flavors") or {}).get("sklearn")
    if flavor is None:
        raise InvalidInputError(f"{model} v{version} is not a scikit-learn model; only pickled sklearn versions adopt")
    if flavor.get("serialization_format") not in sklearn_skops.PICKLE_FORMATS:
        raise InvalidInputError(f"{model} v{version} is stored as {flavor.get('serialization_format')!r} already")
    trust = trust_of(registry.store, model, trusted_models)
    if not trust.trusted:
        raise UntrustedModelError(
            f"{model} is not trusted ({trust.why}): adopting unpickles v{version} once, so an operator must trust "
            f"the model first (Registry page, POST /v1/models/{model}/trust or {names.ENV_TRUSTED_MODELS})"
        )
    base = registry.client.get_model_version_download_uri(model, str(version))
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=base, tracking_uri=registry.tracking_uri))
    estimator = sklearn_skops.load_local(local, f"{model} v{version}", allow_pickle=True, model_name=model)
    rows = _verification_rows(registry, model, version, local, estimator)
    declared = _skops_types(estimator, skops.io)
    from mlflow.models import Model

    source = Model.load(str(local / "MLmodel"))
    signature = source.signature
    if signature is None:
        from mlflow.models import infer_signature

        signature = infer_signature(rows, estimator.predict(rows))
    mlflow.set_tracking_uri(registry.tracking_uri)
    mlflow.set_registry_uri(registry.tracking_uri)
    run = registry.client.get_run(info.run_id)
    with mlflow.start_run(experiment_id=run.info.experiment_id, run_name=f"{model}-v{version}-adopted"):
        _copy_frames(registry, model, version)
        if run.data.metrics:  # the same estimator: its held-out figures carry over
            mlflow.log_metrics(dict(run.data.metrics))
        mlflow.log_params({"adopted_from": f"{model} v{version}", "source_run_id": info.run_id})
        logged = mlflow.sklearn.log_model(
            estimator,
            name="model",
            serialization_format="skops",
            skops_trusted_types=sorted(set(sklearn_skops.TRUSTED_TYPES) | declared),
            signature=signature,
            input_example=rows.head(3),
            registered_model_name=model,
        )
    new_version = int(logged.registered_model_version)
    try:
        _verify_equal(registry, model, new_version, estimator, rows)
    except Exception:
        registry.client.delete_model_version(model, str(new_version))  # never leave an unverified version behind
        raise
    client = registry.client
    client.set_model_version_tag(model, str(new_version), TAG_ADOPTED_FROM, f"v{version}")
    client.set_model_version_tag(model, str(version), TAG_ADOPTED_AS, str(new_version))
    for key in (names.TAG_CLASS_NAMES, names.TAG_KIND):
        if key in info.tags:
            client.set_model_version_tag(model, str(new_version), key, info.tags[key])
    client.update_model_version(
        model, str(new_version), description=f"v{version} re-registered in skops by {actor} (adopted; same answers)"
    )
    at = now()
    record_edits(
        registry.store,
        [
            VersionEdit(model, new_version, f"tag:{TAG_ADOPTED_FROM}", None, f"v{version}", actor, at),
            VersionEdit(model, version, f"tag:{TAG_ADOPTED_AS}", None, str(new_version), actor, at),
        ],
    )
    return Adoption(model, version, new_version, len(rows), _compile(registry, model, new_version))


def _verification_rows(registry: Registry, model: str, version: int, local: Path, estimator: Any) -> pd.DataFrame:
    """The version's reference rows, else its input example, else another version's reference rows that hold
    every column the estimator was fitted on (``feature_names_in_``)."""
    from mlflow.models import Model

    try:
        frame = load_version_frame(registry, model, version, "reference")
    except InvalidInputError:
        example = Model.load(str(local / "MLmodel")).load_input_example(str(local))
        frame = pd.DataFrame(example) if example is not None else None
    wanted = [str(c) for c in getattr(estimator, "feature_names_in_", [])]
    if frame is None and wanted:
        for other in sorted(registry.list_versions(model), key=lambda v: -v.version):
            if other.version == version:
                continue
            try:
                candidate = load_version_frame(registry, model, other.version, "reference")
            except InvalidInputError:
                continue
            if set(wanted) <= set(candidate.columns):
                frame = candidate[wanted]
                break
    if frame is None:
        raise InvalidInputError(
            f"{model} v{version} has no reference rows, no input example and no sibling version with rows of its "
            "columns: nothing to verify the adopted version on, so it is not adopted"
        )
    frame = frame.drop(columns=[names.TARGET], errors="ignore")
    return frame[wanted].head(VERIFY_ROWS).reset_index(drop=True) if wanted else frame.head(VERIFY_ROWS)


def _skops_types(estimator: Any, skops_io: Any) -> set[str]:
    """The types skops will need trusted to load ``estimator``; refuses any outside the declarable packages."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "probe.skops"
        skops_io.dump(estimator, path)
        found = set(skops_io.get_untrusted_types(file=path))
    foreign = sorted(t for t in found if not t.startswith(sklearn_skops.DECLARABLE_PACKAGES))
    if foreign:
        raise UntrustedModelError(
            f"the estimator holds types outside scikit-learn, NumPy and SciPy ({', '.join(foreign[:5])}); skops "
            "would have to trust them to load it, so it stays pickled"
        )
    return found


def _verify_equal(registry: Registry, model: str, new_version: int, estimator: Any, rows: pd.DataFrame) -> None:
    import mlflow.artifacts

    base = registry.client.get_model_version_download_uri(model, str(new_version))
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=base, tracking_uri=registry.tracking_uri))
    adopted = sklearn_skops.load_local(local, f"{model} v{new_version}", model_name=model)
    method = "predict_proba" if hasattr(estimator, "predict_proba") else "predict"
    before, after = getattr(estimator, method)(rows), getattr(adopted, method)(rows)
    if not np.array_equal(np.asarray(before), np.asarray(after)):
        raise InvalidInputError(f"the skops copy of {model} answers differently on the reference rows; not adopted")


def _copy_frames(registry: Registry, model: str, version: int) -> None:
    """Log the source version's reference and holdout rows (wherever they came from) into the active run."""
    import mlflow

    for which in ("reference", "holdout"):
        try:
            frame = load_version_frame(registry, model, version, which)
        except InvalidInputError:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{which}.parquet"
            frame.to_parquet(path, index=False)
            mlflow.log_artifact(str(path), artifact_path=names.REFERENCE_DIR)


def _compile(registry: Registry, model: str, version: int) -> str:
    import mlflow

    mlflow.set_tracking_uri(registry.tracking_uri)  # compile_version resolves models:/ URIs globally
    mlflow.set_registry_uri(registry.tracking_uri)
    try:
        return compile_version(registry, model, version).status
    except Exception as exc:  # the skops version stands without a build
        return f"not tried: {type(exc).__name__}: {str(exc)[:200]}"
