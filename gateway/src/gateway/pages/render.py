"""Jinja2 environment, level presentation, and the pages' security headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse

from gateway.pages import words

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"

# Strict: nothing inline, nothing from elsewhere. Charts are inline SVG with presentation
# attributes, which CSP does not treat as inline style.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)

LEVEL_CLASSES = {
    "outstanding": "govuk-tag--turquoise",
    "good": "govuk-tag--green",
    "requires_improvement": "govuk-tag--orange",
    "inadequate": "govuk-tag--red",
}


def level_class(code: str) -> str:
    """Colour of a level's tag; unknown (custom-scale) levels are grey. Text always says it too."""
    return LEVEL_CLASSES.get(code, "govuk-tag--grey")


def level_label(code: str | None, scale: list[dict[str, Any]] | None = None) -> str:
    """A level's human label from the evaluation's scale, else from its code."""
    if not code:
        return "Not rated"
    for s in scale or []:
        if s.get("code") == code:
            return str(s.get("label") or code)
    return code.replace("_", " ").capitalize()


PROGRESS_CLASSES = {
    "met": "govuk-tag--green",
    "on_track": "govuk-tag--turquoise",
    "off_track": "govuk-tag--orange",
    "missed": "govuk-tag--red",
}


def progress_class(status: str) -> str:
    """Colour of a target's progress tag (the words say it too)."""
    return PROGRESS_CLASSES.get(status, "govuk-tag--grey")


CONFIDENCE_CLASSES = {
    "green": "govuk-tag--green",
    "amber_green": "govuk-tag--turquoise",
    "amber": "govuk-tag--yellow",
    "amber_red": "govuk-tag--orange",
    "red": "govuk-tag--red",
}


def confidence_class(level: str) -> str:
    """Colour of a delivery-confidence tag (the words say it too)."""
    return CONFIDENCE_CLASSES.get(level, "govuk-tag--grey")


# A figure in its unit, the way people write it (one rule for the pages and the charts).
fmt = words.figure


def change_sentence(change: dict[str, Any], reason: str | None = None) -> str:
    """A revision's change as a sentence, figures in their units."""
    return words.change_sentence(change, reason, fmt)


templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals.update(
    level_class=level_class,
    level_label=level_label,
    progress_class=progress_class,
    confidence_class=confidence_class,
    fmt=fmt,
    change_sentence=change_sentence,
    level_meaning=words.level_meaning,
    dimension_meaning=words.dimension_meaning,
    rule_words=words.rule_words,
    overall_in_words=words.overall_in_words,
    rollup_in_words=words.rollup_in_words,
    reference_words=words.reference_words,
    action_words=words.action_words,
    dims_of=words.dims_of,
)
templates.env.filters["long_date"] = words.long_date


def page(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """Render a page with its security headers."""
    response = templates.TemplateResponse(
        request, template, {"missing": [], **context}, status_code=status_code
    )
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response
