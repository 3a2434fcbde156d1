"""Operator commands on the gateway database: `scrutiny clients --help`, `scrutiny keys --help`
(or `python -m gateway.identity.manage --help` where only the gateway is installed)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from gateway.config import ALEMBIC_INI, Settings
from gateway.identity import clients as service
from gateway.identity import repository
from gateway.identity.schemas import ClientCreate, ClientRead, ClientUpdate, ServiceClientCreate
from gateway.models import ApiClient
from servicekit.db import create_engine, make_sessionmaker
from servicekit.pagination import PageParams


async def _in_transaction(settings: Settings, work: Any) -> Any:
    engine = create_engine(settings.database_url)
    try:
        maker = make_sessionmaker(engine)
        async with maker() as session, session.begin():
            return await work(session)
    finally:
        await engine.dispose()


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ALEMBIC_INI))
    # env.py reads the URL from Settings; pass it through the environment it already uses.
    import os

    os.environ["GATEWAY_DATABASE_URL"] = settings.database_url
    command.upgrade(cfg, "head")
    return 0


def _clients_create(settings: Settings, args: argparse.Namespace) -> int:
    kind = ServiceClientCreate if args.service else ClientCreate
    body = kind(
        name=args.name,
        organisation=args.org,
        scopes=args.scope,
        rate_limit_per_minute=args.rate_limit,
    )

    async def work(session: Any) -> tuple[ClientRead, str]:
        return await service.create_client(session, body)

    read, secret = asyncio.run(_in_transaction(settings, work))
    if args.json:
        print(json.dumps({"client_id": read.client_id, "client_secret": secret}))
    else:
        print(f"client_id:     {read.client_id}")
        print(f"client_secret: {secret}")
        print(f"scopes:        {' '.join(read.scopes)}")
        print("Store the secret now; it is not shown again.")
    return 0


def _clients_list(settings: Settings, args: argparse.Namespace) -> int:
    async def work(session: Any) -> list[ClientRead]:
        out: list[ClientRead] = []
        token: str | None = None
        while True:
            rows, token = await repository.list_clients(
                session,
                PageParams(page_size=200, page_token=token),
                organisation=[],
                client_id=[],
                active=None,
            )
            out.extend(ClientRead.model_validate(r) for r in rows)
            if not token:
                return out

    clients = asyncio.run(_in_transaction(settings, work))
    if args.json:
        print(json.dumps([c.model_dump(mode="json") for c in clients]))
    else:
        for c in clients:
            state = "active" if c.active else "disabled"
            print(f"{c.client_id}  {state:8}  {c.organisation} / {c.name}  [{' '.join(c.scopes)}]")
    return 0


async def _client(session: Any, client_id: str) -> ApiClient:
    row = await repository.client_by_client_id(session, client_id)
    if row is None:
        raise LookupError(f"no API client {client_id!r}")
    return row


def _clients_set_active(settings: Settings, args: argparse.Namespace, active: bool) -> int:
    async def work(session: Any) -> ClientRead:
        row = await _client(session, args.client_id)
        return await service.update_client(session, row, ClientUpdate(active=active))

    read = asyncio.run(_in_transaction(settings, work))
    if args.json:
        print(json.dumps(read.model_dump(mode="json")))
    elif active:
        print(f"{read.client_id} enabled: it can get tokens again")
    else:
        # The bound is the gateway's client cache (identity/clients.py, GATEWAY_CLIENT_CACHE_TTL_S).
        print(
            f"{read.client_id} disabled: no new tokens; its live tokens are refused within "
            f"{settings.client_cache_ttl_s:g}s"
        )
    return 0


def _clients_disable(settings: Settings, args: argparse.Namespace) -> int:
    return _clients_set_active(settings, args, active=False)


def _clients_enable(settings: Settings, args: argparse.Namespace) -> int:
    return _clients_set_active(settings, args, active=True)


def _clients_rotate_secret(settings: Settings, args: argparse.Namespace) -> int:
    async def work(session: Any) -> tuple[ClientRead, str]:
        return await service.rotate_secret(session, await _client(session, args.client_id))

    read, secret = asyncio.run(_in_transaction(settings, work))
    if args.json:
        print(json.dumps({"client_id": read.client_id, "client_secret": secret}))
    else:
        print(f"client_id:     {read.client_id}")
        print(f"client_secret: {secret}")
        print("The old secret no longer works. Store this one now; it is not shown again.")
    return 0


def _keys_rotate(settings: Settings, args: argparse.Namespace) -> int:
    async def work(session: Any) -> Any:
        return await service.rotate_signing_key(
            session, settings.key_publish_delay_s, settings.key_cipher()
        )

    read = asyncio.run(_in_transaction(settings, work))
    if args.json:
        print(json.dumps({"kid": read.kid, "created_at": read.created_at.isoformat()}))
    else:
        print(f"new signing key {read.kid}; it signs tokens in {settings.key_publish_delay_s:g}s")
    return 0


Command = Callable[[Settings, argparse.Namespace], int]


def _command(
    group: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    run: Command,
    help_: str,
) -> argparse.ArgumentParser:
    p = group.add_parser(name, help=help_, description=help_)
    p.set_defaults(run=run)
    return p


def add_client_commands(clients: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `clients` subcommands (create, list, disable, enable, rotate-secret), on any parser:
    `scrutiny clients` builds its own from these."""
    create = _command(
        clients, "create", _clients_create, "Create a client and print its secret once."
    )
    create.add_argument("--name", required=True)
    create.add_argument("--org", required=True, help="The organisation the client acts for.")
    create.add_argument("--scope", action="append", required=True, help="Repeat for each scope.")
    create.add_argument(
        "--service",
        action="store_true",
        help="A client for one of Scrutiny's own services: the only kind that may hold a "
        "reserved scope (events:internal).",
    )
    create.add_argument("--rate-limit", type=int, default=None, help="Requests per minute.")
    create.add_argument("--json", action="store_true", help="Print {client_id, client_secret}.")
    listing = _command(clients, "list", _clients_list, "List clients.")
    listing.add_argument("--json", action="store_true", help="Print the clients as JSON.")
    for name, run, help_ in (
        (
            "disable",
            _clients_disable,
            "Disable a client: no new tokens at once; its unexpired tokens are refused within "
            "the gateway's client cache (GATEWAY_CLIENT_CACHE_TTL_S, 2 s by default).",
        ),
        ("enable", _clients_enable, "Enable a disabled client again."),
        (
            "rotate-secret",
            _clients_rotate_secret,
            "Give a client a new secret, printed once; the old one stops working at once.",
        ),
    ):
        p = _command(clients, name, run, help_)
        p.add_argument("client_id", help="The client's client_id (see `clients list`).")
        p.add_argument("--json", action="store_true", help="Print the result as JSON.")


def add_key_commands(keys: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `keys` subcommands (rotate)."""
    rotate = _command(keys, "rotate", _keys_rotate, "Add a new signing key; the old one retires.")
    rotate.add_argument("--json", action="store_true", help="Print {kid, created_at}.")


def parser(prog: str = "python -m gateway.identity.manage") -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(
        prog=prog,
        description="Manage the gateway's API clients and signing keys "
        "(database from GATEWAY_DATABASE_URL, else SQLite under SCRUTINY_DATA_DIR).",
    )
    groups = p.add_subparsers(dest="group", required=True)
    _command(groups, "migrate", _migrate, "Upgrade the gateway database to the latest schema.")
    add_client_commands(
        groups.add_parser("clients", help="API clients.").add_subparsers(
            dest="command", required=True
        )
    )
    add_key_commands(
        groups.add_parser("keys", help="Token-signing keys.").add_subparsers(
            dest="command", required=True
        )
    )
    return p


def run(args: argparse.Namespace) -> int:
    """Run parsed command `args` (from `parser()` or `add_*_commands`); returns the exit status."""
    settings = Settings()
    try:
        command: Command = args.run
        return command(settings, args)
    except LookupError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 1
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        print(f"error: {exc}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; returns the exit status."""
    return run(parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
