"""Which requests are a person's browser asking for a page, and which are API calls.

Written once for the edge (the page quota), the page cache and the HTML error pages: the API's
paths keep answering problem+json whatever the Accept header says, and everything else on the
gateway (the page space) answers a browser with HTML.
"""

from __future__ import annotations

from collections.abc import Iterable

# The API and the machinery beside it; everything else is the public site's.
API_PREFIXES = ("/v1/", "/oauth/", "/.well-known/")
API_PATHS = frozenset({"/v1", "/openapi.json", "/healthz", "/readyz", "/metrics"})
# Static assets are files, not pages: no page quota, no page cache (StaticFiles does its own
# ETag and HEAD).
ASSET_PREFIXES = ("/static/", "/docs/assets/")

HTML = "text/html"
JSON_TYPES = ("application/json", "application/problem+json")


def is_page_path(path: str) -> bool:
    """True for the public site's paths (pages, their downloads, unknown non-API paths)."""
    return not (
        path in API_PATHS or path.startswith(API_PREFIXES) or path.startswith(ASSET_PREFIXES)
    )


def _quality(accept: str, media_type: str) -> float:
    """The q a parsed Accept header gives `media_type` (most specific range wins, RFC 9110)."""
    kind = media_type.split("/", 1)[0]
    best: tuple[int, float] = (-1, 0.0)
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        rng = fields[0].lower()
        if rng == media_type:
            specificity = 2
        elif rng == f"{kind}/*":
            specificity = 1
        elif rng == "*/*":
            specificity = 0
        else:
            continue
        q = 1.0
        for param in fields[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if specificity > best[0]:
            best = (specificity, q)
    return best[1]


def prefers_html(accept: str | None) -> bool:
    """True when the caller asks for HTML above JSON: a browser, not curl's `*/*` or a client."""
    if not accept:
        return False
    html = _quality(accept, HTML)
    return html > 0 and all(html > _quality(accept, t) for t in JSON_TYPES)


def header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    """One request header from an ASGI scope's raw list (the first, latin-1 decoded)."""
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def wants_page(path: str, headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """True when an error on this request should be an HTML page rather than problem+json."""
    return is_page_path(path) and prefers_html(header(headers, b"accept"))
