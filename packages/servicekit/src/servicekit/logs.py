"""Structured JSON logs carrying the request id of the request that produced them."""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from datetime import UTC, datetime
from typing import IO

import httpx
from asgi_correlation_id import CorrelationIdFilter
from pythonjsonlogger.json import JsonFormatter

_configured = False

# Credentials that must never reach a log line, whoever wrote it: an Authorization header's
# value, a client secret or token in a form, JSON or repr, and anything shaped like a JWT.
_REDACTIONS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"""(?i)(\b(?:proxy-)?authorization['"]?\s*[:=,]\s*(?:b(?=['"]))?['"]?)"""
            r"""(?:(?:bearer|basic)\s+)?[^\s'",;}\]]+"""
        ),
        r"\1[redacted]",
    ),
    (
        re.compile(
            r"""(?i)(\b(?:client_secret|access_token)['"]?\s*[:=,]\s*(?:b(?=['"]))?['"]?)[^\s&'",;}\]]+"""
        ),
        r"\1[redacted]",
    ),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), "[redacted-jwt]"),
]
# Attributes every LogRecord has; anything else came in through `extra=` and is checked too.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}


def redact(text: str) -> str:
    """The text with credentials replaced by `[redacted]`."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Scrubs credentials from the message, its arguments, `extra` fields and tracebacks."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        for key, value in list(vars(record).items()):
            if key not in _RECORD_ATTRS and isinstance(value, str):
                setattr(record, key, redact(value))
        if record.exc_info:
            # Exception messages often quote the request; keep the text, scrubbed.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


# What a caller's `X-Request-ID` may be to be kept (echoed, logged, passed on): 1-128 characters
# of letters, digits and `._:-`. Anything else is replaced by a fresh id, so a log line can never
# be forged through the header and every id fits the log's fields.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def valid_request_id(value: str) -> bool:
    """Whether a caller's `X-Request-ID` is kept as it is."""
    return _REQUEST_ID.fullmatch(value) is not None


def describe_error(exc: BaseException) -> str:
    """What failed and why, for a log line: the exception's type, its message and, for an HTTP
    error, the request it was for (a timeout's own message is empty)."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, httpx.HTTPError):
        with contextlib.suppress(RuntimeError):  # raised when the error has no request
            request = exc.request
            text += f" ({request.method} {request.url.copy_with(query=None)})"
    return text


class _Formatter(JsonFormatter):
    """JSON lines whose `time` is ISO 8601 with its UTC offset, to the millisecond."""

    def formatTime(  # noqa: N802 (logging's name)
        self,
        record: logging.LogRecord,
        datefmt: str | None = None,  # noqa: ARG002 (always ISO)
    ) -> str:
        """The record's time as `2026-12-03T13:40:00.123+00:00`."""
        return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")


def make_handler(
    service: str, *, json_logs: bool = True, stream: IO[str] | None = None
) -> logging.Handler:
    """The handler every process logs through: request id, redaction, one JSON object a line."""
    handler = logging.StreamHandler(stream or sys.stdout)
    # Whole ids in the logs: a caller's own id (up to 128 characters) is what they will search for.
    handler.addFilter(CorrelationIdFilter(uuid_length=None, default_value="-"))
    handler.addFilter(RedactSecretsFilter())
    if json_logs:
        handler.setFormatter(
            _Formatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s",
                rename_fields={
                    "asctime": "time",
                    "correlation_id": "request_id",
                    "levelname": "level",
                },
                static_fields={"service": service},
                timestamp=False,
            )
        )
    return handler


def configure_logging(service: str, *, json_logs: bool = True, level: str = "INFO") -> None:
    """Send every log line (ours, uvicorn's, SQLAlchemy's) to stdout as one JSON object."""
    global _configured
    if _configured:
        return
    _configured = True
    root = logging.getLogger()
    root.handlers[:] = [make_handler(service, json_logs=json_logs)]
    root.setLevel(level)
    # Per-request client logs would double every access line and may carry tokens in URLs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        # `uvicorn --no-access-log` leaves the access logger with no handler and no propagation
        # (the factory runs after uvicorn configured logging): keep it off, don't revive it.
        switched_off = name == "uvicorn.access" and not lg.handlers and not lg.propagate
        lg.handlers[:] = []
        lg.propagate = not switched_off
