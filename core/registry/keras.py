"""Register a user's own Keras image classifier with its input spec and class names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core import names
from core.config import Settings
from core.errors import InvalidInputError
from core.flavors import keras_model
from core.flavors.keras_model import InputSpec
from core.registry.facade import Registry
from core.registry.reference import stored_input_spec
from core.registry.registration import configure_mlflow
from core.store.edits import VersionEdit, record_edits


@dataclass(frozen=True)
class Registered:
    """The version a registration created."""

    model: str
    version: int
    aliases: tuple[str, ...]


def read_labels(path: Path) -> list[str]:
    """Class names, one per non-empty line."""
    if not path.is_file():
        raise InvalidInputError(f"labels file {str(path)!r} does not exist")
    labels = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not labels:
        raise InvalidInputError(f"labels file {str(path)!r} has no labels (one per line expected)")
    if len(set(labels)) != len(labels):
        raise InvalidInputError(f"labels file {str(path)!r} repeats a label")
    return labels


def register_keras(
    settings: Settings,
    model_path: Path,
    labels_path: Path,
    *,
    input_size: int | tuple[int, int],
    channels: int = 3,
    scale: float = 255.0,
    invert: bool = False,
    center: bool = False,
    name: str | None = None,
    alias: str | None = None,
    description: str = "",
) -> Registered:
    """Validate and register ``model_path`` (a ``.keras`` file) as a new version.

    The first version of a model becomes ``champion``; later ones get ``alias`` if given.

    Raises:
        InvalidInputError: missing or unsafe file, labels that do not match the model's
            outputs, or an input size/channels that contradict the model's input shape.
    """
    import keras
    import mlflow

    if not model_path.is_file():
        raise InvalidInputError(f"model file {str(model_path)!r} does not exist")
    if model_path.suffix != ".keras":
        raise InvalidInputError(f"{model_path.name}: expected a native Keras file (.keras); save it with model.save()")
    if channels not in (1, 3):
        raise InvalidInputError(f"channels must be 1 or 3, got {channels}")
    labels = read_labels(labels_path)
    try:
        model = keras.saving.load_model(model_path, safe_mode=True, compile=False)
    except Exception as exc:
        raise InvalidInputError(f"{model_path.name} could not be loaded safely: {exc}") from exc
    height, width = (input_size, input_size) if isinstance(input_size, int) else input_size
    shape = tuple(model.input_shape)
    if len(shape) != 4:
        raise InvalidInputError(f"{model_path.name} takes input of shape {shape}; an image model takes (N, H, W, C)")
    for what, declared, actual in (
        ("height", height, shape[1]),
        ("width", width, shape[2]),
        ("channels", channels, shape[3]),
    ):
        if actual is not None and actual != declared:
            raise InvalidInputError(f"{model_path.name} expects {what} {actual}, but {declared} was given")
    units = int(model.output_shape[-1])
    if units != len(labels):
        raise InvalidInputError(
            f"{model_path.name} has {units} outputs but {labels_path.name} has {len(labels)} labels"
        )
    spec = InputSpec(height, width, channels, scale, invert, center, labels)
    model_name = name or model_path.stem
    registry = Registry.from_settings(settings)
    experiment_id = configure_mlflow(settings)
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{model_name}-register"):
        mlflow.log_params({"source_file": model_path.name, "input_size": f"{height}x{width}", "channels": channels})
        info = keras_model.log_model(model, spec, registered_model_name=model_name)
    version = int(info.registered_model_version)
    client = registry.client
    client.set_model_version_tag(model_name, str(version), names.TAG_FLAVOR, "keras")
    client.set_model_version_tag(model_name, str(version), names.TAG_KIND, "user-keras")
    if description:
        client.update_model_version(model_name, str(version), description=description)
    summary = registry.get_model(model_name)
    target = alias or (names.CHAMPION if summary.champion is None else None)
    if target:
        registry.promote(model_name, version, target, reason=f"registered from {model_path.name}")
    return Registered(model_name, version, (target,) if target else ())


def save_input_spec(
    registry: Registry,
    model: str,
    version: int,
    spec: InputSpec,
    actor: str,
    *,
    input_shape: tuple[int, int, int],
    units: int,
) -> str:
    """Store ``spec`` as ``model`` v``version``'s input spec (``input_spec.json`` of its run), recorded.

    ``input_shape`` (height, width, channels) and ``units`` are the Keras model's own: a spec that
    contradicts them is refused. The version's ``modelops.input_spec`` tag changes, so a service
    reload (``POST /v1/admin/reload``) picks the new spec up. Returns what was done.

    Raises:
        InvalidInputError: a size or channel count unlike the model's, class names that do not
            match its outputs (count, blanks, repeats), a scale that is not positive, or a fill
            outside (0, 1].
    """
    import json
    import tempfile
    from datetime import UTC, datetime

    if (spec.height, spec.width, spec.channels) != tuple(input_shape):
        raise InvalidInputError(
            f"the model takes {input_shape[0]}×{input_shape[1]}×{input_shape[2]} inputs; the spec says "
            f"{spec.height}×{spec.width}×{spec.channels}"
        )
    labels = [c.strip() for c in spec.class_names]
    if len(labels) != units or not all(labels):
        raise InvalidInputError(f"the model has {units} outputs: give {units} class names, one per line, none blank")
    if len(set(labels)) != len(labels):
        raise InvalidInputError("a class name is repeated; each output needs its own name")
    if not spec.scale > 0:
        raise InvalidInputError(f"scale must be positive, got {spec.scale}")
    if not 0 < spec.fill <= 1:
        raise InvalidInputError(f"fill must be in (0, 1], got {spec.fill}")
    old = stored_input_spec(registry.tracking_uri, model, version)
    info = registry.get_version(model, version)
    spec = InputSpec(**{**spec.__dict__, "class_names": labels})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / names.INPUT_SPEC_FILE
        path.write_text(spec.to_json())
        registry.client.log_artifact(info.run_id, str(path))
    at = datetime.now(UTC)
    registry.client.set_model_version_tag(model, str(version), names.TAG_INPUT_SPEC, f"{at:%Y-%m-%dT%H:%M:%S}Z {actor}")
    record_edits(
        registry.store,
        [
            VersionEdit(
                model,
                version,
                names.INPUT_SPEC_FILE,
                None if old is None else json.dumps(old.__dict__),
                json.dumps(spec.__dict__),
                actor,
                at,
            )
        ],
    )
    return f"{model} v{version}: input spec saved ({spec.height}×{spec.width}×{spec.channels}, {units} classes)"
