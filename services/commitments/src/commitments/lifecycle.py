"""Commitment status lifecycle: the one place the transition rules live.

    from \\ to      not_started in_progress met  partially_met missed superseded withdrawn
    not_started    -           yes         O    O             O      L          R
    in_progress    R           -           O    O             O      L          R
    met            no          R           -    R             R      L          R
    partially_met  no          R           O    -             O      L          R
    missed         no          R           O    O             -      L          R
    superseded     no          no          no   no            no     -          no
    withdrawn      no          R           no   no            no     no         -

    yes  allowed
    R    allowed with a `reason` (reopening, correcting an outcome, withdrawing, going back)
    O    an outcome: allowed on or after the due date; before it, or with no due date, only
         with a `reason` (e.g. met early, missed because abandoned)
    L    only by recording a successor (POST /v1/commitments/{id}/lineage-links), never by
         setting the status: `superseded` always has a successor
    no   refused (a superseded commitment is final; a withdrawn one is reinstated first)

A new commitment is treated as a transition from `not_started`.
"""

from __future__ import annotations

from datetime import date

from commitments.schemas import CommitmentStatus as S
from servicekit.problems import invalid

FREE, REASON, OUTCOME, LINEAGE, NO = "yes", "R", "O", "L", "no"
_ORDER = [
    S.not_started,
    S.in_progress,
    S.met,
    S.partially_met,
    S.missed,
    S.superseded,
    S.withdrawn,
]
_TABLE = {
    S.not_started: "- yes O O O L R",
    S.in_progress: "R - O O O L R",
    S.met: "no R - R R L R",
    S.partially_met: "no R O - O L R",
    S.missed: "no R O O - L R",
    S.superseded: "no no no no no - no",
    S.withdrawn: "no R no no no no -",
}
TRANSITIONS: dict[S, dict[S, str]] = {
    src: {dst: rule for dst, rule in zip(_ORDER, row.split(), strict=True) if rule != "-"}
    for src, row in _TABLE.items()
}


def check_transition(
    current: S, new: S, *, due_on: date | None, today: date, reason: str | None, lineage: bool
) -> None:
    """Refuse (422 on `body.status`) a status change the table does not allow."""
    if current == new:
        return
    rule = TRANSITIONS[current][new]
    pointer = "body.status"
    if rule == NO:
        raise invalid(
            pointer, f"A commitment cannot go from {current.value} to {new.value}.", "transition"
        )
    if rule == LINEAGE and not lineage:
        raise invalid(
            pointer,
            "A commitment becomes superseded only by recording its successor: "
            "POST /v1/commitments/{id}/lineage-links.",
            "successor_required",
        )
    if rule == REASON and not reason:
        raise invalid(
            "body.reason",
            f"Going from {current.value} to {new.value} needs a reason.",
            "reason_required",
        )
    if rule == OUTCOME and not reason and (due_on is None or today < due_on):
        when = f"before its due date ({due_on})" if due_on else "without a due date"
        raise invalid(
            "body.reason",
            f"Marking a commitment {new.value} {when} needs a reason.",
            "reason_required",
        )
