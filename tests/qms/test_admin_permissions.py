"""The admin's permissions, role × model × action: they derive from the roles and scopes the API
uses, and nobody (not even a superuser) deletes a quality record there.

``MATRIX`` is the whole admin: a model registered without a row here fails the test.
"""

from datetime import UTC, datetime

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client, RequestFactory
from django.urls import get_resolver, reverse
from django_tasks_db.models import DBTaskResult

from qms.models import ApiToken, AuditEvent, Signature
from qms.services import token_create
from regops.services.approvals import integration_approve
from regops.services.decisions import gate_decide
from regops.services.deployments import deployment_report
from regops.services.environments import environment_create
from standards.models import Clause, ClauseMapping, Standard
from tests.conftest import make_user, signed_in
from tests.traceability.engine import make_run
from traceability.models import (
    Baseline,
    ClauseLink,
    Commit,
    CommitLink,
    Item,
    Link,
    ManualExecution,
    Product,
    PullRequest,
    PullRequestLink,
    PullRequestReview,
    TestRun,
    TraceReport,
)
from traceability.services.deviations import deviation_revoke, deviation_sign
from traceability.services.evidence import artifact_register, manual_executions_record, run_input_clean
from traceability.services.items import clause_link_create
from traceability.services.releases import release_freeze, release_sign

pytestmark = pytest.mark.django_db

ROLES = ("quality_manager", "developer", "auditor", "no_role", "superuser")

# view, add, change, delete ("-": refused), per role in the order of ROLES.
MATRIX: dict[str, tuple[str, str, str, str, str]] = {
    #                                quality mgr  developer  auditor  no role  superuser
    "qms.auditevent": ("v---", "v---", "v---", "----", "v---"),
    "qms.apitoken": ("v---", "v---", "v---", "----", "v---"),
    "qms.signature": ("v---", "v---", "v---", "----", "v---"),
    "auth.user": ("vac-", "v---", "v---", "----", "vac-"),
    "django_tasks_database.dbtaskresult": ("v---", "v---", "v---", "----", "v---"),
    "standards.standard": ("vac-", "v---", "v---", "----", "vac-"),
    "standards.clause": ("v-c-", "v---", "v---", "----", "v-c-"),
    "standards.clausemapping": ("vacd", "v---", "v---", "----", "vacd"),
    "traceability.product": ("vac-", "v---", "v---", "----", "vac-"),
    "traceability.item": ("vac-", "vac-", "v---", "----", "vac-"),
    "traceability.link": ("v--d", "v--d", "v---", "----", "v--d"),
    "traceability.clauselink": ("va-d", "va-d", "v---", "----", "va-d"),
    "traceability.release": ("v---", "v---", "v---", "----", "v---"),
    "traceability.baseline": ("v---", "v---", "v---", "----", "v---"),
    "traceability.deviation": ("v---", "v---", "v---", "----", "v---"),
    "traceability.deviationrevocation": ("v---", "v---", "v---", "----", "v---"),
    "traceability.testrun": ("v---", "v---", "v---", "----", "v---"),
    "traceability.commit": ("v---", "v---", "v---", "----", "v---"),
    "traceability.pullrequest": ("v---", "v---", "v---", "----", "v---"),
    "regops.environment": ("vac-", "v---", "v---", "----", "vac-"),
    "regops.gatedecision": ("v---", "v---", "v---", "----", "v---"),
    "regops.deployment": ("v---", "v---", "v---", "----", "v---"),
    "regops.integrationapproval": ("v---", "v---", "v---", "----", "v---"),
    "traceability.manualexecution": ("va--", "va--", "v---", "----", "va--"),
    "traceability.tracereport": ("v---", "v---", "v---", "----", "v---"),
}

# Bulk actions offered on the list page besides "delete selected" (which comes with the delete right).
ACTIONS: dict[str, dict[str, frozenset[str]]] = {
    "auth.user": {"unlock": frozenset({"quality_manager", "superuser"})},
    "qms.apitoken": {"revoke": frozenset({"quality_manager", "superuser"})},
    "traceability.item": {"make_obsolete": frozenset({"quality_manager", "developer", "superuser"})},
}


def expected(model: str, role: str) -> str:
    return MATRIX[model][ROLES.index(role)]


def user_for(role: str) -> User:
    if role == "superuser":
        return User.objects.create_superuser(username="root", password="root-pw", first_name="Root")
    user = make_user(f"staff-{role}", None if role == "no_role" else role)
    user.is_staff = True
    user.save()
    return user


@pytest.fixture
def records(catalogue, small_graph, qm, developer) -> dict[str, object]:
    """One record of every model the admin shows."""
    product = Product.objects.get(key="DEMO")
    srs = small_graph["SRS-1"]
    clause_link = clause_link_create(
        item=srs, clause=Clause.objects.get(standard__slug="iec-62304-2015", number="5.2.1"), actor=qm
    )
    make_run(product, {"TC-1": "passed"}, version="1.0")
    commit = Commit.objects.create(product=product, sha="a" * 40, message="Implements: SRS-1")
    CommitLink.objects.create(commit=commit, item=srs, kind="implements")
    manual_executions_record(
        product=product,
        run=run_input_clean(version="1.0", commit_sha="", environment=""),
        executions=[{"test_case": "TC-1", "status": "passed", "executed_at": "2026-03-03T10:00:00Z"}],
        actor=developer,
    )
    digest = "sha256:" + "a" * 64
    artifact_register(
        product=product, name="app", uri="https://ci.example.com/app", digest=digest, version="1.0", actor=qm
    )
    staging = environment_create(product=product, key="staging", name="Staging", tier="staging", actor=qm)
    decision, _ = gate_decide(environment=staging, actor=developer, digests=[digest])
    smoke = {"passed": True, "checks": [{"name": "health", "passed": True}]}
    deployment, _, _ = deployment_report(
        environment=staging, actor=developer, digests=[digest], state="success", external_id="1", smoke=smoke
    )
    release = release_freeze(product=product, version="1.0", actor=qm)
    release_sign(release=release, signer=qm, password="quinn-pw", meaning="review")
    integration = integration_approve(release=release, signer=qm, password="quinn-pw")
    why = "The bench rig's failure is understood and does not reach patients in this release."
    deviation = deviation_sign(
        product=product, rule="test_failed", severity="warning", rationale=why, signer=qm, password="quinn-pw"
    )
    revocation = deviation_revoke(deviation=deviation, reason=why, signer=qm, password="quinn-pw")
    report = TraceReport.objects.create(
        release=release,
        format="pdf",
        key="k" * 64,
        layout_version="1",
        baseline_sha256=release.baseline.sha256,
        release_state=release.state,
        signatures_digest="d" * 64,
        document_id="DEMO-TR-1.0",
    )
    task = DBTaskResult.objects.create(
        args_kwargs={"args": [report.pk], "kwargs": {}},
        task_path="traceability.tasks.trace_report_render",
        backend_name="default",
        run_after=datetime(2026, 3, 3, tzinfo=UTC),
    )
    pull_request = PullRequest.objects.create(
        product=product, provider="github", repository="acme/bolus", number=42, title="Round doses down", author="dana"
    )
    PullRequestReview.objects.create(
        pull_request=pull_request, external_id="1", reviewer="robin", state="approved", submitted_at=task.run_after
    )
    PullRequestLink.objects.create(pull_request=pull_request, item=srs, kind="implements")
    token, _ = token_create(user=developer, name="ci", scopes=["evidence"], actor=developer)
    return {
        "qms.auditevent": AuditEvent.objects.order_by("id").first(),
        "qms.apitoken": token,
        "qms.signature": Signature.objects.order_by("id").first(),
        "auth.user": developer,
        "django_tasks_database.dbtaskresult": task,
        "standards.standard": Standard.objects.get(slug="iec-62304-2015"),
        "standards.clause": Clause.objects.get(standard__slug="iec-62304-2015", number="5.2.2"),
        "standards.clausemapping": ClauseMapping.objects.order_by("id").first(),
        "traceability.product": product,
        "traceability.item": srs,
        "traceability.link": Link.objects.filter(source=srs).order_by("id").first(),
        "traceability.clauselink": clause_link,
        "traceability.release": release,
        "traceability.baseline": Baseline.objects.get(),
        "traceability.deviation": deviation,
        "traceability.deviationrevocation": revocation,
        "traceability.testrun": TestRun.objects.filter(source="manual").get(),
        "traceability.commit": commit,
        "traceability.pullrequest": pull_request,
        "regops.environment": staging,
        "regops.gatedecision": decision,
        "regops.deployment": deployment,
        "regops.integrationapproval": integration,
        "traceability.manualexecution": ManualExecution.objects.filter(run__source="manual").get(),
        "traceability.tracereport": report,
    }


def test_the_matrix_names_every_model_of_the_admin():
    get_resolver().url_patterns  # noqa: B018 - loading the URLs fills the admin registry
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered == set(MATRIX)


def _flags(model_admin: admin.ModelAdmin, request, obj) -> str:
    return "".join(
        letter if allowed else "-"
        for letter, allowed in (
            ("v", model_admin.has_view_permission(request, obj)),
            ("a", model_admin.has_add_permission(request)),
            ("c", model_admin.has_change_permission(request, obj)),
            ("d", model_admin.has_delete_permission(request, obj)),
        )
    )


def _url(obj, action: str) -> str:
    """The admin page of ``action`` (changelist, add: the model's; change, delete: the record's)."""
    meta = obj._meta
    args = [] if action in ("changelist", "add") else [obj.pk]
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{action}", args=args)


@pytest.mark.parametrize("role", ROLES)
def test_admin_permissions_by_role_model_and_action(role, records):
    """view: the list and the record; add: the add page; change: a form that saves; delete: the
    delete page and the "delete selected" bulk action. Each as the matrix says, nothing more."""
    get_resolver().url_patterns  # noqa: B018 - loading the URLs fills the admin registry
    user = user_for(role)
    client = Client()
    signed_in(client, user)
    request = RequestFactory().get("/admin/")
    request.user = User.objects.get(pk=user.pk)
    problems: list[str] = []
    for label, obj in records.items():
        want = expected(label, role)
        model_admin = admin.site._registry[type(obj)]
        for with_obj in (None, obj):
            got = _flags(model_admin, request, with_obj)
            if got != want:
                problems.append(f"{label}: permissions {got}, expected {want} (obj={with_obj is not None})")
        statuses = {
            "view": client.get(_url(obj, "changelist")).status_code,
            "add": client.get(_url(obj, "add")).status_code,
            "delete": client.get(_url(obj, "delete")).status_code,
        }
        for action, letter in (("view", "v"), ("add", "a"), ("delete", "d")):
            want_status = 200 if letter in want else 403
            if statuses[action] != want_status:
                problems.append(f"{label}: {action} page {statuses[action]}, expected {want_status}")
        page = client.get(_url(obj, "change"))
        want_status = 200 if "v" in want else 403
        if page.status_code != want_status:
            problems.append(f"{label}: change page {page.status_code}, expected {want_status}")
        elif page.status_code == 200:
            saves = 'name="_save"' in page.content.decode()
            if saves != ("c" in want):
                problems.append(f"{label}: the record page {'offers' if saves else 'lacks'} Save")
        if "v" in want:
            listing = client.get(_url(obj, "changelist"))
            action_form = listing.context["action_form"] if listing.context else None
            offered = {name for name, _ in action_form.fields["action"].choices if name} if action_form else set()
            want_actions = {"delete_selected"} if "d" in want else set()
            want_actions |= {name for name, roles in ACTIONS.get(label, {}).items() if role in roles}
            if offered != want_actions:
                problems.append(f"{label}: bulk actions {sorted(offered)}, expected {sorted(want_actions)}")
    assert problems == []


@pytest.mark.parametrize("role", ROLES)
def test_nobody_bulk_deletes_a_quality_record(role, records):
    """Posting "delete selected" where it is not offered deletes nothing and writes no audit event."""
    client = Client()
    signed_in(client, user_for(role))
    events = AuditEvent.objects.count()
    for label, obj in records.items():
        if "d" in expected(label, role):
            continue
        model = type(obj)
        response = client.post(
            _url(obj, "changelist"),
            {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"},
        )
        assert response.status_code in (200, 302, 403), label
        assert model._default_manager.filter(pk=obj.pk).exists(), label
    assert AuditEvent.objects.count() == events


def test_the_requirement_with_its_links_is_deleted_by_nobody(records, qm, developer, auditor):
    """The issue's case: a requirement with 5 links, 2 clause links and a commit link."""
    srs = records["traceability.item"]
    clause_link_create(item=srs, clause=Clause.objects.get(standard__slug="iec-62304-2015", number="5.2.2"), actor=qm)
    for key in ("SWI-1", "TC-2"):
        kind = "software_item" if key.startswith("SWI") else "test_case"
        item = Item.objects.create(product=srs.product, key=key, kind=kind, title=key, fingerprint="f")
        Link.objects.create(
            product=srs.product,
            source=item,
            target=srs,
            link_type="implements" if kind == "software_item" else "verifies",
            source_kind=kind,
            target_kind=srs.kind,
            target_fingerprint=srs.fingerprint,
        )
    counts = (
        Link.objects.filter(source=srs).count() + Link.objects.filter(target=srs).count(),
        ClauseLink.objects.filter(item=srs).count(),
        CommitLink.objects.filter(item=srs).count(),
    )
    assert counts == (5, 2, 1)
    events = AuditEvent.objects.count()
    for user in (qm, developer, auditor, User.objects.create_superuser(username="root", password="root-pw")):
        user.is_staff = True
        user.save()
        client = Client()
        signed_in(client, user)
        delete_url = reverse("admin:traceability_item_delete", args=[srs.pk])
        assert client.get(delete_url).status_code == 403, user.username
        assert client.post(delete_url, {"post": "yes"}).status_code == 403, user.username
        change_page = client.get(reverse("admin:traceability_item_change", args=[srs.pk])).content.decode()
        assert delete_url not in change_page, user.username
    assert Item.objects.filter(pk=srs.pk, status="draft").exists()
    after = (
        Link.objects.filter(source=srs).count() + Link.objects.filter(target=srs).count(),
        ClauseLink.objects.filter(item=srs).count(),
        CommitLink.objects.filter(item=srs).count(),
    )
    assert after == counts
    assert AuditEvent.objects.count() == events


def test_quality_managers_revoke_anyones_token_in_the_admin_and_developers_only_their_own_in_the_api(
    records, qm, developer, api_client
):
    token = records["qms.apitoken"]  # the developer's
    other, _ = token_create(user=qm, name="qm-ci", scopes=["evidence"], actor=qm)
    events = AuditEvent.objects.count()
    refused = api_client(developer).post(f"/api/v1/tokens/{other.pk}/revoke/")
    assert refused.status_code == 403
    assert refused.json() == {
        "error": "token_forbidden",
        "detail": "token 'qm-ci' belongs to quinn: you can revoke only your own tokens "
        "(quality managers revoke anyone's)",
    }
    assert AuditEvent.objects.count() == events and ApiToken.objects.get(pk=other.pk).revoked_at is None

    client = Client()
    qm.is_staff = True
    qm.save()
    signed_in(client, qm)
    response = client.post(
        reverse("admin:qms_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == qm
    event = AuditEvent.objects.get(action="token.revoked")
    assert (event.actor_username, event.object_repr) == ("quinn", "dana/ci")

    developer.is_staff = True
    developer.save()
    signed_in(client, developer)
    client.post(reverse("admin:qms_apitoken_changelist"), {"action": "revoke", "_selected_action": [other.pk]})
    assert ApiToken.objects.get(pk=other.pk).revoked_at is None
    assert AuditEvent.objects.filter(action="token.revoked").count() == 1


def test_roles_are_given_on_the_user_page_and_their_groups_are_not_edited_in_the_admin(client, developer):
    signed_in(client, User.objects.create_superuser(username="root", password="root-pw"))
    assert client.get("/admin/auth/group/").status_code == 404
    page = client.get(reverse("admin:auth_user_change", args=[developer.pk])).content.decode()
    assert 'name="roles" value="developer"' in page and "checked" in page
