"""Jinja2 environment, level presentation, and the pages' security and caching headers."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from gateway.config import FEEDBACK_PLACEHOLDER

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


def fmt(value: float | None, unit: str) -> str:
    """A figure in its unit, the way people write it."""
    if value is None:
        return ""
    if unit == "percent":
        return f"{value:g}%"
    if unit == "gbp":
        return f"£{value:,.0f}"
    if unit == "boolean":
        return "yes" if value else "no"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def change_value(value: Any) -> str:
    """A revised value as people read it: a target as its promise, lists joined."""
    if isinstance(value, dict):
        if "metric" in value:
            unit = str(value.get("unit", ""))
            return (
                f"{value['metric']}: {fmt(value.get('target_value'), unit)} "
                f"by {value.get('due_on', '')}"
            )
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


_TABLE = re.compile(r"<table\b.*?</table>", re.DOTALL)
_CAPTION = re.compile(r"<caption\b[^>]*>(.*?)</caption>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def responsive_tables(html: str) -> Markup:
    """Every table in a scrollable region, focusable and named by its caption.

    GOV.UK's pattern for wide tables on narrow screens: the page itself never scrolls sideways
    (at 320 px too), the table does, inside a region a keyboard user can focus and scroll and a
    screen reader announces by the table's caption. Applied once, in base.html, to whatever a
    page's content holds, so every table of every page gets it without each template repeating
    the wrapper. The input is the templates' own escaped output, never raw user text.
    """

    def wrap(match: re.Match[str]) -> str:
        table = match.group(0)
        caption = _CAPTION.search(table)
        words = " ".join(_TAG.sub("", caption.group(1)).split()) if caption else ""
        label = (words or "Table").replace('"', "&quot;")
        return (
            f'<div class="scrutiny-table-region" role="region" aria-label="{label}" '
            f'tabindex="0">{table}</div>'
        )

    # The block is the templates' own autoescaped output; the wrapper adds only fixed markup and an
    # attribute built from it, with quotes escaped.
    return Markup(_TABLE.sub(wrap, str(html)))  # noqa: S704  (already-escaped template output)


templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters["responsive_tables"] = responsive_tables
templates.env.globals.update(
    level_class=level_class,
    level_label=level_label,
    progress_class=progress_class,
    confidence_class=confidence_class,
    fmt=fmt,
    change_value=change_value,
)


def etag_of(body: bytes) -> str:
    """A strong validator for a rendered page: the same bytes, the same tag."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def page(
    request: Request,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
    *,
    cacheable: bool = True,
) -> HTMLResponse:
    """Render a page with its security headers, and its caching headers.

    A complete 200 page is public: `ETag`, `Cache-Control: public, max-age=...` (which also
    lets `gateway.pages.cache` keep it). A page missing a part, an error page, or one made for
    one visitor (`cacheable=False`: a form with its CSRF token, a confirmation) is `no-store`.
    """
    missing = context.get("missing") or []
    settings = request.app.state.settings
    chrome = {
        "missing": [],
        "feedback_url": settings.feedback_url,
        "feedback_placeholder": settings.feedback_url == FEEDBACK_PLACEHOLDER,
    }
    response = templates.TemplateResponse(
        request, template, {**chrome, **context}, status_code=status_code
    )
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if status_code == 200 and cacheable and not missing:
        response.headers["ETag"] = etag_of(bytes(response.body))
        response.headers["Cache-Control"] = (
            f"public, max-age={settings.page_max_age_s}, "
            f"stale-while-revalidate={settings.page_stale_while_revalidate_s}"
        )
    else:
        response.headers["Cache-Control"] = "no-store"
    if status_code == 503 and "Retry-After" not in response.headers:
        response.headers["Retry-After"] = str(settings.retry_after_s)
    return response
