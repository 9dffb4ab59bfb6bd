"""scikit-learn models stored in MLflow's skops format, loaded without pickle.

The trusted-types list lives here, in our code. The list MLflow writes into a version's MLmodel
file (``skops_trusted_types``) is added only for types inside :data:`DECLARABLE_PACKAGES`
(scikit-learn's, NumPy's and SciPy's own classes), so a tampered artifact cannot widen trust to
arbitrary code. Pickled versions (``cloudpickle``/``pickle``) load only when the caller says the
operator trusted the model (:mod:`core.store.trust`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import UntrustedModelError

# Types beyond skops' defaults that our sklearn models need. Extend deliberately.
TRUSTED_TYPES: tuple[str, ...] = ("sklearn.tree._tree.Tree",)

SKOPS_FILE = "model.skops"
#: Packages whose types a version's own MLmodel may declare trusted.
DECLARABLE_PACKAGES: tuple[str, ...] = ("sklearn.", "numpy.", "scipy.")
PICKLE_FORMATS = ("cloudpickle", "pickle")


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


def load_local(local: Path, model_uri: str = "", *, allow_pickle: bool = False, model_name: str = "") -> Any:
    """Load from an already downloaded model directory (see :func:`load_model`).

    ``allow_pickle``: the operator trusted this model, so a ``cloudpickle``/``pickle`` version may load.
    """
    import skops.io
    import yaml

    model_uri = model_uri or str(local)
    mlmodel = yaml.safe_load((local / "MLmodel").read_text())
    flavor = (mlmodel.get("flavors") or {}).get("sklearn") or {}
    fmt = flavor.get("serialization_format")
    if fmt in PICKLE_FORMATS and allow_pickle:
        import mlflow.sklearn

        return mlflow.sklearn.load_model(str(local))
    if fmt != "skops":
        name = model_name or "<model>"
        raise UntrustedModelError(
            f"{model_uri} is stored as {fmt!r}, not 'skops'; ModelOps unpickles a model's versions only when an "
            f"operator trusts the model: set MODELOPS_TRUSTED_MODELS={name} (or *), or press 'Trust this model' on "
            f"the Registry page (POST /v1/models/{name}/trust). Or re-log it with serialization_format='skops'."
        )
    path = local / flavor.get("pickled_model", SKOPS_FILE)
    if path.resolve().parent != local.resolve() or path.suffix != ".skops":
        raise UntrustedModelError(f"{model_uri}: unexpected model file {path.name!r}")
    trusted = set(TRUSTED_TYPES) | declared_types(flavor)
    untrusted = set(skops.io.get_untrusted_types(file=path)) - trusted
    if untrusted:
        raise UntrustedModelError(
            f"{model_uri} holds types ModelOps does not trust: {', '.join(sorted(untrusted))}. "
            "Add them to core.flavors.sklearn_skops.TRUSTED_TYPES if they are safe."
        )
    return skops.io.load(path, trusted=sorted(trusted))


def declared_types(flavor: dict[str, Any]) -> set[str]:
    """The MLmodel's ``skops_trusted_types`` that lie inside :data:`DECLARABLE_PACKAGES`."""
    declared = flavor.get("skops_trusted_types") or []
    if not isinstance(declared, list):
        return set()
    return {t for t in declared if isinstance(t, str) and t.startswith(DECLARABLE_PACKAGES)}
