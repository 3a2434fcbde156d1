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


_TABLE = re.compile(r"<table\b.*?</table>", re.DOTALL)
_THEAD = re.compile(r"<thead\b.*?</thead>", re.DOTALL)
_TBODY = re.compile(r"<tbody\b.*?</tbody>", re.DOTALL)
_ROW = re.compile(r"<tr\b.*?</tr>", re.DOTALL)
_CELL_TAG = re.compile(r"<(td|th)\b([^>]*)>")
_CELL = re.compile(r"<(td|th)\b[^>]*>(.*?)</\1>", re.DOTALL)
_COLSPAN = re.compile(r'colspan="(\d+)"')
_TAG = re.compile(r"<[^>]+>")
_OPEN = {
    "table": re.compile(r"<table\b"),
    "rowgroup": re.compile(r"<t(?:head|body)\b"),
    "row": re.compile(r"<tr\b"),
}


def _text(html: str) -> str:
    return " ".join(_TAG.sub("", html).split()).replace('"', "&quot;")


def _label_row(row: str, headers: list[str]) -> str:
    """Each cell of a body row named by its column's header (`data-label`), with its role."""
    column = 0

    def cell(match: re.Match[str]) -> str:
        nonlocal column
        tag, attrs = match.group(1), match.group(2)
        label = headers[column] if column < len(headers) else ""
        span = _COLSPAN.search(attrs)
        column += int(span.group(1)) if span else 1
        role = "rowheader" if tag == "th" else "cell"
        extra = f' role="{role}"'
        if label and "data-label" not in attrs:
            extra += f' data-label="{label}"'
        return f"<{tag}{attrs}{extra}>"

    return _CELL_TAG.sub(cell, row)


def _stackable(table: str) -> str:
    head = _THEAD.search(table)
    headers = [_text(m.group(2)) for m in _CELL.finditer(head.group(0))] if head else []
    if head:
        labelled = _CELL_TAG.sub(
            lambda m: f'<{m.group(1)}{m.group(2)} role="columnheader">', head.group(0)
        )
        labelled = _OPEN["row"].sub('<tr role="row"', labelled)
        table = table.replace(head.group(0), labelled)
    table = _TBODY.sub(
        lambda body: _ROW.sub(
            lambda row: _OPEN["row"].sub('<tr role="row"', _label_row(row.group(0), headers), 1),
            body.group(0),
        ),
        table,
    )
    table = _OPEN["rowgroup"].sub(lambda m: m.group(0) + ' role="rowgroup"', table)
    return _OPEN["table"].sub('<table data-stack="" role="table"', table, 1)


def responsive_tables(html: str) -> Markup:
    """Every table made to stack on narrow screens: GOV.UK's responsive table pattern.

    Below the desktop breakpoint (scrutiny.css) each row becomes a block and each cell shows
    its column's header beside it (`data-label`, from the table's own `<thead>`), so no page
    scrolls sideways, even at 320 px, and nothing is clipped (a table scrolling in its own
    region leaves axe unable to judge the contrast of the cells out of view). CSS `display`
    changes can strip a table's semantics in browsers, so the table, its row groups, rows and
    cells carry their ARIA roles explicitly. Applied once, in base.html, to whatever a page's
    content holds, so every table of every page gets it without each template repeating it.
    The input is the templates' own escaped output, never raw user text.
    """
    # The block is the templates' own autoescaped output; the pattern adds only fixed markup
    # and attributes built from it, with quotes escaped.
    return Markup(_TABLE.sub(lambda m: _stackable(m.group(0)), str(html)))  # noqa: S704  (already-escaped template output)


templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters["responsive_tables"] = responsive_tables
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
