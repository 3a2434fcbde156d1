"""A Python client generated from the served document with `openapi-python-client`, and the
whole accountability flow driven through it alone (no hand-written HTTP)."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import io
import pkgutil
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.clients.conftest import BASE_URL, Suite, tool_env

# What it checks does not depend on the database backend: CI runs it on SQLite only.
pytestmark = pytest.mark.backend_independent

PACKAGE = "scrutiny_client"
DIMS = ("commitment_met", "funding_and_resource", "impact", "appropriateness")


@pytest.fixture(scope="module")
def generated(suite: Suite, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The generated package's folder and everything the generator printed."""
    out = tmp_path_factory.mktemp("python-client")
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("openapi-python-client")),
            "generate",
            "--path",
            str(suite.doc_path),
            "--meta",
            "none",
            "--output-path",
            str(out / PACKAGE),
        ],
        capture_output=True,
        text=True,
        env=tool_env(),
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    sys.path.insert(0, str(out))
    return out / PACKAGE, run.stdout + run.stderr


def test_the_generator_prints_no_warning(generated):
    _, printed = generated
    assert "Warning" not in printed, printed
    assert "WARNING" not in printed, printed


def test_every_generated_module_imports(generated, suite):
    _, printed = generated
    assert printed
    package = importlib.import_module(PACKAGE)
    names = [m.name for m in pkgutil.walk_packages(package.__path__, f"{PACKAGE}.")]
    failed = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # every failure is reported, not just the first
            failed.append(f"{name}: {exc!r}")
    assert failed == []
    operations = [n for n in names if n.startswith(f"{PACKAGE}.api.") and n.count(".") == 3]
    # Every operation of the document has its module.
    methods = {"get", "post", "put", "patch", "delete"}
    count = sum(len(methods & set(item)) for item in suite.doc["paths"].values())
    assert len(operations) == count


def api(name: str) -> ModuleType:
    """A generated operation module, e.g. `api("sources.create_source")`."""
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def models() -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.models")


async def until(check: Callable[[], Awaitable[Any]], within: float = 20) -> Any:
    """Call `check` until it returns something truthy (the read models and the log are fed
    asynchronously), failing after `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        got = await check()
        if got:
            return got
        assert asyncio.get_running_loop().time() < deadline, "never happened"
        await asyncio.sleep(0.05)


@pytest.mark.usefixtures("generated")  # the generated package, importable
async def test_the_whole_flow_through_the_generated_client(suite: Suite) -> None:
    # One integrator's journey, in order; each step needs the ones before it.
    pkg = importlib.import_module(PACKAGE)
    m = models()
    types = importlib.import_module(f"{PACKAGE}.types")
    http = {"transport": suite.transport()}
    anonymous = pkg.Client(base_url=BASE_URL, httpx_args=http)
    steps: list[str] = []

    async def token(client_id: str, secret: str) -> Any:
        r = await api("auth.create_token").asyncio_detailed(
            client=anonymous,
            body=m.CreateTokenBody(
                grant_type=m.CreateTokenBodyGrantType("client_credentials"),
                client_id=client_id,
                client_secret=secret,
            ),
        )
        assert r.status_code == 200, r.content
        return pkg.AuthenticatedClient(
            base_url=BASE_URL, token=r.parsed.access_token, httpx_args=http
        )

    admin = await token(suite.admin_id, suite.admin_secret)
    steps.append("token")

    client_ids: dict[str, str] = {}

    async def new_client(*scopes: str) -> Any:
        r = await api("clients.create_client").asyncio_detailed(
            client=admin,
            body=m.ClientCreate(
                name=f"flow {scopes[0]}",
                organisation="Test Org",
                scopes=[m.ClientCreateScopesItem(s) for s in scopes],
            ),
        )
        assert r.status_code == 201, r.content
        client_ids[scopes[-1]] = r.parsed.client_id
        return await token(r.parsed.client_id, r.parsed.client_secret)

    secretariat = await new_client("commitments:write", "evidence:moderate", "ratings:write")
    secretariat_id = client_ids["ratings:write"]
    chair = await new_client("ratings:write", "ratings:publish")
    chair_id = client_ids["ratings:publish"]
    stakeholder = await new_client("evidence:submit")
    government = await new_client("responses:write")
    hooks = await new_client("webhooks")
    steps.append("api clients")

    tag = uuid.uuid4().hex[:8].upper()
    source = await api("sources.create_source").asyncio_detailed(
        client=secretariat,
        body=m.SourceCreate(
            reference=f"SRC-{tag}",
            title="A plan (fictional)",
            publisher="Test Org",
            kind=m.SourceKind("plan"),
        ),
    )
    assert source.status_code == 201, source.content
    area = await api("policy_areas.create_policy_area").asyncio_detailed(
        client=secretariat, body=m.PolicyAreaCreate(slug=f"area-{tag.lower()}", name="Area")
    )
    assert area.status_code == 201, area.content
    made = []
    for i in range(2):
        c = await api("commitments.create_commitment").asyncio_detailed(
            client=secretariat,
            body=m.CommitmentCreate(
                reference=f"C{i}-{tag}",
                title=f"Commitment {i} (fictional)",
                text="We will do a thing.",
                policy_area_id=area.parsed.id,
                source_id=source.parsed.id,
            ),
        )
        assert c.status_code == 201, c.content
        made.append(c)
    commitment_ids = [c.parsed.id for c in made]
    steps.append("source and commitments")

    update = api("commitments.update_commitment")
    patch = m.CommitmentUpdate(lead_bodies=["NHS England"])
    r = await update.asyncio_detailed(commitment_ids[0], client=secretariat, body=patch)
    assert r.status_code == 428, r.content
    r = await update.asyncio_detailed(
        commitment_ids[0], client=secretariat, body=patch, if_match='"stale"'
    )
    assert r.status_code == 412, r.content
    r = await update.asyncio_detailed(
        commitment_ids[0], client=secretariat, body=patch, if_match=made[0].headers["etag"]
    )
    assert r.status_code == 200, r.content
    assert r.parsed.lead_bodies == ["NHS England"]
    steps.append("PATCH with If-Match: 428, 412, 200")

    submit = api("submissions.create_submission")
    body = m.SubmissionCreate(
        commitment_ids=[commitment_ids[0]],
        title="Evidence (fictional)",
        body="What we saw.",
        stance=m.Stance("challenges"),
        consent=m.Consent("publish"),
    )
    key = f"flow-{uuid.uuid4().hex}"

    async def submitted() -> Any:
        r = await submit.asyncio_detailed(client=stakeholder, body=body, idempotency_key=key)
        return r if r.status_code == 201 else None

    first = await until(submitted)
    again = await submit.asyncio_detailed(client=stakeholder, body=body, idempotency_key=key)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.parsed.id == first.parsed.id
    steps.append("idempotent create replayed")

    attached = await api("attachments.create_attachment").asyncio_detailed(
        first.parsed.id,
        client=stakeholder,
        body=m.CreateAttachmentBody(
            file=types.File(
                payload=io.BytesIO(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"),
                file_name="evidence.pdf",
                mime_type="application/pdf",
            )
        ),
    )
    assert attached.status_code == 201, attached.content
    steps.append("submission with an attachment")

    decide = api("moderation.create_decision")
    for action in ("accept", "publish"):
        r = await decide.asyncio_detailed(
            first.parsed.id,
            client=secretariat,
            body=m.DecisionCreate(action=m.DecisionAction(action), reason="ok"),
        )
        assert r.status_code == 201, r.content
    public = await api("submissions.get_submission").asyncio_detailed(
        first.parsed.id, client=anonymous
    )
    assert public.status_code == 200
    assert public.parsed.status == m.SubmissionStatus("published")
    steps.append("moderated to publication")

    async def drafted() -> Any:
        r = await api("evaluations.create_evaluation").asyncio_detailed(
            client=secretariat,
            body=m.EvaluationCreate(
                title=f"Evaluation {tag} (fictional)",
                body="A panel",
                commitment_ids=commitment_ids,
                # Only the panel rates: the secretariat drafts, the chair agrees and publishes.
                panel=[
                    m.PanelMemberCreate(
                        name="A. Chair (fictional)",
                        role=m.PanelRole("chair"),
                        client_id=chair_id,
                    ),
                    m.PanelMemberCreate(
                        name="The secretariat (fictional)",
                        role=m.PanelRole("secretariat"),
                        client_id=secretariat_id,
                    ),
                ],
            ),
        )
        return r if r.status_code == 201 else None

    evaluation = (await until(drafted)).parsed
    put = api("ratings.put_rating")
    agree = api("ratings.update_rating")
    for cid in commitment_ids:
        levels = m.RatingPutLevels.from_dict(dict.fromkeys(DIMS, "good"))
        r = await put.asyncio_detailed(
            evaluation.id, cid, client=secretariat, body=m.RatingPut(levels=levels)
        )
        assert r.status_code == 201, r.content
        r = await agree.asyncio_detailed(
            evaluation.id,
            cid,
            client=chair,
            body=m.RatingUpdate(status=m.EditableRatingStatus("agreed")),
            if_match=r.headers["etag"],
        )
        assert r.status_code == 200, r.content
    r = await api("evaluations.submit_evaluation_for_review").asyncio_detailed(
        evaluation.id, client=chair
    )
    assert r.status_code == 200, r.content
    r = await api("evaluations.publish_evaluation").asyncio_detailed(
        evaluation.id, client=chair, body=m.EvaluationPublish(published_on=dt.date(2026, 4, 1))
    )
    assert r.status_code == 200, r.content
    assert r.parsed.status == m.EvaluationStatus("published")
    steps.append("evaluation drafted, reviewed, published")

    r = await api("responses.create_response").asyncio_detailed(
        evaluation.id,
        client=government,
        body=m.EvaluationResponseCreate(
            position=m.ResponsePosition("accepts"),
            text="We accept the panel's findings (fictional).",
            received_on=dt.date(2026, 5, 1),
            commitment_id=commitment_ids[0],
        ),
    )
    assert r.status_code == 201, r.content
    steps.append("a response")

    report = await api("reports.get_evaluation_report").asyncio_detailed(
        evaluation.id, client=anonymous
    )
    assert report.status_code == 200, report.content
    assert [c.id for area in report.parsed.policy_areas for c in area.commitments] == (
        commitment_ids
    )
    csv = await api("reports.get_evaluation_report_csv").asyncio_detailed(
        evaluation.id, client=anonymous
    )
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.content.decode().splitlines()[0].startswith("policy_area,commitment_reference")
    steps.append("report as JSON and as CSV")

    exported = await api("import_and_export.export_commitments").asyncio_detailed(client=anonymous)
    assert exported.status_code == 200
    imported = await api("import_and_export.import_commitments").asyncio_detailed(
        client=secretariat,
        body=m.ImportCommitmentsBody(
            file=types.File(
                payload=io.BytesIO(exported.content),
                file_name="commitments.csv",
                mime_type="text/csv",
            )
        ),
        dry_run=True,
    )
    assert imported.status_code == 200, imported.content
    assert imported.parsed.created.commitments == 0  # an export re-imported changes nothing
    steps.append("commitments CSV import")

    list_events = api("events.list_events")

    async def the_log_has_the_publication() -> list[Any] | None:
        after, seen = 0, []
        while True:
            page = await list_events.asyncio_detailed(client=anonymous, after=after, limit=200)
            assert page.status_code == 200, page.content
            if not page.parsed.items:
                break
            seen.extend(page.parsed.items)
            after = page.parsed.next_after
        published = any(
            e.type_ == "evaluation.published" and e.resource_id == evaluation.id for e in seen
        )
        return seen if published else None

    events = await until(the_log_has_the_publication)
    assert [e.position for e in events] == sorted(e.position for e in events)
    assert all(e.public for e in events)
    steps.append("public feed read to its end")

    r = await api("webhooks.create_webhook_subscription").asyncio_detailed(
        client=hooks,
        body=m.SubscriptionCreate(url="http://127.0.0.1:9/hook", event_types=["evaluation.*"]),
    )
    assert r.status_code == 201, r.content
    assert r.parsed.secret
    steps.append("a webhook subscription")

    assert len(steps) == 13
