"""Schemathesis hooks for the contract fuzzing (loaded through SCHEMATHESIS_HOOKS).

- Figures: each API call's phase, operation, status and role, and each failed check, go to the
  JSON-lines file SCRUTINY_FUZZ_STATS, so the test can print what the CLI's own summary does not
  break down (per phase, per role).
- Roles: with SCRUTINY_FUZZ_TOKENS (a JSON object, role -> access token, "" for anonymous), each
  request is sent as the next role in turn, so one run tries every role on every operation
  instead of one run per role (each run costs its own schema load and start-up).
"""

from __future__ import annotations

import itertools
import json
import os
from typing import Any

import schemathesis

_OUT = os.environ.get("SCRUTINY_FUZZ_STATS", "")
_TOKENS: dict[str, str] = json.loads(os.environ.get("SCRUTINY_FUZZ_TOKENS") or "{}")
_ROLE_OF = {f"Bearer {token}": role for role, token in _TOKENS.items() if token}


def _phase(case: Any) -> str:
    meta = getattr(case, "meta", None)
    phase = getattr(getattr(meta, "phase", None), "name", None)
    return str(phase) if phase is not None else "stateful"


def _role(case: Any) -> str:
    if not _TOKENS:
        return ""
    sent = (case.headers or {}).get("Authorization")
    if sent is None:
        return "anonymous"
    return _ROLE_OF.get(str(sent), "other")


def _write(record: dict[str, Any]) -> None:
    if _OUT:
        with open(_OUT, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")


if _TOKENS:

    @schemathesis.auth(refresh_interval=None, retry_on=[])
    class EachRole:
        """The next role's token on each request (none for the anonymous role)."""

        def __init__(self) -> None:
            self._turn = itertools.cycle(sorted(_TOKENS))

        def get(self, case: Any, context: Any) -> str:  # noqa: ARG002
            """The role whose turn it is."""
            return next(self._turn)

        def set(self, case: Any, data: str, context: Any) -> None:  # noqa: ARG002
            """Send that role's token, or no Authorization at all."""
            headers = {k: v for k, v in (case.headers or {}).items() if k != "Authorization"}
            if _TOKENS[data]:
                headers["Authorization"] = f"Bearer {_TOKENS[data]}"
            case.headers = headers


# Schemathesis passes every hook argument; these read only some of them.
@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:  # noqa: ARG001
    """One line per API call: its phase, operation, status and role."""
    _write(
        {
            "kind": "call",
            "phase": _phase(case),
            "operation": case.operation.label,
            "status": response.status_code,
            "role": _role(case),
        }
    )


@schemathesis.hook
def after_validate(context: Any, case: Any, response: Any, results: list[Any]) -> None:  # noqa: ARG001
    """One line per failed check: its phase, operation and check."""
    for result in results:
        if getattr(result, "failure", None) is not None:
            _write(
                {
                    "kind": "failure",
                    "phase": _phase(case),
                    "operation": case.operation.label,
                    "check": result.name,
                }
            )
