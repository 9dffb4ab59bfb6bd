"""Automatic rollback: a newly promoted champion that does worse live than its predecessor is moved back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from core import names
from core.analysis.ab import load_outcomes
from core.store.db import AliasMove
from core.store.events import record_event

AUTO_ROLLBACK_ACTOR = "modelops-auto-rollback"


@dataclass(frozen=True)
class RollbackCheck:
    """The live comparison behind an automatic rollback decision."""

    model: str
    version: int
    predecessor: int
    labels: int
    accuracy: float
    predecessor_labels: int
    predecessor_accuracy: float
    threshold_points: float

    @property
    def gap_points(self) -> float:
        """How far the new version is below its predecessor, in points (negative: above)."""
        return 100.0 * (self.predecessor_accuracy - self.accuracy)

    @property
    def should_roll_back(self) -> bool:
        """True when the gap exceeds the threshold."""
        return self.gap_points > self.threshold_points

    def reason(self) -> str:
        """The sentence the alias history records."""
        return (
            f"automatic rollback: live accuracy of v{self.version} {self.accuracy:.3f} over {self.labels} labels is "
            f"{self.gap_points:.1f} points below v{self.predecessor}'s {self.predecessor_accuracy:.3f} over "
            f"{self.predecessor_labels} labels (threshold {self.threshold_points:g})"
        )


def live_comparison(registry: Any, model: str, min_labels: int, threshold_points: float) -> RollbackCheck | None:
    """The newly promoted champion's live accuracy against its predecessor's, or ``None``.

    ``None`` when the champion's last move was not a promotion, the alias has since moved
    outside ModelOps, or either version has fewer than ``min_labels`` labelled requests
    (the predecessor's counted before the promotion, the champion's after).
    """

    moves = registry.history(model, alias=names.CHAMPION, limit=1)
    if not moves or moves[0].action != "promote" or moves[0].from_version is None:
        return None
    last: AliasMove = moves[0]
    if registry.resolve_alias(model, names.CHAMPION) != last.to_version:
        return None
    outcomes = load_outcomes(registry.store, model)
    if outcomes.empty:
        return None
    labelled = outcomes[outcomes["correct"].notna() & (outcomes["arm"] != "shadow")]
    promoted_at = pd.Timestamp(last.at)
    promoted_at = promoted_at.tz_localize("UTC") if promoted_at.tzinfo is None else promoted_at
    new = labelled[(labelled["version"] == last.to_version) & (labelled["at"] >= promoted_at)]
    old = labelled[(labelled["version"] == last.from_version) & (labelled["at"] < promoted_at)]
    if len(new) < min_labels or len(old) < min_labels:
        return None
    return RollbackCheck(
        model,
        last.to_version,
        last.from_version,
        len(new),
        float(new["correct"].astype(bool).mean()),
        len(old),
        float(old["correct"].astype(bool).mean()),
        threshold_points,
    )


def check_auto_rollback(
    registry: Any, model: str, min_labels: int, threshold_points: float, actor: str = AUTO_ROLLBACK_ACTOR
) -> AliasMove | None:
    """Roll the champion back if a newly promoted version does worse live than its predecessor."""
    check = live_comparison(registry, model, min_labels, threshold_points)
    if check is None or not check.should_roll_back:
        return None
    move = registry.rollback(model, actor=actor, reason=check.reason())
    record_event(
        registry.store,
        model,
        "rollback",
        parent_version=check.version,
        new_version=move.to_version,
        rows=check.labels,
        candidate_accuracy=check.accuracy,
        champion_version=check.predecessor,
        champion_accuracy=check.predecessor_accuracy,
        reason=check.reason(),
        actor=actor,
    )
    return move
