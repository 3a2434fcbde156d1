"""`Idempotency-Key` for creates that clients retry: a retry never makes a second resource.

Contract (DESIGN.md "API contract"):

- Keys are scoped to the client: `(client_id, key)` is the primary key of the service's
  `idempotency_keys` table, so two clients may use the same key independently.
- Same key, same request → the first response is replayed (same status, body, `Location`,
  `ETag`) with `Idempotent-Replayed: true`. "Same request" means the same method, path and
  *validated* body (its canonical JSON, sorted keys), so key order or whitespace do not matter.
- Same key, different request → 422 (`/problems/idempotency-key-reused`).
- Same key while the first request is still being processed → 409
  (`/problems/idempotency-key-in-flight`) with `Retry-After`.
- A key expires `ttl` after it was first used (24 hours by default); after that it may be used
  again for any request, as if new. Expired rows are deleted by `purge_expired` / `sweeper`.

How it is exactly-once, also with several replicas on PostgreSQL:

1. **Claim** (its own short transaction, committed before any work): read the key's row
   (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` already serialises
   writers). No row → insert `(client_id, key, request_hash, state=in_flight, claim_token,
   lease_expires_at)`. Two first requests racing both try the insert; the primary key lets one
   win and the other gets an IntegrityError, looks again, and finds the winner's claim (409).
2. **Create and complete** (one transaction): the create runs, then the claim row is updated to
   `state=done` with the response, *conditionally on still holding the claim* (`WHERE
   claim_token = ours AND state = in_flight`). Both commit together, so a stored response means
   the resource exists and vice versa; a 201 is only sent after that commit.
3. **Failure** of the create (a 4xx problem, a database error, a failed commit) rolls the
   transaction back and then deletes our claim (only if it is still ours and in flight), so the
   client may retry with the same key. Errors are not replayed: nothing was stored.
4. **Abandoned claims**: a process that dies between claim and completion leaves an in-flight
   row. After `lease` (60 s by default) a retry takes it over with a new claim token. Should the
   original still be running, its conditional completion then matches no row and its transaction
   rolls back (409), so even then exactly one create commits: the row lock on PostgreSQL (or the
   single writer on SQLite) orders the takeover and the completion.

Usage: declare `class IdempotencyKey(IdempotencyKeyMixin, Base): __tablename__ =
"idempotency_keys"` in the service's models, build one `Idempotency(IdempotencyKey)`, and in
the route call `await idempotency.run(maker, client_id=..., key=..., fingerprint=...,
create=...)` where `create(session)` does the work and returns a `StoredResponse`. The helper
owns the transaction of such a route (it is that route's unit of work, in place of
`session_from_request`), because the claim must commit before the create and be released after
a rollback. A route that creates one resource and answers it with `Location` (and `ETag`) calls
`Creation` (the route's `servicekit.dependencies.CreateOnce`), which is that call spelled once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Protocol

import orjson
from fastapi import Header
from pydantic import BaseModel
from sqlalchemy import JSON, Integer, String, Text, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import Uuid
from starlette.requests import Request
from starlette.responses import Response

from servicekit.background import loop_task, pause
from servicekit.db import UTCDateTime
from servicekit.etag import created_headers, location_of
from servicekit.ids import utcnow
from servicekit.jsonutil import dumps
from servicekit.problems import FieldError, ProblemError, validation_problem

log = logging.getLogger("servicekit.idempotency")

DEFAULT_TTL = timedelta(hours=24)
DEFAULT_LEASE = timedelta(seconds=60)
MAX_KEY_LENGTH = 200
REPLAYED_HEADER = "Idempotent-Replayed"

IN_FLIGHT = "in_flight"
DONE = "done"

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        description=(
            "A unique value you choose per logical request (a UUID is ideal), at most "
            f"{MAX_KEY_LENGTH} characters. Retrying with the same key and body replays the "
            "first response (with `Idempotent-Replayed: true`) instead of creating again; the "
            "same key with a different body is 422; while the first is still in flight, 409. "
            "Keys are scoped to your client and expire after 24 hours (by default)."
        ),
        examples=["5f0c8a3e-6d0b-4d1c-9a51-1b7f2e4c9d10"],
    ),
]


def created_response_doc(
    description: str = "Created.", *, etag: bool = True
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entry for a 201 of an idempotent create, with its headers.

    `etag=False` for resources that are never changed, whose 201 carries no `ETag`.
    """
    headers: dict[str, Any] = {
        "Location": {
            "description": "URL of the created resource.",
            "schema": {"type": "string"},
        },
        "ETag": {
            "description": "Current ETag of the created resource.",
            "schema": {"type": "string"},
        },
        REPLAYED_HEADER: {
            "description": (
                "`true` when this is the stored response of an earlier request with "
                "the same `Idempotency-Key`; absent otherwise."
            ),
            "schema": {"type": "string", "enum": ["true"]},
        },
    }
    if not etag:
        del headers["ETag"]
    return {201: {"description": description, "headers": headers}}


class IdempotencyKeyMixin:
    """Columns of a service's `idempotency_keys` table: one row per `(client_id, key)`."""

    client_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    # Identifies the current holder of an in-flight claim, so a takeover voids the old holder.
    claim_token: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    lease_expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_headers: Mapped[dict[str, str] | None] = mapped_column(JSON)
    response_body: Mapped[str | None] = mapped_column(Text)


@dataclass(frozen=True)
class StoredResponse:
    """What a create answered: kept with the key and replayed byte for byte."""

    status_code: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str = "application/json"

    @classmethod
    def json(
        cls, status_code: int, content: Any, headers: dict[str, str] | None = None
    ) -> StoredResponse:
        """A JSON response from a JSON-able value (e.g. `model.model_dump(mode="json")`)."""
        return cls(status_code, dumps(content).decode(), dict(headers or {}))

    def to_response(self, *, replayed: bool = False) -> Response:
        """The HTTP response; replays carry `Idempotent-Replayed: true`."""
        headers = dict(self.headers)
        if replayed:
            headers[REPLAYED_HEADER] = "true"
        return Response(
            content=self.body.encode(),
            status_code=self.status_code,
            headers=headers,
            media_type=self.media_type,
        )


def fingerprint(method: str, path: str, body: Any) -> str:
    """A hash of what a request asks for: method, path and its canonical JSON body."""
    # Sorted keys at every depth, so bodies equal as JSON hash equally whatever their key order.
    canonical = orjson.dumps(
        {"method": method.upper(), "path": path, "body": body},
        option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
    )
    return hashlib.sha256(canonical).hexdigest()


def normalise_key(raw: str) -> str:
    """Accept the key bare or as an RFC 8941 string (the IETF draft's quoted form)."""
    if len(raw) >= 2 and raw.startswith('"') and raw.endswith('"'):
        return raw[1:-1]
    return raw


def _reused(key: str) -> ProblemError:
    detail = (
        f"Idempotency-Key {key!r} was already used for a different request; "
        "use a new key for a new request."
    )
    return validation_problem(
        [FieldError(pointer="header.Idempotency-Key", detail=detail, code="key_reused")],
        detail,
        title="Idempotency key reused",
        type_="/problems/idempotency-key-reused",
    )


def _in_flight(key: str) -> ProblemError:
    return ProblemError(
        409,
        "Request in progress",
        f"A request with Idempotency-Key {key!r} is still being processed; retry shortly to "
        "receive its response.",
        type_="/problems/idempotency-key-in-flight",
        headers={"Retry-After": "1"},
    )


def _superseded(key: str) -> ProblemError:
    return ProblemError(
        409,
        "Request superseded",
        f"This request with Idempotency-Key {key!r} took too long and was taken over by a "
        "retry; nothing was stored by it. Retry to receive the stored response.",
        type_="/problems/idempotency-key-in-flight",
        headers={"Retry-After": "1"},
    )


@dataclass(frozen=True)
class Claim:
    """Our hold on a key while its create runs."""

    client_id: str
    key: str
    token: uuid.UUID


CreateFn = Callable[[AsyncSession], Awaitable[StoredResponse]]


class BodyCodec(Protocol):
    """Seals a stored answer's body and opens it again (e.g. encryption at rest)."""

    def seal(self, plaintext: str) -> str:
        """The body as stored."""
        ...

    def open(self, stored: str) -> str:
        """The body as replayed."""
        ...


class Idempotency:
    """Idempotent execution of creates against one service's `idempotency_keys` table."""

    def __init__(
        self,
        model: type[Any],
        *,
        ttl: timedelta = DEFAULT_TTL,
        lease: timedelta = DEFAULT_LEASE,
        codec: BodyCodec | None = None,
    ) -> None:
        self.model = model
        self.ttl = ttl
        self.lease = lease
        # Where a stored answer holds a secret (the gateway's created clients), it is sealed.
        self.codec = codec

    async def run_request(
        self,
        maker: async_sessionmaker[AsyncSession],
        request: Request,
        body: BaseModel,
        *,
        client_id: str,
        key: str | None,
        create: CreateFn,
    ) -> Response:
        """`run` for a route: the request's method, path and validated body are the fingerprint."""
        return await self.run(
            maker,
            client_id=client_id,
            key=key,
            fingerprint=fingerprint(request.method, request.url.path, body.model_dump(mode="json")),
            create=create,
        )

    async def run(
        self,
        maker: async_sessionmaker[AsyncSession],
        *,
        client_id: str,
        key: str | None,
        fingerprint: str,
        create: CreateFn,
    ) -> Response:
        """Run `create` in its own transaction, at most once per `(client_id, key)`."""
        if key is None:
            async with maker() as session, session.begin():
                stored = await create(session)
            return stored.to_response()
        key = normalise_key(key)
        if not key.strip():
            raise validation_problem(
                [FieldError(pointer="header.Idempotency-Key", detail="empty", code="empty")],
                "Idempotency-Key must not be empty.",
            )
        outcome = await self.claim(maker, client_id, key, fingerprint)
        if isinstance(outcome, StoredResponse):
            return outcome.to_response(replayed=True)
        try:
            async with maker() as session, session.begin():
                stored = await create(session)
                await self.complete(session, outcome, stored)
        except BaseException:
            # Shielded so a cancelled request still frees its key; the lease covers the rest.
            try:
                await asyncio.shield(self.release(maker, outcome))
            except BaseException:
                log.warning("could not release idempotency claim %s; its lease will", outcome.key)
            raise
        return stored.to_response()

    async def claim(
        self,
        maker: async_sessionmaker[AsyncSession],
        client_id: str,
        key: str,
        request_hash: str,
    ) -> Claim | StoredResponse:
        """Take the key (committed), or return the stored response; 409/422 problems otherwise."""
        fresh = await self._claim_new(maker, client_id, key, request_hash)
        if fresh is not None:
            return fresh
        for _ in range(3):
            try:
                async with maker() as session, session.begin():
                    return await self._claim_in(session, client_id, key, request_hash)
            except IntegrityError:
                # A concurrent first use inserted the row between our read and insert.
                continue
        raise _in_flight(key)

    async def _claim_new(
        self,
        maker: async_sessionmaker[AsyncSession],
        client_id: str,
        key: str,
        request_hash: str,
    ) -> Claim | None:
        """Claim a key never used before in one autocommitted statement, or None if it exists.

        Almost every key is new: `INSERT ... ON CONFLICT DO NOTHING` takes it in one round trip
        and one commit, where reading first costs BEGIN, a locking SELECT, the INSERT and COMMIT.
        A key already present (a retry, a reuse, a concurrent first use) takes the locking path.
        """
        model = self.model
        now = utcnow()
        token = uuid.uuid4()
        async with maker() as session:
            conn = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            stmt = (
                insert(model)
                .values(**self._fresh(client_id, key, request_hash, token, now))
                .on_conflict_do_nothing(index_elements=["client_id", "key"])
                .returning(model.key)
            )
            taken = (await conn.execute(stmt)).first()
        return Claim(client_id, key, token) if taken is not None else None

    def _fresh(
        self, client_id: str, key: str, request_hash: str, token: uuid.UUID, now: datetime
    ) -> dict[str, Any]:
        """The row of a newly claimed key."""
        return {
            "client_id": client_id,
            "key": key,
            "request_hash": request_hash,
            "state": IN_FLIGHT,
            "claim_token": token,
            "created_at": now,
            "lease_expires_at": now + self.lease,
            "expires_at": now + self.ttl,
        }

    async def _claim_in(
        self, session: AsyncSession, client_id: str, key: str, request_hash: str
    ) -> Claim | StoredResponse:
        model = self.model
        stmt = select(model).where(model.client_id == client_id, model.key == key)
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = (await session.scalars(stmt)).one_or_none()
        now = utcnow()
        token = uuid.uuid4()
        if row is None:
            session.add(model(**self._fresh(client_id, key, request_hash, token, now)))
            await session.flush()
            return Claim(client_id, key, token)
        if row.expires_at <= now:
            # An expired key is free again: start over as if it were new.
            row.request_hash = request_hash
            row.state = IN_FLIGHT
            row.created_at = now
            row.expires_at = now + self.ttl
            row.response_status = None
            row.response_headers = None
            row.response_body = None
        elif row.request_hash != request_hash:
            raise _reused(key)
        elif row.state == DONE:
            return StoredResponse(
                status_code=int(row.response_status or 200),
                body=self._open(row.response_body or ""),
                headers=dict(row.response_headers or {}),
            )
        elif row.lease_expires_at > now:
            raise _in_flight(key)
        else:
            log.warning("taking over abandoned idempotency claim %r of %s", key, client_id)
        row.claim_token = token
        row.lease_expires_at = now + self.lease
        return Claim(client_id, key, token)

    def _open(self, stored: str) -> str:
        return stored if self.codec is None or not stored else self.codec.open(stored)

    async def complete(self, session: AsyncSession, claim: Claim, stored: StoredResponse) -> None:
        """Store the response with the key, in the create's transaction; 409 if taken over."""
        model = self.model
        result = await session.execute(
            update(model)
            .where(
                model.client_id == claim.client_id,
                model.key == claim.key,
                model.claim_token == claim.token,
                model.state == IN_FLIGHT,
            )
            .values(
                state=DONE,
                response_status=stored.status_code,
                response_headers=stored.headers,
                response_body=stored.body if self.codec is None else self.codec.seal(stored.body),
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            raise _superseded(claim.key)

    async def release(self, maker: async_sessionmaker[AsyncSession], claim: Claim) -> None:
        """Give up our claim after a failed create, so the client may retry with the key."""
        model = self.model
        async with maker() as session, session.begin():
            await session.execute(
                delete(model)
                .where(
                    model.client_id == claim.client_id,
                    model.key == claim.key,
                    model.claim_token == claim.token,
                    model.state == IN_FLIGHT,
                )
                .execution_options(synchronize_session=False)
            )


class Created(Protocol):
    """What a create's rule returns: a read model of the new resource, with its id."""

    @property
    def id(self) -> uuid.UUID: ...

    def model_dump(self, *, mode: str = ...) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Creation:
    """One request's idempotent create, bound to its app and its `Idempotency-Key` (a route
    takes it as `servicekit.dependencies.CreateOnce` and calls it with the rest)."""

    idempotency: Idempotency
    maker: async_sessionmaker[AsyncSession]
    request: Request
    key: str | None

    async def __call__(
        self,
        body: BaseModel,
        *,
        client_id: str,
        create_read: Callable[[AsyncSession], Awaitable[Created]],
        location_route: str,
        location_params: Mapping[str, object] | None = None,
        id_param: str = "id",
        etag: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """`create_read(session)` once per key, answered 201 with `Location` (the route
        `location_route`, the new id as `id_param` beside `location_params`), its first `ETag`
        unless `etag=False` (resources never changed carry none), and `headers`."""

        async def create(session: AsyncSession) -> StoredResponse:
            read = await create_read(session)
            location = location_of(
                self.request, location_route, **{**(location_params or {}), id_param: read.id}
            )
            answer = created_headers(location, read.id) if etag else {"Location": location}
            return StoredResponse.json(
                201, read.model_dump(mode="json"), {**answer, **(headers or {})}
            )

        return await self.idempotency.run_request(
            self.maker, self.request, body, client_id=client_id, key=self.key, create=create
        )


async def purge_expired(
    maker: async_sessionmaker[AsyncSession], model: type[Any], *, now: datetime | None = None
) -> int:
    """Delete expired keys; returns how many. Safe to run on every replica at once."""
    async with maker() as session, session.begin():
        result = await session.execute(
            delete(model)
            .where(model.expires_at <= (now or utcnow()))
            .execution_options(synchronize_session=False)
        )
    return int(getattr(result, "rowcount", 0) or 0)


@contextlib.asynccontextmanager
async def sweeper(
    maker: async_sessionmaker[AsyncSession], model: type[Any], interval: float = 3600.0
) -> AsyncIterator[None]:
    """Purge expired keys every `interval` seconds for the life of the app."""

    async def loop(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await purge_expired(maker, model)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("idempotency key purge failed; will retry")
            await pause(interval, stop)

    async with loop_task("idempotency-sweeper", loop):
        yield
