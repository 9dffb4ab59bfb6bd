"""scikit-learn models stored in MLflow's skops format, loaded without pickle.

The trusted-types list lives here, in our code; the one MLflow writes into the MLmodel
file is never consulted, so a tampered artifact cannot widen what gets deserialised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import UntrustedModelError

# Types beyond skops' defaults that our sklearn models need. Extend deliberately.
TRUSTED_TYPES: tuple[str, ...] = ("sklearn.tree._tree.Tree",)

SKOPS_FILE = "model.skops"


def log_model(model: Any, *, name: str = "model", **kwargs: Any) -> Any:
    """Log ``model`` with ``mlflow.sklearn`` in skops format; returns MLflow's ModelInfo."""
    import mlflow.sklearn

    return mlflow.sklearn.log_model(
        model,
        name=name,
        serialization_format="skops",
        skops_trusted_types=list(TRUSTED_TYPES),
        **kwargs,
    )


def load_model(model_uri: str, dst_path: str | None = None) -> Any:
    """Load an sklearn model logged in skops format, trusting only :data:`TRUSTED_TYPES`.

    Raises:
        UntrustedModelError: the artifact is not in skops format, or holds a type
            outside the trusted list.
    """
    import mlflow.artifacts

    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=dst_path))
    return load_local(local, model_uri)


def load_local(local: Path, model_uri: str = "") -> Any:
    """Load from an already downloaded model directory (see :func:`load_model`)."""
    import skops.io
    import yaml

    model_uri = model_uri or str(local)
    mlmodel = yaml.safe_load((local / "MLmodel").read_text())
    flavor = (mlmodel.get("flavors") or {}).get("sklearn") or {}
    if flavor.get("serialization_format") != "skops":
        raise UntrustedModelError(
            f"{model_uri} is stored as {flavor.get('serialization_format')!r}, not 'skops'; "
            "ModelOps does not unpickle models. Re-log it with serialization_format='skops'."
        )
    path = local / flavor.get("pickled_model", SKOPS_FILE)
    if path.resolve().parent != local.resolve() or path.suffix != ".skops":
        raise UntrustedModelError(f"{model_uri}: unexpected model file {path.name!r}")
    untrusted = set(skops.io.get_untrusted_types(file=path)) - set(TRUSTED_TYPES)
    if untrusted:
        raise UntrustedModelError(
            f"{model_uri} holds types ModelOps does not trust: {', '.join(sorted(untrusted))}. "
            "Add them to core.flavors.sklearn_skops.TRUSTED_TYPES if they are safe."
        )
    return skops.io.load(path, trusted=list(TRUSTED_TYPES))
