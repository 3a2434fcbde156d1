"""HTTP routes of the ratings service, a router per kind of work (their order is the OpenAPI's)."""

from __future__ import annotations

from fastapi import APIRouter

from ratings.routers import evaluations, history, panel, ratings, responses, review, workflow

ROUTERS: list[APIRouter] = [
    evaluations.router,
    workflow.router,
    review.router,
    ratings.router,
    panel.router,
    history.router,
    responses.router,
]
