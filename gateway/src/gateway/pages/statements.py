"""The site's statements: the accessibility statement and the privacy notice (linked from
every page's footer)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from gateway.pages.render import page

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

# When the statements were last reviewed against what the tests check (shown on the pages).
REVIEWED_ON = "4 December 2026"


@router.get(
    "/accessibility",
    name="page_accessibility",
    operation_id="page_accessibility",
    summary="Accessibility statement",
)
async def accessibility(request: Request) -> HTMLResponse:
    """How accessible the public pages are, how that is tested, and what is known not to be."""
    settings = request.app.state.settings
    return page(
        request,
        "accessibility.html",
        {
            "title": "Accessibility statement",
            "reviewed_on": REVIEWED_ON,
            "page_limit": settings.page_rate_limit_per_minute,
        },
    )


@router.get("/privacy", name="page_privacy", operation_id="page_privacy", summary="Privacy notice")
async def privacy(request: Request) -> HTMLResponse:
    """What the service records about visitors and people who give evidence, and why."""
    return page(request, "privacy.html", {"title": "Privacy notice", "reviewed_on": REVIEWED_ON})
