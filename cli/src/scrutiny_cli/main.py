"""`scrutiny`: run the whole suite on the embedded default, migrate, seed, import and export
commitments, manage API clients and signing keys."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from gateway.identity import manage
from scrutiny_cli import backup, credentials, suite, transfer
from scrutiny_cli.seed import SeedError, seed
from scrutiny_cli.supervisor import Supervisor

DEFAULT_DATA_DIR = Path(".data")

# Shown by `--help`, and each run by tests/cli/test_help.py: keep them true.
CLIENTS_EXAMPLES = """examples:
  scrutiny clients create --name Feed --org "Example (fictional)" --scope evidence:submit --json
  scrutiny clients list
  scrutiny clients disable CLIENT_ID
  scrutiny clients enable CLIENT_ID
  scrutiny clients rotate-secret CLIENT_ID --json
"""
KEYS_EXAMPLES = """examples:
  scrutiny keys rotate
"""


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="SQLite files, blobs, logs, demo credentials (default .data)",
    )
    p.add_argument(
        "--port-base",
        type=int,
        default=8000,
        help="gateway port; services on N+1..N+3 (default 8000)",
    )


def cmd_up(args: argparse.Namespace) -> int:
    """Migrate, start all four processes, load the demo data, print URLs; stop on Ctrl-C/SIGTERM."""
    data_dir: Path = args.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    env = suite.environment(data_dir, args.port_base)
    print("migrating databases…", flush=True)
    suite.migrate(env, progress=sys.stdout)
    log_dir = data_dir / "logs"
    procs = suite.start(env, args.port_base, log_dir)
    stopping = threading.Event()

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        suite.wait_ready(procs, args.port_base, log_dir)
        gateway = suite.url(args.port_base, suite.PARTS[0])
        creds = credentials.ensure(env, data_dir / "credentials.json", gateway)
        evaluation = None
        if not args.no_seed:
            print("loading the 2023 evaluation…", flush=True)
            token = credentials.token(gateway, creds["demo_loader"])
            government = credentials.token(gateway, creds["government"])
            assert token is not None
            assert government is not None
            evaluation = seed(gateway, token, government, submitters(gateway, creds))
        _banner(args.port_base, data_dir, env, creds, evaluation)
        watch = Supervisor(procs, env, args.port_base, log_dir)
        while not stopping.is_set():
            watch.check()
            stopping.wait(0.5)
        return 0
    except SeedError as exc:
        print(f"demo data refused: {exc}", file=sys.stderr)
        return 1
    finally:
        print("stopping…", flush=True)
        suite.stop(procs)
        print("stopped.", flush=True)


def _banner(
    port_base: int,
    data_dir: Path,
    env: dict[str, str],
    creds: dict[str, dict[str, str]],
    evaluation: dict[str, str] | None,
) -> None:
    gw = f"http://localhost:{port_base}"
    lines = [
        "",
        f"Scrutiny is running (data folder {data_dir.resolve()})",
        f"  Public site          {gw}/",
        f"  API (gateway)        {gw}/v1",
        f"  API docs             {gw}/docs   (OpenAPI: {gw}/openapi.json)",
        f"  Public event feed    {gw}/v1/events",
    ]
    for part in suite.PARTS[1:]:
        lines.append(f"  {part.name + ' service':<20} {suite.url(port_base, part)}  (internal)")
    lines += ["", "Databases:"]
    for part in suite.PARTS:
        lines.append(f"  {part.name:<20} {suite.database_label(env, part)}")
    if evaluation:
        lines += [
            "",
            "Demo: the Expert Panel's 2023 evaluation",
            f"  curl -H 'Accept: text/csv' {gw}/v1/evaluations/{evaluation['id']}/report",
        ]
    lines += [
        "",
        "Demo API clients (get a token: POST /oauth/token, grant_type=client_credentials):",
    ]
    for role, c in creds.items():
        scopes = " ".join(c["scopes"])
        lines.append(
            f"  {role:<13} client_id={c['client_id']}  client_secret={c['client_secret']}"
            f"  scopes={scopes}"
        )
    lines += [
        f"  (saved in {data_dir / 'credentials.json'}; logs in {data_dir / 'logs'})",
        "",
        "A process that exits is restarted; Ctrl-C stops all four processes.",
    ]
    print("\n".join(lines), flush=True)


def cmd_migrate(args: argparse.Namespace) -> int:
    """Bring every database to the latest migration."""
    suite.migrate(suite.environment(args.data_dir, args.port_base), progress=sys.stdout)
    print("all four databases are at head")
    return 0


def submitters(gateway: str, creds: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Tokens of the clients that enter the demo's evidence under its historical dates (the
    illustrative, fictional submitters and the Department's memorandum), by organisation."""
    found = {}
    for role, saved in creds.items():
        if role.startswith("illustrative_") or role == "government_record":
            access = credentials.token(gateway, saved)
            assert access is not None
            found[saved["organisation"]] = access
    return found


def cmd_seed(args: argparse.Namespace) -> int:
    """Load the demo data into a running suite."""
    env = suite.environment(args.data_dir, args.port_base)
    gateway = args.gateway_url or suite.url(args.port_base, suite.PARTS[0])
    creds = credentials.ensure(env, args.data_dir / "credentials.json", gateway)
    token = credentials.token(gateway, creds["demo_loader"])
    government = credentials.token(gateway, creds["government"])
    assert token is not None
    assert government is not None
    evaluation = seed(gateway, token, government, submitters(gateway, creds))
    print(json.dumps({"evaluation_id": evaluation["id"]}))
    return 0


def cmd_manage(args: argparse.Namespace) -> int:
    """Run a `clients` or `keys` command on the suite's gateway database (the gateway's own
    management code, which owns those tables), with the settings the suite's gateway runs with."""
    os.environ.update(suite.environment(args.data_dir, args.port_base))
    return manage.run(args)


def parser() -> argparse.ArgumentParser:
    """The `scrutiny` command line: every command and subcommand it answers."""
    p = argparse.ArgumentParser(prog="scrutiny", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the whole suite on the embedded default with demo data")
    _common(up)
    up.add_argument("--no-seed", action="store_true", help="start without loading the demo data")
    _common(sub.add_parser("migrate", help="migrate every database to head"))
    sd = sub.add_parser("seed", help="load the demo data into a running suite")
    _common(sd)
    sd.add_argument(
        "--gateway-url", default=None, help="the running gateway (default from --port-base)"
    )
    transfer.add_parsers(sub, DEFAULT_DATA_DIR)
    backup.add_parsers(sub, DEFAULT_DATA_DIR)
    clients = sub.add_parser(
        "clients",
        help="manage API clients (create, list, disable, enable, rotate-secret)",
        description="Manage the gateway's API clients, in its database (the one `scrutiny up` "
        "uses under --data-dir, or GATEWAY_DATABASE_URL).",
        epilog=CLIENTS_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = clients.add_subparsers(dest="action", required=True)
    manage.add_client_commands(actions)
    keys = sub.add_parser(
        "keys",
        help="manage the gateway's token-signing keys (rotate)",
        description="Manage the gateway's token-signing keys, in its database.",
        epilog=KEYS_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    key_actions = keys.add_subparsers(dest="action", required=True)
    manage.add_key_commands(key_actions)
    # On each leaf, so `scrutiny clients create ... --data-dir DIR` reads as the README shows.
    for leaf in (*actions.choices.values(), *key_actions.choices.values()):
        _common(leaf)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `scrutiny` command."""
    args = parser().parse_args(argv)
    commands = {
        "up": cmd_up,
        "migrate": cmd_migrate,
        "seed": cmd_seed,
        "clients": cmd_manage,
        "keys": cmd_manage,
        **transfer.COMMANDS,
        **backup.COMMANDS,
    }
    return commands[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
