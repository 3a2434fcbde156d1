"""Operator commands on the gateway database: `python -m gateway.identity.manage --help`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any

from gateway.config import ALEMBIC_INI, Settings
from gateway.identity import clients as service
from gateway.identity import repository
from gateway.identity.schemas import ClientCreate, ClientRead, ServiceClientCreate
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


def _migrate(settings: Settings) -> int:
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


def parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(
        prog="python -m gateway.identity.manage",
        description="Manage the gateway's API clients and signing keys "
        "(database from GATEWAY_DATABASE_URL, else SQLite under SCRUTINY_DATA_DIR).",
    )
    groups = p.add_subparsers(dest="group", required=True)
    groups.add_parser("migrate", help="Upgrade the gateway database to the latest schema.")

    clients = groups.add_parser("clients", help="API clients.").add_subparsers(
        dest="command", required=True
    )
    create = clients.add_parser("create", help="Create a client and print its secret once.")
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
    listing = clients.add_parser("list", help="List clients.")
    listing.add_argument("--json", action="store_true")

    keys = groups.add_parser("keys", help="Token-signing keys.").add_subparsers(
        dest="command", required=True
    )
    rotate = keys.add_parser("rotate", help="Add a new signing key; the old one retires.")
    rotate.add_argument("--json", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; returns the exit status."""
    args = parser().parse_args(argv)
    settings = Settings()
    try:
        if args.group == "migrate":
            return _migrate(settings)
        if args.group == "clients" and args.command == "create":
            return _clients_create(settings, args)
        if args.group == "clients" and args.command == "list":
            return _clients_list(settings, args)
        if args.group == "keys" and args.command == "rotate":
            return _keys_rotate(settings, args)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
