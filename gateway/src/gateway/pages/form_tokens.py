"""The evidence form's CSRF tokens and confirmation links, signed with `itsdangerous`.

A signed double submit: the browser keeps a random nonce in a cookie (HttpOnly, SameSite=Strict,
scoped to the form's path) and the form carries a token, signed with the gateway's form secret
and timestamped, naming that nonce, the call and an idempotency key. A post is taken only with
a token that verifies, is younger than `form_token_max_age_s`, names this call and matches the
cookie: another site can neither read the cookie nor sign a token, and a token lifted from one
browser is useless without that browser's cookie.

The idempotency key rides inside the signed token, so the same form sent twice (a double click,
back and send again) carries the same key and the evidence service replays the first receipt
instead of storing a second submission; a form opened afresh gets a new key.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Literal

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

COOKIE = "scrutiny_evidence_form"
FIELD = "csrf_token"
_NONCE = re.compile(r"^[A-Za-z0-9_-]{43}$")
# A confirmation link shows only its receipt reference; it is signed so that nobody can make
# the service's confirmation page show a reference it never gave.
RECEIPT_MAX_AGE_S = 7 * 24 * 3600

Refusal = Literal["missing", "expired", "invalid"]


@dataclass(frozen=True)
class FormToken:
    """What a verified token vouches for."""

    call_id: str
    idempotency_key: str


class FormTokenError(Exception):
    """The post's token is missing, expired, or does not match its cookie or call."""

    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason)
        self.reason = reason


def new_nonce() -> str:
    """A fresh cookie value (256 random bits)."""
    return secrets.token_urlsafe(32)


def valid_nonce(value: str | None) -> str | None:
    """The cookie's nonce if it is one this module made the shape of, else None."""
    return value if value and _NONCE.match(value) else None


class FormSigner:
    """Issues and checks form tokens and confirmation links with one secret."""

    def __init__(self, secret: str, max_age_s: int) -> None:
        self.max_age_s = max_age_s
        self._forms = URLSafeTimedSerializer(secret, salt="scrutiny.evidence-form")
        self._receipts = URLSafeTimedSerializer(secret, salt="scrutiny.evidence-receipt")

    def issue(self, nonce: str, call_id: str) -> str:
        """A token for one form on one call, bound to the browser's `nonce`, with a new key."""
        return self._forms.dumps({"n": nonce, "c": call_id, "k": str(uuid.uuid4())})

    def check(self, token: str | None, nonce: str | None, call_id: str) -> FormToken:
        """The token's contents if it is good for this call and cookie; `FormTokenError` if not."""
        if not token or not nonce:
            raise FormTokenError("missing")
        try:
            data = self._forms.loads(token, max_age=self.max_age_s)
        except SignatureExpired as exc:
            raise FormTokenError("expired") from exc
        except BadSignature as exc:
            raise FormTokenError("invalid") from exc
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("n"), str)
            or not secrets.compare_digest(data["n"], nonce)
            or data.get("c") != call_id
            or not isinstance(data.get("k"), str)
        ):
            raise FormTokenError("invalid")
        return FormToken(call_id=call_id, idempotency_key=data["k"])

    def receipt_link(self, call_id: str, receipt: str) -> str:
        """The signed path segment of a confirmation page."""
        return self._receipts.dumps({"c": call_id, "r": receipt})

    def read_receipt(self, signed: str, call_id: str) -> str | None:
        """The receipt reference a confirmation link names, if it is genuine and this call's."""
        try:
            data = self._receipts.loads(signed, max_age=RECEIPT_MAX_AGE_S)
        except BadSignature:
            return None
        if not isinstance(data, dict) or data.get("c") != call_id:
            return None
        receipt = data.get("r")
        return receipt if isinstance(receipt, str) else None
