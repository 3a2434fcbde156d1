"""Atom 1.0 feeds: published evaluations, published evidence, and each commitment's changes.

Written with feedgen (escaping, RFC 3339 dates and element order are its job). Ids are
`urn:uuid:` URNs: an entry's is its resource's own UUID, a feed's a UUIDv5 of its path, so
neither changes with the host name the gateway is reached by. Entries read like the pages:
dates as GOV.UK writes them, changes in words, no ids or JSON paths.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any

from fastapi import APIRouter, Request
from feedgen.feed import FeedGenerator  # type: ignore[import-untyped]  # ships no type information
from starlette.responses import HTMLResponse, Response

from gateway.backends import ServiceError, ServiceUnavailableError
from gateway.backends.models import Revision
from gateway.dependencies import backends_of
from gateway.pages.opendata import base_url
from gateway.pages.router import not_found, unavailable
from gateway.pages.words import action_words, change_sentence, figure, long_date

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

ATOM = "application/atom+xml"
# A feed carries the newest entries; the open data downloads hold everything.
ENTRIES = 50
# Revisions read for a commitment's feed (its whole history, within reason).
HISTORY = 10_000
FEED_NAMESPACE = uuid.UUID("0b9f6b8e-5d3c-5e0e-9a53-1c1a2c3d4e5f")


def describe(revision: Revision, reference: str) -> tuple[str, str]:
    """A revision's title and text in plain English, worded as the scorecard's history is
    (`gateway.pages.words`)."""
    if revision.action == "created":
        title = f"{reference} was recorded"
        sentences = [f"The commitment was recorded, made on {long_date(revision.effective_on)}."]
    else:
        sentences = [
            change_sentence(c.model_dump(mode="json"), None, figure) for c in revision.changes
        ] or [f"The commitment was {action_words(revision.action).lower()}."]
        more = len(sentences) - 1
        title = sentences[0].rstrip(".") + (
            f" (and {more} more change{'s' if more > 1 else ''})" if more else ""
        )
    text = " ".join(sentences)
    if revision.reason:
        text += f" Reason: {revision.reason}"
    text += f" Recorded by {revision.organisation}; effective {long_date(revision.effective_on)}."
    return title, text


def _at(value: Any) -> datetime:
    """A datetime (dates at midnight UTC) for Atom's `updated`."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), UTC)
    return datetime.now(UTC)


def _feed(request: Request, path: str, title: str, alternate: str, subtitle: str) -> FeedGenerator:
    base = base_url(request)
    fg = FeedGenerator()
    fg.id(uuid.uuid5(FEED_NAMESPACE, path).urn)
    fg.title(title)
    fg.subtitle(subtitle)
    fg.author({"name": "Scrutiny"})
    fg.link(href=f"{base}{path}", rel="self", type=ATOM)
    fg.link(href=f"{base}{alternate}", rel="alternate", type="text/html")
    fg.rights("Open Government Licence v3.0")
    fg.language("en-GB")
    return fg


def _answer(fg: FeedGenerator, entries: list[datetime]) -> Response:
    # An empty feed is as new as its first request; otherwise as new as its newest entry.
    fg.updated(max(entries) if entries else datetime.now(UTC))
    return Response(
        fg.atom_str(pretty=True), media_type=ATOM, headers={"Cache-Control": "public, max-age=60"}
    )


@router.api_route(
    methods=["GET", "HEAD"],
    path="/feeds/evaluations.atom",
    name="feed_evaluations",
    operation_id="feed_evaluations",
    summary="Atom feed of published evaluations",
)
async def evaluations_feed(request: Request) -> Response:
    """Published evaluations, newest first, with their overall ratings."""
    backends = backends_of(request)
    try:
        found = await backends.ratings.published_evaluations(limit=HISTORY)
    except (ServiceError, ServiceUnavailableError):
        return unavailable(request, "evaluations feed")
    found.sort(key=lambda e: (str(e.published_on or ""), str(e.id)), reverse=True)
    fg = _feed(
        request,
        "/feeds/evaluations.atom",
        "Scrutiny: published evaluations",
        "/",
        "Each evaluation of government commitments as it is published.",
    )
    stamps = []
    for e in found[:ENTRIES]:
        extra = e.model_extra or {}
        when = _at(extra.get("updated_at") or e.published_on)
        stamps.append(when)
        fe = fg.add_entry(order="append")
        fe.id(uuid.UUID(str(e.id)).urn)
        fe.title(e.title)
        fe.updated(when)
        fe.published(_at(e.published_on))
        fe.author({"name": e.body})
        fe.link(href=f"{base_url(request)}/evaluations/{e.id}", rel="alternate", type="text/html")
        rated = len(e.commitment_ids)
        fe.summary(
            f"Published on {long_date(e.published_on)} by {e.body}: "
            f"{rated} commitment{'s' if rated != 1 else ''} rated."
        )
    return _answer(fg, stamps)


@router.api_route(
    methods=["GET", "HEAD"],
    path="/feeds/evidence.atom",
    name="feed_evidence",
    operation_id="feed_evidence",
    summary="Atom feed of published evidence",
)
async def evidence_feed(request: Request) -> Response:
    """Published evidence, newest first, as the public API shows it (redactions applied)."""
    try:
        found = await backends_of(request).evidence.all_published(limit=HISTORY * 20)
    except (ServiceError, ServiceUnavailableError):
        return unavailable(request, "evidence feed")
    found.sort(key=lambda s: (_at(s.published_at), str(s.id)), reverse=True)
    fg = _feed(
        request,
        "/feeds/evidence.atom",
        "Scrutiny: published evidence",
        "/evidence",
        "Written evidence on government commitments as it is published.",
    )
    stamps = []
    for s in found[:ENTRIES]:
        when = _at(s.published_at)
        stamps.append(when)
        fe = fg.add_entry(order="append")
        fe.id(uuid.UUID(str(s.id)).urn)
        ref = f"{s.publication_reference}: " if s.publication_reference else ""
        fe.title(ref + s.title)
        fe.updated(when)
        fe.published(when)
        fe.author({"name": s.submitter.organisation if s.submitter else "Published anonymously"})
        fe.link(href=f"{base_url(request)}/evidence/{s.id}", rel="alternate", type="text/html")
        fe.summary(s.summary or s.title)
    return _answer(fg, stamps)


@router.api_route(
    methods=["GET", "HEAD"],
    path="/commitments/{ident}/feed.atom",
    name="feed_commitment",
    operation_id="feed_commitment",
    summary="Atom feed of a commitment's changes",
)
async def commitment_feed(request: Request, ident: str) -> Response:
    """Every recorded change to one commitment, newest first, in words."""
    try:
        key = str(uuid.UUID(ident))
    except ValueError:
        return not_found(request, "There is no commitment at this address.")
    backends = backends_of(request)
    try:
        detail = await backends.commitments.commitment(key)
        revisions = await backends.commitments.all_revisions(key, limit=HISTORY)
    except ServiceError as exc:
        if exc.status_code == 404:
            return not_found(request, "There is no commitment at this address.")
        return unavailable(request, "commitment's feed")
    except ServiceUnavailableError:
        return unavailable(request, "commitment's feed")
    commitment = detail.commitment
    fg = _feed(
        request,
        f"/commitments/{key}/feed.atom",
        f"Changes to {commitment.reference}: {commitment.title}",
        f"/commitments/{key}",
        "Every recorded change to this commitment's wording, dates, status and targets.",
    )
    stamps = []
    for r in sorted(revisions, key=lambda r: r.recorded_at, reverse=True)[:ENTRIES]:
        title, text = describe(r, commitment.reference)
        when = _at(r.recorded_at)
        stamps.append(when)
        fe = fg.add_entry(order="append")
        fe.id(uuid.UUID(str(r.id)).urn)
        fe.title(title)
        fe.updated(when)
        fe.author({"name": r.organisation})
        fe.link(href=f"{base_url(request)}/commitments/{key}", rel="alternate", type="text/html")
        fe.content(text, type="text")
    return _answer(fg, stamps)
