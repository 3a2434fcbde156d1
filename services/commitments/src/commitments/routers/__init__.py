"""HTTP routes of the commitments service, a router per resource (their order is the OpenAPI's)."""

from __future__ import annotations

from fastapi import APIRouter

from commitments.routers import (
    commitments,
    delivery,
    lineage,
    policy_areas,
    readings,
    sources,
    targets,
    transfer,
)

ROUTERS: list[APIRouter] = [
    sources.router,
    policy_areas.router,
    commitments.router,
    lineage.router,
    targets.router,
    readings.router,
    delivery.router,
    transfer.router,
]
