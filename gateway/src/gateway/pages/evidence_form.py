"""The written-evidence form: anyone may answer an open call for evidence, no API credentials.

Pages: the open calls (`/give-evidence`), a start page per call (what it asks, its commitments,
limits and deadline, what happens to evidence), the form, and a confirmation with the receipt.
No JavaScript is needed; with it, GOV.UK Frontend's character count shows words left.

A post is stored THROUGH the evidence service exactly as an API submission is: the same
`POST /v1/submissions` (so the same validation, moderation queue, event and idempotency), made
with a services' token the gateway mints for its own form client (`form_client_id`, scope
`evidence:submit` only), whose organisation is the name and organisation the person gave. The
form's user never holds that token: the gateway uses it for the one submission (and its file)
and nothing else, so nobody can read or change anything through the form.

Checks, in order: the call exists; the post is within the bounds per address and per call (the
edge's rate limiter, `gateway.edge.middleware.RateLimiter`); its CSRF token is good
(`gateway.pages.form_tokens`); the call takes evidence now; the answers pass (`form_fields`).
Nothing is sent to the service before all of them pass.

A file is attached after the submission is created (the service's attachment endpoint needs
the submission). If the service refuses the file, or cannot be reached for it, the new
submission is withdrawn at once with that reason and the form is shown again with the error,
so a person never believes evidence was sent whole when it was not, and the moderators see why
a withdrawn submission exists. Only if that withdrawal fails too is the receipt shown, saying
the file did not arrive. A double submit is replayed by the service (same receipt, one
submission); the replay does not upload the file again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import uuid
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.responses import HTMLResponse, RedirectResponse, Response

from gateway.backends import ServiceError, ServiceUnavailableError
from gateway.backends.models import EvidenceCall, EvidenceReceipt
from gateway.config import Settings
from gateway.dependencies import backends_of
from gateway.edge.middleware import Quota, RateLimiter
from gateway.identity.exchange import TokenExchange
from gateway.pages import form_fields, form_text
from gateway.pages.form_fields import FieldProblem, FormInput
from gateway.pages.form_tokens import (
    COOKIE,
    FIELD,
    FormSigner,
    FormToken,
    FormTokenError,
    new_nonce,
    valid_nonce,
)
from gateway.pages.render import page, templates
from servicekit.auth import Principal

log = logging.getLogger("gateway.pages.evidence_form")

PREFIX = "/give-evidence"
router = APIRouter(prefix=PREFIX, include_in_schema=False, default_response_class=HTMLResponse)

FORM_SCOPE = "evidence:submit"
# The form's own fields and one per commitment (a call has at most 100), so a post with
# thousands of fields is refused before it is parsed into memory.
MAX_FIELDS = 10 + 100
# A double click sends the second post while the first is still being stored (the service says
# 409 "in flight"); wait for the first to finish and show its receipt.
IN_FLIGHT_TRIES = 20
IN_FLIGHT_WAIT_S = 0.25

templates.env.globals.update(
    form_date=form_text.long_date,
    form_moment=form_text.moment,
    form_size=form_text.file_size,
    form_media=form_text.media_names,
    form_endings=form_text.endings,
    form_number=form_text.number,
)


def form_body_limits(settings: Settings) -> list[tuple[str, int]]:
    """The edge's body cap for the form's posts: as large as an API attachment upload (the
    call's own, smaller limit is then checked and explained on the form)."""
    return [(rf"{PREFIX}/[^/]+/form", settings.attachment_max_body_bytes)]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _signer(request: Request) -> FormSigner:
    state = request.app.state
    signer: FormSigner | None = getattr(state, "form_signer", None)
    if signer is None:
        settings = _settings(request)
        # No configured secret: one per process (see `Settings.form_secret`).
        secret = settings.form_secret.get_secret_value() or secrets.token_urlsafe(32)
        signer = FormSigner(secret, settings.form_token_max_age_s)
        state.form_signer = signer
    return signer


def _html(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    response = page(request, template, {"section": "evidence", **context}, status_code)
    # The form pages hold a one-off token or a receipt: never kept by a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def _not_found(request: Request) -> HTMLResponse:
    return _html(
        request,
        "not_found.html",
        {"title": "Page not found", "detail": "There is no call for evidence at this address."},
        404,
    )


def _unavailable(request: Request, detail: str) -> HTMLResponse:
    return _html(request, "unavailable.html", {"title": "Unavailable", "detail": detail}, 503)


async def _call(request: Request, call_id: str) -> EvidenceCall | Response:
    try:
        uuid.UUID(call_id)
    except ValueError:
        return _not_found(request)
    try:
        return await backends_of(request).evidence.call(call_id)
    except ServiceError as exc:
        if exc.status_code in (404, 422):
            return _not_found(request)
        raise
    except ServiceUnavailableError:
        return _unavailable(request, "The call for evidence could not be loaded. Try again later.")


def accepting(call: EvidenceCall) -> bool:
    """Whether the call takes evidence now (open, or closed but taking late evidence)."""
    return call.status == "open" or (call.status == "closed" and call.late_submissions_allowed)


async def _commitments(request: Request, call: EvidenceCall, missing: list[str]) -> list[Any]:
    """The call's commitments with their references and titles, in the call's order."""
    ids = [str(i) for i in call.commitment_ids]
    try:
        found = await backends_of(request).commitments.commitments_by_id(ids)
    except (ServiceError, ServiceUnavailableError):
        missing.append("the commitments' titles")
        found = {}
    return [
        {
            "id": i,
            "reference": found[i].reference if i in found else None,
            "title": found[i].title if i in found else "A commitment in this call",
        }
        for i in ids
    ]


async def _context(request: Request, call: EvidenceCall) -> dict[str, Any]:
    missing: list[str] = []
    commitments = await _commitments(request, call, missing)
    return {
        "call": call.model_dump(mode="python"),
        "accepting": accepting(call),
        "commitments": commitments,
        "missing": missing,
    }


@router.get("", name="page_give_evidence", operation_id="page_give_evidence")
async def calls_page(request: Request) -> Response:
    """The calls for evidence open now, each with a link to its start page."""
    try:
        calls = await backends_of(request).evidence.open_calls()
    except (ServiceError, ServiceUnavailableError):
        return _unavailable(request, "The calls for evidence could not be loaded. Try again later.")
    return _html(request, "evidence_form/calls.html", {"title": "Give evidence", "calls": calls})


@router.get("/{call_id}", name="page_call_start", operation_id="page_call_start")
async def start_page(request: Request, call_id: str) -> Response:
    """A call's start page: what it asks, its commitments, limits, deadline, what happens next."""
    call = await _call(request, call_id)
    if isinstance(call, Response):
        return call
    return await _start(request, call)


async def _start(request: Request, call: EvidenceCall, status_code: int = 200) -> Response:
    context = await _context(request, call)
    return _html(request, "evidence_form/start.html", {"title": call.title, **context}, status_code)


async def _form(
    request: Request,
    call: EvidenceCall,
    answers: FormInput | None = None,
    errors: list[FieldProblem] | None = None,
    status_code: int = 200,
) -> Response:
    """The form, with a new CSRF token (and so a new idempotency key) bound to the cookie."""
    settings = _settings(request)
    nonce = valid_nonce(request.cookies.get(COOKIE)) or new_nonce()
    errors = errors or []
    context = await _context(request, call)
    response = _html(
        request,
        "evidence_form/form.html",
        {
            **context,
            "title": f"{'Error: ' if errors else ''}Give evidence: {call.title}",
            "answers": answers or FormInput(),
            "errors": errors,
            "error_for": {e.field: e.message for e in reversed(errors)},
            "csrf_field": FIELD,
            "csrf_token": _signer(request).issue(nonce, str(call.id)),
            "stances": form_fields.STANCES,
            "consents": form_fields.CONSENTS,
            "limits": form_fields,
        },
        status_code,
    )
    response.set_cookie(
        COOKIE,
        nonce,
        max_age=settings.form_token_max_age_s,
        path=PREFIX,
        secure=settings.public_url.lower().startswith("https://"),
        httponly=True,
        samesite="strict",
    )
    return response


@router.get("/{call_id}/form", name="page_evidence_form", operation_id="page_evidence_form")
async def form_page(request: Request, call_id: str) -> Response:
    """The written-evidence form for one call (its start page if the call takes none now)."""
    call = await _call(request, call_id)
    if isinstance(call, Response):
        return call
    if not accepting(call):
        return await _start(request, call, 409)
    return await _form(request, call)


async def _over_bound(request: Request, call_id: str) -> Response | None:
    """A 429 page if this address or this call has sent too many forms this minute."""
    settings = _settings(request)
    limiter: RateLimiter = request.app.state.rate_limiter
    address = request.client.host if request.client else "unknown"
    for quota in (
        Quota("evidence-form-address", address, settings.form_posts_per_address_per_minute),
        Quota("evidence-form-call", call_id, settings.form_posts_per_call_per_minute),
    ):
        try:
            usage = await limiter.hit(quota)
        except Exception:
            # As the edge does: a broken counter store must not stop evidence being given.
            log.warning("rate limit storage unavailable; form post not counted", exc_info=True)
            return None
        if not usage.allowed:
            retry = max(1, usage.reset_s)
            response = _html(
                request,
                "evidence_form/too_many.html",
                {"title": "Too many forms sent", "retry_s": retry},
                429,
            )
            response.headers["Retry-After"] = str(retry)
            return response
    return None


def _refused(request: Request, call: EvidenceCall, reason: str) -> Response:
    return _html(
        request,
        "evidence_form/refused.html",
        {"title": "Your form could not be sent", "call": call.model_dump(), "reason": reason},
        403,
    )


@router.post("/{call_id}/form", name="page_evidence_form_send", operation_id="send_evidence_form")
async def send_form(request: Request, call_id: str) -> Response:
    """Check a sent form and store it through the evidence service; the confirmation (303)."""
    call = await _call(request, call_id)
    if isinstance(call, Response):
        return call
    limited = await _over_bound(request, str(call.id))
    if limited is not None:
        return limited
    try:
        form = await request.form(max_files=1, max_fields=MAX_FIELDS)
    except MultiPartException:
        return _refused(request, call, "unreadable")
    try:
        raw_token = form.get(FIELD)
        token = _signer(request).check(
            raw_token if isinstance(raw_token, str) else None,
            valid_nonce(request.cookies.get(COOKIE)),
            str(call.id),
        )
    except FormTokenError as exc:
        return _refused(request, call, exc.reason)
    if not accepting(call):
        return await _start(request, call, 409)
    answers, upload = form_fields.read(form)
    problems = form_fields.check(answers, upload, call)
    if problems:
        return await _form(request, call, answers, problems, 422)
    return await _send(request, call, token, answers, upload)


def _principal(settings: Settings, answers: FormInput) -> Principal:
    """Who the service sees: the form's client, acting for the person as they named themselves."""
    return Principal(
        client_id=settings.form_client_id,
        organisation=form_fields.submitted_as(answers),
        scopes=frozenset({FORM_SCOPE}),
        token_id=uuid.uuid4().hex,
        name="Written evidence form",
    )


def _problem_type(exc: ServiceError) -> str:
    try:
        return str(json.loads(exc.content).get("type", ""))
    except (ValueError, AttributeError):
        return ""


async def _submit(
    request: Request, principal: Principal, body: dict[str, Any], key: str
) -> tuple[EvidenceReceipt, bool]:
    """Create the submission, waiting out a first post of the same form still in flight."""
    exchange: TokenExchange = request.app.state.token_exchange
    evidence = backends_of(request).evidence
    for attempt in range(IN_FLIGHT_TRIES):
        try:
            return await evidence.submit(body, await exchange.mint(principal), key)
        except ServiceError as exc:
            in_flight = _problem_type(exc) == "/problems/idempotency-key-in-flight"
            if not in_flight or attempt == IN_FLIGHT_TRIES - 1:
                raise
        await asyncio.sleep(IN_FLIGHT_WAIT_S)
    raise AssertionError("unreachable")  # pragma: no cover


async def _send(
    request: Request,
    call: EvidenceCall,
    token: FormToken,
    answers: FormInput,
    upload: UploadFile | None,
) -> Response:
    principal = _principal(_settings(request), answers)
    body = form_fields.submission_body(answers, call)
    try:
        receipt, replayed = await _submit(request, principal, body, token.idempotency_key)
    except ServiceError as exc:
        return await _service_refused(request, call, answers, exc)
    except ServiceUnavailableError:
        return _unavailable(
            request, "Your evidence has not been sent: the service is unavailable. Try again later."
        )
    if upload is not None and not replayed:
        failed = await _attach(request, call, principal, receipt, token, answers, upload)
        if failed is not None:
            return failed
    link = _signer(request).receipt_link(str(call.id), receipt.receipt_reference)
    return RedirectResponse(f"{PREFIX}/{call.id}/confirmation/{link}", status_code=303)


async def _service_refused(
    request: Request, call: EvidenceCall, answers: FormInput, exc: ServiceError
) -> Response:
    """The service said no: the start page (call closed), or the form with its errors."""
    kind = _problem_type(exc)
    if exc.status_code == 409 and kind in ("/problems/call-closed", "/problems/call-not-open"):
        return await _start(request, await _fresh(request, call), 409)
    if kind == "/problems/idempotency-key-reused":
        problems = [
            FieldProblem(
                "",
                "You have already sent evidence from this form. To send different evidence, "
                "check your answers and send this new form",
            )
        ]
        return await _form(request, call, answers, problems, 422)
    if exc.status_code == 422:
        return await _form(
            request, call, answers, form_fields.service_errors(exc.content, call), 422
        )
    log.warning("evidence service refused a form submission: %s", exc)
    return _unavailable(request, "Your evidence has not been sent. Try again later.")


async def _fresh(request: Request, call: EvidenceCall) -> EvidenceCall:
    """The call as it is now (its status changed under the post), else as it was."""
    found = await _call(request, str(call.id))
    return call if isinstance(found, Response) else found


def _file_problem(exc: ServiceError | None, call: EvidenceCall) -> FieldProblem:
    if exc is None:
        return FieldProblem("file", "Your file could not be sent. Try again")
    if exc.status_code == 415:
        kinds = form_text.media_names(call.allowed_media_types)
        return FieldProblem("file", f"The selected file must be a {kinds}")
    if exc.status_code == 413:
        limit = form_text.file_size(call.max_attachment_bytes)
        return FieldProblem("file", f"The selected file must be smaller than {limit}")
    found = form_fields.service_errors(exc.content, call)
    return FieldProblem("file", found[0].message if found else "The selected file was refused")


async def _attach(
    request: Request,
    call: EvidenceCall,
    principal: Principal,
    receipt: EvidenceReceipt,
    token: FormToken,
    answers: FormInput,
    upload: UploadFile,
) -> Response | None:
    """Attach the file; on failure withdraw the submission and give the form back (None: done)."""
    exchange: TokenExchange = request.app.state.token_exchange
    evidence = backends_of(request).evidence
    refusal: ServiceError | None = None
    try:
        await evidence.attach(
            str(receipt.id),
            await exchange.mint(principal),
            upload.filename or "evidence",
            upload.file,
            upload.content_type or "application/octet-stream",
        )
        return None
    except ServiceError as exc:
        refusal = exc
    except ServiceUnavailableError:
        refusal = None
    problem = _file_problem(refusal, call)
    try:
        await evidence.withdraw(
            str(receipt.id),
            await exchange.mint(principal),
            f"{token.idempotency_key}.withdrawal",
            f"Withdrawn by the evidence form: its file was not attached ({problem.message}). "
            "The sender was shown the form again to send it whole.",
        )
    except (ServiceError, ServiceUnavailableError):
        log.warning("could not withdraw submission %s after its file failed", receipt.id)
        return _confirmation(request, call, receipt.receipt_reference, file_missing=True)
    return await _form(request, call, answers, [problem], 422)


def _confirmation(
    request: Request, call: EvidenceCall, receipt: str, *, file_missing: bool = False
) -> Response:
    return _html(
        request,
        "evidence_form/confirmation.html",
        {
            "title": "Evidence sent",
            "call": call.model_dump(mode="python"),
            "receipt": receipt,
            "file_missing": file_missing,
        },
    )


@router.get(
    "/{call_id}/confirmation/{signed}",
    name="page_evidence_confirmation",
    operation_id="page_evidence_confirmation",
)
async def confirmation_page(request: Request, call_id: str, signed: str) -> Response:
    """The confirmation: the receipt reference and what happens next."""
    call = await _call(request, call_id)
    if isinstance(call, Response):
        return call
    receipt = _signer(request).read_receipt(signed, str(call.id))
    if receipt is None:
        return _not_found(request)
    return _confirmation(request, call, receipt)
