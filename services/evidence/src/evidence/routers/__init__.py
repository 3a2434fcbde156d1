"""HTTP routes of the evidence service, a router per resource (their order is the OpenAPI's)."""

from __future__ import annotations

from fastapi import APIRouter

from evidence.routers import attachments, calls, decisions, redactions, submissions

ROUTERS: list[APIRouter] = [
    calls.router,
    submissions.router,
    decisions.router,
    redactions.router,
    attachments.router,
]
