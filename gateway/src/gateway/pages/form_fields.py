"""The evidence form's fields: reading a post, checking it, and the body the service receives.

The checks here are the evidence service's own rules said in plain English (its limits are in
`evidence.schemas`; the words count the way `evidence.submissions.word_count` does), made
before anything is sent so that a person sees every error at once. The service checks again
and has the last word: its field errors are mapped back onto these fields (`service_errors`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData, UploadFile

from gateway.backends.models import EvidenceCall
from gateway.pages import form_text

# The service's caps (evidence.schemas): title 300, summary 2,000, body 100,000 characters.
TITLE_MAX = 300
SUMMARY_MAX = 2000
BODY_MAX_CHARS = 100_000
# The name and organisation are joined into the submitter's organisation (300 characters).
NAME_MAX = 150
ORGANISATION_MAX = 140

STANCES: dict[str, tuple[str, str]] = {
    "supports": ("Good progress", "The commitments are being delivered, or are on their way."),
    "challenges": ("Poor progress", "The commitments are not being delivered, or are at risk."),
    "mixed": ("Mixed progress", "Some parts are going well and others are not."),
    "neutral": ("No view", "Your evidence gives facts or experience without a view on progress."),
}
CONSENTS: dict[str, tuple[str, str]] = {
    "publish": (
        "Publish it with my name",
        "If the panel accepts it, your evidence is published on this website with the name "
        "and organisation you gave, and anyone can read and reuse it.",
    ),
    "publish_anonymously": (
        "Publish it without my name",
        "If the panel accepts it, your evidence is published without your name or "
        "organisation. The panel and its staff still see who sent it.",
    ),
    "do_not_publish": (
        "Do not publish it",
        "Only the panel and its staff read your evidence. It can still inform their "
        "ratings, but it is never shown on this website.",
    ),
}


@dataclass
class FormInput:
    """What the person entered, kept to show the form again with their answers."""

    name: str = ""
    organisation: str = ""
    commitments: list[str] = field(default_factory=list)
    title: str = ""
    summary: str = ""
    body: str = ""
    stance: str = ""
    consent: str = ""


@dataclass(frozen=True)
class FieldProblem:
    """One error: the field it belongs to (its id on the page) and what to do about it."""

    field: str
    message: str


def word_count(text: str) -> int:
    """Words as the evidence service counts them: runs of non-space characters."""
    return len(text.split())


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def read(form: FormData) -> tuple[FormInput, UploadFile | None]:
    """The answers in a post, and the file if one was chosen."""
    upload = form.get("file")
    chosen = upload if isinstance(upload, UploadFile) and upload.filename else None
    return (
        FormInput(
            name=_text(form, "name"),
            organisation=_text(form, "organisation"),
            commitments=[v for v in form.getlist("commitments") if isinstance(v, str)],
            title=_text(form, "title"),
            summary=_text(form, "summary"),
            body=_text(form, "body"),
            stance=_text(form, "stance"),
            consent=_text(form, "consent"),
        ),
        chosen,
    )


def _length(value: str, limit: int, what: str, fld: str) -> list[FieldProblem]:
    if len(value) > limit:
        return [FieldProblem(fld, f"{what} must be {form_text.number(limit)} characters or fewer")]
    return []


def _body_problems(body: str, max_words: int) -> list[FieldProblem]:
    if not body:
        return [FieldProblem("body", "Enter your evidence")]
    words = word_count(body)
    if words > max_words:
        return [
            FieldProblem(
                "body",
                f"Your evidence must be {form_text.number(max_words)} words or fewer "
                f"(it has {form_text.number(words)})",
            )
        ]
    return _length(body, BODY_MAX_CHARS, "Your evidence", "body")


def file_problems(upload: UploadFile | None, call: EvidenceCall) -> list[FieldProblem]:
    """The chosen file against the call's limits (the service judges its content again)."""
    if upload is None:
        return []
    if call.max_attachments < 1:
        return [FieldProblem("file", "This call does not take files: remove the file")]
    name = (upload.filename or "").lower()
    if not any(name.endswith(e) for e in form_text.endings(call.allowed_media_types)):
        kinds = form_text.media_names(call.allowed_media_types)
        return [FieldProblem("file", f"The selected file must be a {kinds}")]
    size = upload.size or 0
    if size == 0:
        return [FieldProblem("file", "The selected file is empty")]
    if size > call.max_attachment_bytes:
        limit = form_text.file_size(call.max_attachment_bytes)
        return [FieldProblem("file", f"The selected file must be smaller than {limit}")]
    return []


def check(answers: FormInput, upload: UploadFile | None, call: EvidenceCall) -> list[FieldProblem]:
    """Every error in the answers, in the order of the page."""
    in_call = {str(c) for c in call.commitment_ids}
    problems: list[FieldProblem] = []
    if not answers.name:
        problems.append(FieldProblem("name", "Enter your name"))
    problems += _length(answers.name, NAME_MAX, "Your name", "name")
    problems += _length(answers.organisation, ORGANISATION_MAX, "Organisation", "organisation")
    if not answers.commitments:
        problems.append(
            FieldProblem("commitments", "Select the commitments your evidence is about")
        )
    elif not set(answers.commitments) <= in_call or len(set(answers.commitments)) != len(
        answers.commitments
    ):
        problems.append(FieldProblem("commitments", "Select commitments from this call's list"))
    if not answers.title:
        problems.append(FieldProblem("title", "Enter a title for your evidence"))
    problems += _length(answers.title, TITLE_MAX, "Title", "title")
    problems += _length(answers.summary, SUMMARY_MAX, "Summary", "summary")
    problems += _body_problems(answers.body, call.max_words)
    if answers.stance not in STANCES:
        problems.append(FieldProblem("stance", "Select what your evidence says about progress"))
    problems += file_problems(upload, call)
    if answers.consent not in CONSENTS:
        problems.append(FieldProblem("consent", "Select whether we may publish your evidence"))
    return problems


def submitted_as(answers: FormInput) -> str:
    """The submitter's organisation as the service keeps it: the name, and organisation if any."""
    return f"{answers.name}, {answers.organisation}" if answers.organisation else answers.name


def submission_body(answers: FormInput, call: EvidenceCall) -> dict[str, Any]:
    """The `POST /v1/submissions` body, exactly as an API client would send it."""
    return {
        "call_id": str(call.id),
        "commitment_ids": answers.commitments,
        "kind": "written",
        "title": answers.title,
        "summary": answers.summary or None,
        "body": answers.body,
        "stance": answers.stance,
        "consent": answers.consent,
    }


LABELS = {"title": "The title", "summary": "The summary", "body": "Your evidence"}

# The service's pointers (`body.<field>[.<index>]`) to the form's fields.
_POINTERS = {
    "title": "title",
    "summary": "summary",
    "body": "body",
    "commitment_ids": "commitments",
    "stance": "stance",
    "consent": "consent",
    "file": "file",
}


def _message(fld: str, code: str, detail: str, call: EvidenceCall) -> str:
    if code == "too_many_words":
        return f"Your evidence must be {form_text.number(call.max_words)} words or fewer"
    if fld == "commitments":
        return "Select commitments from this call's list"
    if code == "string_pattern_mismatch":
        return f"{LABELS.get(fld, 'Your answer')} has a character that cannot be kept: remove it"
    return detail[:1].upper() + detail[1:]


def service_errors(content: bytes, call: EvidenceCall) -> list[FieldProblem]:
    """A service problem's field errors as the form's (unknown places go to the top)."""
    try:
        problem = json.loads(content)
    except ValueError:
        return []
    if not isinstance(problem, dict):
        return []
    found: list[FieldProblem] = []
    for error in problem.get("errors") or []:
        if not isinstance(error, dict):
            continue
        parts = str(error.get("pointer", "")).split(".")
        fld = _POINTERS.get(parts[1] if len(parts) > 1 else "", "")
        problem_text = _message(fld, str(error.get("code", "")), str(error.get("detail", "")), call)
        if FieldProblem(fld, problem_text) not in found:
            found.append(FieldProblem(fld, problem_text))
    if not found and problem.get("detail"):
        found.append(FieldProblem("", str(problem["detail"])))
    return found
