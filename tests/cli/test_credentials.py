"""The demo's API clients: who they act for, and keeping a saved data folder's clients current."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scrutiny_cli import credentials
from scrutiny_cli.credentials import ROLES

# What it checks does not depend on the database backend: CI runs it on SQLite only.
pytestmark = pytest.mark.backend_independent

# The bodies whose own roles the demo plays: the Department answers, the Committee and its panel
# evaluate, Scrutiny runs the service. Anyone else a demo client acts for is made up.
OWN_ROLES = {
    "Department of Health and Social Care",
    "Health and Social Care Committee",
    "Health and Social Care Committee Expert Panel",
    "Scrutiny",
}


def test_demo_stakeholders_are_fictional_and_say_so() -> None:
    for role, (name, org, _) in ROLES.items():
        if org not in OWN_ROLES:
            assert org.endswith("(fictional)"), role
        assert "NHS Providers" not in name + org, role
    assert ROLES["stakeholder"][1].endswith("(fictional)")


def test_only_the_historical_record_clients_may_backdate_evidence() -> None:
    backdating = {
        role
        for role, (_, _, scopes) in ROLES.items()
        if {"admin", "evidence:submit"} <= set(scopes)
    }
    assert backdating == {
        "illustrative_ics",
        "illustrative_patients",
        "illustrative_supplier",
        "government_record",
    }
    # The everyday clients people try the demo with cannot.
    for role in ("stakeholder", "government", "demo_loader"):
        assert "admin" not in ROLES[role][2]


def test_a_client_saved_under_an_older_role_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[tuple[str, str, list[str]]] = []

    def create(_env: Any, name: str, org: str, scopes: list[str], **_: Any) -> dict[str, Any]:
        made.append((name, org, scopes))
        return {"client_id": f"id-{len(made)}", "client_secret": "s"}

    monkeypatch.setattr(credentials, "create_client", create)
    monkeypatch.setattr(credentials, "token", lambda *_: "a-token")
    path = tmp_path / "credentials.json"
    current = {
        role: {"client_id": role, "client_secret": "s", "name": n, "organisation": o, "scopes": s}
        for role, (n, o, s) in ROLES.items()
    }
    current["stakeholder"] = {
        **current["stakeholder"],
        "name": "NHS Providers evidence system",
        "organisation": "NHS Providers",
    }
    current["illustrative_ics"] = {**current["illustrative_ics"], "scopes": ["evidence:submit"]}
    del current["government_record"]
    credentials.save(path, current)
    creds = credentials.ensure({}, path, "http://gateway")
    assert sorted(m[0] for m in made) == sorted(
        ROLES[r][0] for r in ("stakeholder", "illustrative_ics", "government_record")
    )
    assert creds["stakeholder"]["organisation"] == ROLES["stakeholder"][1]
    assert credentials.load(path)["illustrative_ics"]["scopes"] == ROLES["illustrative_ics"][2]
    made.clear()
    credentials.ensure({}, path, "http://gateway")
    assert made == []
