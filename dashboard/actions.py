"""Alias moves from the dashboard: write the registry, forget cached reads, tell the service.

Every page that promotes or rolls back goes through :func:`promote` or :func:`roll_back`, so the
sequence (move → cache cleared → service reloaded → one message saying what is live) is written once.
"""

from __future__ import annotations

from core.errors import ServiceUnreachableError
from core.registry.edits import edit_version as edit_version_fields
from core.store.db import AliasMove
from core.store.events import record_event
from core.store.trust import record_trust
from dashboard import resources, trust


def promote(model: str, version: int, alias: str, *, actor: str, reason: str = "") -> str:
    """Point ``alias`` of ``model`` at ``version``; returns the message to show."""
    move = resources.registry().promote(model, version, alias, actor=actor, reason=reason)
    return _after_move(move)


def roll_back(model: str, *, actor: str, reason: str = "") -> str:
    """Move ``champion`` of ``model`` back to its previous version; returns the message to show."""
    move = resources.registry().rollback(model, actor=actor, reason=reason)
    return _after_move(move)


def _after_move(move: AliasMove) -> str:
    resources.registry_changed()
    before = f"v{move.from_version}" if move.from_version else "none"
    live = push_to_service(move.model, move.alias, move.to_version)
    return f"{move.alias}: {before} → v{move.to_version}. {live}"


def push_to_service(model: str, alias: str, version: int) -> str:
    """Ask the service to reload after an alias move; say whether ``version`` is live."""
    try:
        served = resources.service_client().reload()
    except ServiceUnreachableError as exc:
        return f"The prediction service was not reloaded ({exc}); it follows the registry when it next polls."
    finally:
        resources.service_changed()
    info = served.get(model)
    arm = info.arms.get(alias) if info else None
    if arm is not None and arm.version == version:
        return f"Live on the prediction service: {model} {alias} serves v{version}."
    error = info.last_error if info else None
    return f"The service did not swap in v{version}" + (f": {error}" if error else ".")


def record_online_promotion(model: str, previous: int | None, version: int, *, actor: str) -> None:
    """Put a promotion made on the Online learning page into the model's online-learning timeline."""
    record_event(
        resources.registry().store,
        model,
        "promoted",
        parent_version=previous,
        new_version=version,
        champion_version=version,
        reason="promoted from the Online learning page",
        actor=actor,
    )
    resources.online_changed()


def edit_version(
    model: str, version: int, *, actor: str, description: str | None, tags: dict[str, str | None]
) -> list[str]:
    """Save a version's description and tags; returns the fields that changed."""
    changes = edit_version_fields(resources.registry(), model, version, actor=actor, description=description, tags=tags)
    resources.registry_changed()
    return [c.field for c in changes]


def set_trust(model: str, trusted: bool, *, actor: str, reason: str = "") -> str:
    """Record an operator's trust decision on ``model``'s pickled versions; returns the message to show."""
    record_trust(resources.registry().store, model, trusted, actor, reason)
    resources.trust_changed()
    trust.decisions_changed()
    decided = (
        "trusted: its pickled versions may load" if trusted else "no longer trusted: pickled versions stay unloaded"
    )
    try:
        served = resources.service_client().reload().get(model)
    except ServiceUnreachableError as exc:
        return f"{model} {decided}. The prediction service was not reloaded ({exc})."
    finally:
        resources.service_changed()
    if served is None:
        return f"{model} {decided}."
    arms = ", ".join(f"{alias} v{arm.version}" for alias, arm in served.arms.items()) or "nothing"
    error = f" Last load error: {served.last_error}" if served.last_error else ""
    return f"{model} {decided}. The service serves {arms}.{error}"


def adopt(model: str, version: int, *, actor: str) -> str:
    """Re-register a trusted pickled version in skops (:func:`core.edge.adopt.adopt_version`); the message to show."""
    from core.edge.adopt import adopt_version

    adoption = adopt_version(resources.registry(), model, version, actor, resources.settings().trusted_models)
    resources.registry_changed()
    return adoption.summary() + ". Promote it like any version; the pickled one can then be retired."
