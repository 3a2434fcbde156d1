"""Submission status lifecycle: the one place the transition rules live.

| action     | by                                | from                          | to        |
|------------|-----------------------------------|-------------------------------|-----------|
| accept     | moderator (`evidence:moderate`)   | received                      | accepted  |
| reject     | moderator                         | received, accepted, withheld  | rejected  |
| publish    | moderator                         | accepted, withheld            | published |
| withhold   | moderator                         | accepted, published           | withheld  |
| withdraw   | the submitter (`evidence:submit`) | received, accepted            | withdrawn |

A new submission is `received`. `rejected` and `withdrawn` are final. Anything else is 409
(`/problems/invalid-transition`). Who may take each step, and what else a step needs (a reason,
consent to publish), is `evidence.moderation`'s to check.
"""

from __future__ import annotations

from evidence.schemas import DecisionAction
from evidence.schemas import SubmissionStatus as S
from servicekit.problems import ProblemError

WITHDRAW = "withdraw"
# action → {from status: to status}; see the module docstring.
TRANSITIONS: dict[str, dict[str, str]] = {
    DecisionAction.accept: {S.received: S.accepted},
    DecisionAction.reject: {S.received: S.rejected, S.accepted: S.rejected, S.withheld: S.rejected},
    DecisionAction.publish: {S.accepted: S.published, S.withheld: S.published},
    DecisionAction.withhold: {S.accepted: S.withheld, S.published: S.withheld},
    WITHDRAW: {S.received: S.withdrawn, S.accepted: S.withdrawn},
}


def next_status(current: str, action: str) -> str:
    """The status `action` moves a submission to from `current`; 409 if the table has no step."""
    to = TRANSITIONS[action].get(current)
    if to is None:
        possible = sorted(a for a, moves in TRANSITIONS.items() if current in moves)
        raise ProblemError(
            409,
            "Step out of order",
            f"Cannot {action} a submission that is {current}. From {current}: "
            + (", ".join(possible) if possible else "no further steps (it is final)")
            + ".",
            type_="/problems/invalid-transition",
        )
    return to
