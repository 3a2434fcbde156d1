"""Every event type the log carries: who emits it, whether it is public, and its payload's shape.

The payload of an event is the resource as it stood after the change, in the owning service's
read representation (the same body `GET` on the resource returns). The shapes below name the
fields a consumer can rely on; the services may add fields (`additionalProperties` is allowed).
A type not listed here still flows through the log (it is documented by the catch-all variant);
webhook subscriptions, though, only accept listed types and wildcards over them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

UUID = {"type": "string", "format": "uuid"}
DATE = {"type": ["string", "null"], "format": "date"}
DATETIME = {"type": "string", "format": "date-time"}
TEXT = {"type": "string"}
OPT_TEXT = {"type": ["string", "null"]}


def _shape(heading: str, required: list[str], /, **properties: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "title": heading,
        "required": required,
        "properties": properties,
        "additionalProperties": True,
    }


PAYLOADS: dict[str, dict[str, Any]] = {
    "source": _shape(
        "Source (as GET /v1/sources/{id})",
        ["id", "reference", "title", "kind"],
        id=UUID,
        reference=TEXT,
        title=TEXT,
        publisher=TEXT,
        kind=TEXT,
        published_on=DATE,
        url=OPT_TEXT,
    ),
    "policy_area": _shape(
        "Policy area (as GET /v1/policy-areas/{id})",
        ["id", "slug", "name"],
        id=UUID,
        slug=TEXT,
        name=TEXT,
        description=OPT_TEXT,
    ),
    "commitment": _shape(
        "Commitment (as GET /v1/commitments/{id})",
        ["id", "reference", "title", "status"],
        id=UUID,
        reference=TEXT,
        title=TEXT,
        text=TEXT,
        kind=TEXT,
        policy_area_id=UUID,
        source_id=UUID,
        made_on=DATE,
        due_on=DATE,
        status=TEXT,
        revision={"type": "integer"},
    ),
    "target": _shape(
        "Target (as GET /v1/targets/{id})",
        ["id", "commitment_id", "metric"],
        id=UUID,
        reference=TEXT,
        commitment_id=UUID,
        metric=TEXT,
        unit=TEXT,
        target_value={"type": "number"},
        due_on=DATE,
        progress={"type": "object"},
    ),
    "reading": _shape(
        "Progress reading (as GET /v1/readings/{id})",
        ["id", "target_id", "value", "as_of"],
        id=UUID,
        target_id=UUID,
        value={"type": "number"},
        as_of=DATE,
        source=TEXT,
    ),
    "lineage_link": _shape(
        "Lineage link between commitments",
        ["id", "kind", "predecessor_id", "successor_id"],
        id=UUID,
        kind=TEXT,
        predecessor_id=UUID,
        successor_id=UUID,
        reason=TEXT,
    ),
    "call_for_evidence": _shape(
        "Call for evidence (as GET /v1/calls-for-evidence/{id})",
        ["id", "title"],
        id=UUID,
        title=TEXT,
        commitment_ids={"type": "array", "items": UUID},
        opens_at=DATETIME,
        closes_at=DATETIME,
    ),
    "submission": _shape(
        "Submission (as GET /v1/submissions/{id})",
        ["id", "receipt_reference", "status", "commitment_ids"],
        id=UUID,
        receipt_reference=TEXT,
        commitment_ids={"type": "array", "items": UUID},
        kind=TEXT,
        title=TEXT,
        stance=TEXT,
        status=TEXT,
        publication_reference=OPT_TEXT,
    ),
    "evaluation": _shape(
        "Evaluation (as GET /v1/evaluations/{id})",
        ["id", "title", "status"],
        id=UUID,
        title=TEXT,
        body=TEXT,
        status=TEXT,
        commitment_ids={"type": "array", "items": UUID},
        published_on=DATE,
    ),
    "rating": _shape(
        "Rating (as GET /v1/evaluations/{evaluation_id}/ratings/{commitment_id})",
        ["id", "evaluation_id", "commitment_id", "status"],
        id=UUID,
        evaluation_id=UUID,
        commitment_id=UUID,
        levels={"type": "object", "additionalProperties": {"type": "string"}},
        overall={"type": ["object", "null"]},
        status=TEXT,
    ),
    "panel_member": _shape(
        "Panel member (as GET /v1/evaluations/{evaluation_id}/panel-members/{id})",
        ["id", "evaluation_id", "name", "role"],
        id=UUID,
        evaluation_id=UUID,
        name=TEXT,
        role=TEXT,
        client_id=TEXT,
    ),
    "interest": _shape(
        "Declared interest of a panel member",
        ["id", "evaluation_id", "member_id", "kind"],
        id=UUID,
        evaluation_id=UUID,
        member_id=UUID,
        kind=TEXT,
        commitment_id={"type": ["string", "null"], "format": "uuid"},
        description=TEXT,
        declared_on=DATE,
    ),
    "score": _shape(
        "A member's individual score (as listed at GET /v1/evaluations/{id}/scores)",
        ["id", "evaluation_id", "commitment_id", "member_id", "levels"],
        id=UUID,
        evaluation_id=UUID,
        commitment_id=UUID,
        member_id=UUID,
        levels={"type": "object", "additionalProperties": {"type": "string"}},
    ),
    "factual_accuracy_comment": _shape(
        "Factual-accuracy comment (as GET .../factual-accuracy-comments/{id})",
        ["id", "evaluation_id", "commitment_id", "text"],
        id=UUID,
        evaluation_id=UUID,
        commitment_id=UUID,
        text=TEXT,
        organisation=TEXT,
        decision=OPT_TEXT,
        decision_reason=OPT_TEXT,
    ),
    "response": _shape(
        "Response to an evaluation, a rating or commitment by commitment "
        "(`response.overdue`: the evaluation's response deadline, as GET /v1/response-deadlines)",
        ["id", "evaluation_id"],
        id=UUID,
        evaluation_id=UUID,
        commitment_id={"type": ["string", "null"], "format": "uuid"},
        respondent=TEXT,
        position=OPT_TEXT,
        items={"type": "array", "items": {"type": "object"}},
        on_behalf_of={"type": "boolean"},
        received_on=DATE,
        due_on=DATE,
        overdue={"type": "boolean"},
    ),
    "self_assessment": _shape(
        "The responsible body's delivery confidence in a commitment",
        ["id", "commitment_id", "confidence", "assessed_on"],
        id=UUID,
        commitment_id=UUID,
        confidence=TEXT,
        commentary=TEXT,
        assessed_on=DATE,
        organisation=TEXT,
    ),
    "milestone": _shape(
        "A dated milestone of a commitment",
        ["id", "commitment_id", "title", "due_on"],
        id=UUID,
        commitment_id=UUID,
        title=TEXT,
        due_on=DATE,
        met_on=DATE,
    ),
    "api_client": _shape(
        "API client (as GET /v1/clients/{id}; never its secret)",
        ["id", "client_id"],
        id=UUID,
        client_id=TEXT,
        name=TEXT,
        organisation=TEXT,
        scopes={"type": "array", "items": TEXT},
        active={"type": "boolean"},
    ),
    "signing_key": _shape(
        "Token-signing key (its public half)",
        ["kid"],
        kid=TEXT,
        algorithm=TEXT,
        public_jwk={"type": "object"},
    ),
    "webhook_subscription": _shape(
        "Webhook subscription (as GET /v1/webhook-subscriptions/{id}; never its secret)",
        ["id", "url", "event_types", "active"],
        id=UUID,
        url=TEXT,
        event_types={"type": "array", "items": TEXT},
        active={"type": "boolean"},
    ),
}


@dataclass(frozen=True)
class EventType:
    """One kind of event."""

    type: str
    source: str
    visibility: str  # "public", "private", or "depends" (public once the resource is published)
    description: str

    @property
    def resource_type(self) -> str:
        """The kind of resource the event is about (the part of `type` before the dot)."""
        return self.type.split(".", 1)[0]

    @property
    def payload_schema(self) -> dict[str, Any]:
        """The JSON Schema of the payload."""
        return PAYLOADS.get(self.resource_type, {"type": "object"})


def _t(type_: str, source: str, visibility: str, description: str) -> EventType:
    return EventType(type_, source, visibility, description)


EVENT_TYPES: tuple[EventType, ...] = (
    _t("source.created", "commitments", "public", "A source document was recorded."),
    _t("source.updated", "commitments", "public", "A source document was changed."),
    _t("policy_area.created", "commitments", "public", "A policy area was created."),
    _t("policy_area.updated", "commitments", "public", "A policy area was changed."),
    _t("commitment.created", "commitments", "public", "A commitment was recorded."),
    _t(
        "commitment.updated",
        "commitments",
        "public",
        "A commitment changed: wording, dates, status, targets or lineage (a new revision).",
    ),
    _t(
        "commitment.overdue",
        "commitments",
        "public",
        "A commitment's due date passed and it is not met (emitted once, by the daily sweep).",
    ),
    _t("milestone.created", "commitments", "public", "A dated milestone was added."),
    _t("milestone.updated", "commitments", "public", "A milestone was met, or its date changed."),
    _t(
        "self_assessment.created",
        "commitments",
        "public",
        "The responsible body recorded its delivery confidence in a commitment.",
    ),
    _t("target.created", "commitments", "public", "A measurable target was added."),
    _t("target.updated", "commitments", "public", "A target was revised."),
    _t(
        "target.progressed",
        "commitments",
        "public",
        "A new progress reading changed a target's progress (met, missed, on or off track).",
    ),
    _t("reading.created", "commitments", "public", "A progress reading was posted."),
    _t(
        "lineage_link.created",
        "commitments",
        "public",
        "Commitments were linked (superseded, split, merged).",
    ),
    _t("call_for_evidence.created", "evidence", "public", "A call for evidence was opened."),
    _t("call_for_evidence.updated", "evidence", "public", "A call for evidence was changed."),
    _t(
        "submission.received",
        "evidence",
        "private",
        "Evidence was submitted (private until published: the submitter and the panel only).",
    ),
    _t("submission.accepted", "evidence", "private", "A submission was accepted by moderation."),
    _t("submission.rejected", "evidence", "private", "A submission was rejected by moderation."),
    _t("submission.withheld", "evidence", "private", "A submission was withheld from publication."),
    _t("submission.withdrawn", "evidence", "private", "A submitter withdrew a submission."),
    _t(
        "submission.redacted",
        "evidence",
        "depends",
        "A passage of a submission was redacted (public once the submission is published).",
    ),
    _t(
        "submission.redaction_removed",
        "evidence",
        "depends",
        "A redaction was lifted (public once the submission is published).",
    ),
    _t(
        "attachment.created",
        "evidence",
        "private",
        "A file was attached to a submission (its public view comes with publication).",
    ),
    _t(
        "submission.published",
        "evidence",
        "public",
        "A submission was published with its public reference (e.g. `DIG0001`).",
    ),
    _t(
        "evaluation.created",
        "ratings",
        "depends",
        "An evaluation was drafted (public only once published).",
    ),
    _t("evaluation.updated", "ratings", "depends", "An evaluation was changed."),
    _t(
        "evaluation.submitted_for_review",
        "ratings",
        "private",
        "An evaluation went to the panel for review.",
    ),
    _t(
        "evaluation.returned_to_draft",
        "ratings",
        "private",
        "An evaluation in review was sent back to draft.",
    ),
    _t(
        "evaluation.published",
        "ratings",
        "public",
        "An evaluation and all its ratings were published.",
    ),
    _t("evaluation.withdrawn", "ratings", "public", "A published evaluation was withdrawn."),
    _t(
        "rating.created",
        "ratings",
        "depends",
        "A rating was drafted (public only in a published evaluation).",
    ),
    _t("rating.updated", "ratings", "depends", "A rating changed."),
    _t("rating.agreed", "ratings", "private", "The panel agreed a rating."),
    _t("rating.published", "ratings", "public", "A rating was published."),
    _t(
        "rating.corrected",
        "ratings",
        "public",
        "A published rating was changed by a correction (see evaluation.corrected).",
    ),
    _t(
        "evaluation.sent_for_factual_accuracy",
        "ratings",
        "private",
        "An evaluation in review was sent to the rated body for a factual-accuracy check.",
    ),
    _t(
        "evaluation.corrected",
        "ratings",
        "public",
        "A published evaluation was corrected: its next version, with the notice of what "
        "changed and why (the payload's `corrections`); earlier versions stay readable.",
    ),
    _t(
        "panel_member.seated",
        "ratings",
        "depends",
        "A person was seated on an evaluation's panel.",
    ),
    _t(
        "panel_member.removed",
        "ratings",
        "depends",
        "A person who had not scored was taken off a draft evaluation's panel.",
    ),
    _t(
        "interest.declared",
        "ratings",
        "depends",
        "A panel member declared an interest (published with the evaluation).",
    ),
    _t(
        "score.recorded",
        "ratings",
        "private",
        "A panel member recorded their own score (blind: readable once published).",
    ),
    _t(
        "factual_accuracy_comment.submitted",
        "ratings",
        "private",
        "The rated body commented on the factual accuracy of a draft rating.",
    ),
    _t(
        "factual_accuracy_comment.decided",
        "ratings",
        "private",
        "The panel decided a factual-accuracy comment, with its reason.",
    ),
    _t("response.created", "ratings", "public", "A published response was recorded."),
    _t(
        "response.overdue",
        "ratings",
        "public",
        "An evaluation's response fell overdue: due date passed, none received (emitted once).",
    ),
    _t("api_client.created", "gateway", "private", "An API client was registered."),
    _t("api_client.updated", "gateway", "private", "An API client was changed."),
    _t("api_client.secret_rotated", "gateway", "private", "An API client's secret was rotated."),
    _t("signing_key.created", "gateway", "private", "A token-signing key was added."),
    _t("webhook_subscription.created", "gateway", "private", "A webhook subscription was made."),
    _t(
        "webhook_subscription.updated",
        "gateway",
        "private",
        "A subscription changed (including being disabled after failures).",
    ),
    _t(
        "webhook_subscription.secret_rotated",
        "gateway",
        "private",
        "A subscription's signing secret was rotated.",
    ),
    _t("webhook_subscription.deleted", "gateway", "private", "A subscription was deleted."),
)

BY_TYPE: dict[str, EventType] = {t.type: t for t in EVENT_TYPES}
RESOURCE_TYPES: frozenset[str] = frozenset(t.resource_type for t in EVENT_TYPES)


def is_known_pattern(pattern: str) -> bool:
    """Whether a subscription's event type is a known type, `<resource>.*`, or `*`."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return pattern[:-2] in RESOURCE_TYPES
    return pattern in BY_TYPE


def matches(patterns: list[str], type_: str) -> bool:
    """Whether an event type is selected by any of a subscription's patterns."""
    for pattern in patterns:
        if pattern == "*" or pattern == type_:
            return True
        if pattern.endswith(".*") and type_.startswith(pattern[:-1]):
            return True
    return False


def payload_component(resource_type: str) -> str:
    """The OpenAPI component naming a resource type's payload: `commitment` ->
    `CommitmentEventPayload`."""
    return "".join(w.capitalize() for w in resource_type.split("_")) + "EventPayload"


def event_payload_components() -> dict[str, dict[str, Any]]:
    """One component schema per resource type's payload, for the OpenAPI document.

    An event's `payload` is documented as an open object whose shape is its resource type's
    component, rather than as a union over 46 types: a client generated today must still read a
    page holding a type added tomorrow, and generators turn such unions into duplicate models.
    """
    return {
        payload_component(resource): {
            **{k: v for k, v in shape.items() if k != "title"},
            "description": f"The payload of a `{resource}.*` event: {shape['title']}.",
        }
        for resource, shape in PAYLOADS.items()
    }
