"""Editing a version's description and tags from the dashboard: validated, written to MLflow, recorded."""

from __future__ import annotations

import json

from core import names
from core.errors import InvalidInputError
from core.registry.facade import Registry
from core.store.edits import VersionEdit, now, record_edits

MAX_DESCRIPTION = 5_000
MAX_TAG_KEY = 250
MAX_TAG_VALUE = 5_000
#: The only ModelOps tag people may edit; the others are written by ModelOps and drive what it does.
EDITABLE_MODELOPS_TAGS = (names.TAG_CLASS_NAMES,)


def edit_version(
    registry: Registry,
    model: str,
    version: int,
    *,
    actor: str,
    description: str | None = None,
    tags: dict[str, str | None] | None = None,
) -> list[VersionEdit]:
    """Set ``description`` and ``tags`` (a ``None`` value deletes the tag) of a version; returns what changed.

    Every change is written to MLflow and recorded with ``actor`` in the project's store;
    values equal to the current ones are not changes.

    Raises:
        InvalidInputError: a too long text, an empty or too long tag key, a ModelOps tag other
            than ``modelops.class_names``, or class names that are not a JSON object of names.
    """
    info = registry.get_version(model, version)
    changes: list[VersionEdit] = []
    if description is not None:
        if len(description) > MAX_DESCRIPTION:
            raise InvalidInputError(
                f"the description is {len(description):,} characters; the limit is {MAX_DESCRIPTION:,}"
            )
        if description != info.description:
            changes.append(VersionEdit(model, version, "description", info.description, description, actor, now()))
    for key, value in (tags or {}).items():
        key = key.strip()
        _check_tag(key, value)
        if info.tags.get(key) != value:
            changes.append(VersionEdit(model, version, f"tag:{key}", info.tags.get(key), value, actor, now()))
    client = registry.client
    for change in changes:
        if change.field == "description":
            client.update_model_version(model, str(version), description=change.new or "")
        elif change.new is None:
            client.delete_model_version_tag(model, str(version), change.field[4:])
        else:
            client.set_model_version_tag(model, str(version), change.field[4:], change.new)
    record_edits(registry.store, changes)
    return changes


def _check_tag(key: str, value: str | None) -> None:
    if not key or len(key) > MAX_TAG_KEY:
        raise InvalidInputError(f"a tag key needs 1 to {MAX_TAG_KEY} characters, got {len(key)}")
    if key.startswith("modelops.") and key not in EDITABLE_MODELOPS_TAGS:
        raise InvalidInputError(
            f"{key!r} is written by ModelOps and drives what it does; of its tags only "
            f"{', '.join(EDITABLE_MODELOPS_TAGS)} can be edited"
        )
    if value is not None and len(value) > MAX_TAG_VALUE:
        raise InvalidInputError(f"the value of {key!r} is {len(value):,} characters; the limit is {MAX_TAG_VALUE:,}")
    if key == names.TAG_CLASS_NAMES and value is not None:
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict) or not all(isinstance(v, str) and v for v in parsed.values()):
            raise InvalidInputError(
                f'{key} must be a JSON object of class -> name, e.g. {{"0": "malignant", "1": "benign"}}'
            )
