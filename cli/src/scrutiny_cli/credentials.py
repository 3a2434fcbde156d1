"""The demo API clients `scrutiny up` creates, one per role, kept in the data folder; and each
feed-reading service's own client (scope `events:internal`), made before the services start."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

# role → (client name, organisation, scopes)
ROLES: dict[str, tuple[str, str, list[str]]] = {
    # A made-up organisation: demo clients never carry a real organisation's name.
    "stakeholder": (
        "Ashby Care Partnership evidence system (fictional)",
        "Ashby Care Partnership (fictional)",
        ["evidence:submit"],
    ),
    "secretariat": (
        "Committee secretariat",
        "Health and Social Care Committee",
        ["commitments:write", "evidence:moderate", "ratings:write"],
    ),
    "panel_member": (
        "Expert Panel member",
        "Health and Social Care Committee Expert Panel",
        ["ratings:write"],
    ),
    "panel_chair": (
        "Expert Panel chair",
        "Health and Social Care Committee Expert Panel",
        ["ratings:write", "ratings:publish"],
    ),
    "government": (
        "DHSC programme office",
        "Department of Health and Social Care",
        ["commitments:write", "responses:write", "evidence:submit"],
    ),
    # The demo's illustrative submissions come from made-up organisations, never real ones. They
    # and the memorandum are entered under the dates they stand for (inside the 2022-23 call,
    # 17 April 2023), and only `admin` may backdate evidence; these clients submit nothing else.
    "illustrative_ics": (
        "Illustrative submitter",
        "Northmoor Integrated Care System (fictional)",
        ["evidence:submit", "admin"],
    ),
    "illustrative_patients": (
        "Illustrative submitter",
        "Fenwick Patients' Forum (fictional)",
        ["evidence:submit", "admin"],
    ),
    "illustrative_supplier": (
        "Illustrative submitter",
        "Hartley Digital Health Ltd (fictional)",
        ["evidence:submit", "admin"],
    ),
    "government_record": (
        "DHSC memorandum, entered by Scrutiny under its date",
        "Department of Health and Social Care",
        ["evidence:submit", "admin"],
    ),
    "admin": ("Scrutiny administrator", "Scrutiny", ["admin"]),
    "demo_loader": (
        "Demo data loader",
        "Scrutiny",
        [
            "commitments:write",
            "evidence:submit",
            "evidence:moderate",
            "ratings:write",
            "ratings:publish",
            "responses:write",
        ],
    ),
}


def create_client(
    env: dict[str, str], name: str, org: str, scopes: list[str], *, service: bool = False
) -> dict[str, Any]:
    """Create a client directly in the gateway's database (the gateway's own management command)."""
    cmd = [
        sys.executable,
        "-m",
        "gateway.identity.manage",
        "clients",
        "create",
        "--name",
        name,
        "--org",
        org,
    ]
    for scope in scopes:
        cmd += ["--scope", scope]
    if service:
        # Only a service client may hold events:internal; the gateway refuses any other a token.
        cmd.append("--service")
    out = subprocess.run([*cmd, "--json"], env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"creating client {name!r} failed:\n{out.stderr}")
    created: dict[str, Any] = json.loads(out.stdout)
    return created


KEY_ENCRYPTION_KEY_FILE = "gateway-key-encryption.key"


def key_encryption_key(data_dir: Path) -> str:
    """The gateway's `GATEWAY_KEY_ENCRYPTION_KEY` for this data folder: made on first use (a
    Fernet key: 32 random bytes, url-safe base64) and kept beside the databases, owner-only."""
    path = data_dir / KEY_ENCRYPTION_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    # O_EXCL: two commands starting at once must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key


def load(path: Path) -> dict[str, dict[str, Any]]:
    """Credentials saved by an earlier `up`."""
    if not path.exists():
        return {}
    saved: dict[str, dict[str, Any]] = json.loads(path.read_text())
    return saved


def save(path: Path, creds: dict[str, dict[str, Any]]) -> None:
    """Write credentials readable by the owner only: they are secrets."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(creds, f, indent=2)
    tmp.replace(path)


def token(gateway: str, creds: dict[str, Any]) -> str | None:
    """An access token for saved credentials, or None if the gateway no longer knows them."""
    resp = httpx.post(
        f"{gateway}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(creds["client_id"], creds["client_secret"]),
        timeout=10,
    )
    if resp.status_code in (400, 401):
        return None
    resp.raise_for_status()
    access: str = resp.json()["access_token"]
    return access


def ensure(env: dict[str, str], path: Path, gateway: str) -> dict[str, dict[str, Any]]:
    """One working client per role: reuse saved ones, create what is missing or stale."""
    creds = load(path)
    changed = False
    for role, (name, org, scopes) in ROLES.items():
        saved = creds.get(role)
        # A client saved under an older definition of its role (another name, organisation or
        # scopes) is replaced, so a data folder from an earlier release gets today's roles.
        current = saved is not None and (saved.get("name"), saved.get("organisation")) == (
            name,
            org,
        )
        if current and saved and saved.get("scopes") == scopes and token(gateway, saved):
            continue
        made = create_client(env, name, org, scopes)
        creds[role] = {**made, "name": name, "organisation": org, "scopes": scopes}
        changed = True
    if changed:
        save(path, creds)
    return creds


# Services that read other services' internal feeds, each as an OAuth client of its own.
SERVICE_CLIENTS: dict[str, str] = {
    "evidence": "Evidence service (reads the commitments feed)",
    "ratings": "Ratings service (reads the commitments and evidence feeds)",
}


def _listed_active(env: dict[str, str]) -> set[str]:
    """Active service clients' ids, read from the gateway's database (the gateway may not run
    yet); one saved before service clients were marked is made again."""
    cmd = [sys.executable, "-m", "gateway.identity.manage", "clients", "list", "--json"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"listing API clients failed:\n{out.stderr}")
    return {c["client_id"] for c in json.loads(out.stdout) if c.get("active") and c.get("service")}


def service_clients(env: dict[str, str], path: Path) -> dict[str, dict[str, Any]]:
    """One `events:internal` client per feed-reading service: reuse saved ones the gateway still
    has, create the rest (straight in the gateway's database, before anything is started)."""
    creds = load(path)
    known = _listed_active(env) if creds else set()
    changed = False
    for service, name in SERVICE_CLIENTS.items():
        saved = creds.get(service)
        if saved and saved.get("client_id") in known:
            continue
        made = create_client(env, name, "Scrutiny", ["events:internal"], service=True)
        creds[service] = {
            **made,
            "name": name,
            "organisation": "Scrutiny",
            "scopes": ["events:internal"],
        }
        changed = True
    if changed:
        save(path, creds)
    return creds


def with_service_clients(env: dict[str, str], path: Path) -> dict[str, str]:
    """`env` plus `<SERVICE>_CLIENT_ID` / `<SERVICE>_CLIENT_SECRET` for each feed reader.

    Credentials already in the environment win (an operator's own). Without credentials a
    service would read only public events, so they are always provided here.
    """
    wanted = [s for s in SERVICE_CLIENTS if not env.get(f"{s.upper()}_CLIENT_ID")]
    if not wanted:
        return env
    creds = service_clients(env, path)
    out = dict(env)
    for service in wanted:
        out[f"{service.upper()}_CLIENT_ID"] = creds[service]["client_id"]
        out[f"{service.upper()}_CLIENT_SECRET"] = creds[service]["client_secret"]
    return out
