"""Which backups a retention policy keeps, named as restic and borg name the rules.

``keep_last`` keeps the newest N; ``keep_daily``/``keep_weekly`` keep the newest backup
of each of the last N days/ISO weeks that have one. A backup kept by any rule stays.
Pure: it gets (id, time) pairs and returns the ids to delete, per project.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Policy:
    keep_last: int = 0
    keep_daily: int = 0
    keep_weekly: int = 0

    @property
    def empty(self) -> bool:
        return not (self.keep_last or self.keep_daily or self.keep_weekly)


def to_keep(backups: Sequence[tuple[str, datetime]], policy: Policy) -> set[str]:
    """Ids the policy keeps among one project's backups."""
    newest_first = sorted(backups, key=lambda item: item[1], reverse=True)
    keep = {backup_id for backup_id, _ in newest_first[: policy.keep_last]}
    for count, bucket in (
        (policy.keep_daily, lambda t: t.date()),
        (policy.keep_weekly, lambda t: t.isocalendar()[:2]),
    ):
        seen: set[object] = set()
        for backup_id, moment in newest_first:
            if len(seen) >= count:
                break
            period = bucket(moment)
            if period not in seen:
                seen.add(period)
                keep.add(backup_id)
    return keep


def to_delete(backups: Sequence[tuple[str, datetime]], policy: Policy) -> list[str]:
    """Ids the policy drops, oldest first; an empty policy drops nothing."""
    if policy.empty:
        return []
    keep = to_keep(backups, policy)
    ordered = sorted(backups, key=lambda item: item[1])
    return [backup_id for backup_id, _ in ordered if backup_id not in keep]
