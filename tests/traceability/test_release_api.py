import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from qms.models import AuditEvent, Signature
from tests.conftest import token_client
from tests.traceability.engine import baseline_remove, baseline_tamper, bulk_requirements, make_run
from traceability.models import Baseline, Release
from traceability.services.items import item_update
from traceability.services.links import link_create
from traceability.services.releases import release_create, release_freeze, release_sign

pytestmark = pytest.mark.django_db

BASE = "/api/v1/products/DEMO"


def state() -> tuple[int, ...]:
    return (Release.objects.count(), Baseline.objects.count(), Signature.objects.count(), AuditEvent.objects.count())


@pytest.fixture
def clean(product, make_item, qm):
    """Only warnings: SRS-1 (derived) ← TC-1, implemented by SWI-1."""
    srs = make_item("SRS-1", "software_requirement", status="approved", attributes={"derived_rationale": "choice"})
    swi = make_item("SWI-1", "software_item", status="approved", text="design")
    test = make_item("TC-1", "test_case", status="approved")
    link_create(source=test, target=srs, link_type="verifies", actor=qm)
    link_create(source=swi, target=srs, link_type="implements", actor=qm)
    for version in ("1.0", "1.1"):  # TC-1 passes in the releases the tests freeze
        make_run(product, {"TC-1": "passed"}, version=version)
    return {"SRS-1": srs, "SWI-1": swi, "TC-1": test}


def test_create_and_list_releases(api_client, qm, developer, product):
    client = api_client(qm)
    response = client.post(f"{BASE}/releases/", {"version": "1.0", "commit_sha": "abc1234"}, format="json")
    assert response.status_code == 201, response.json()
    assert {k: response.json()[k] for k in ("version", "state", "frozen", "baseline_sha256", "created_by")} == {
        "version": "1.0",
        "state": "draft",
        "frozen": False,
        "baseline_sha256": None,
        "created_by": "quinn",
    }
    listing = api_client(developer).get(f"{BASE}/releases/").json()
    assert listing["count"] == 1 and listing["results"][0]["version"] == "1.0"
    assert api_client(developer).get(f"{BASE}/releases/1.0/").json()["commit_sha"] == "abc1234"


@pytest.mark.parametrize(
    ("user", "payload", "status", "message"),
    [
        ("developer", {"version": "2.0"}, 403, "Your role may not write products."),
        ("qm", {"version": "1 0"}, 400, "version: A version such as"),
        ("qm", {"version": "2.0", "commit_sha": "nothex"}, 400, "commit_sha: A git commit SHA"),
        ("qm", {"version": "1.0"}, 409, "DEMO already has a release 1.0"),
        ("qm", {}, 400, "version: This field is required."),
        ("qm", {"version": "live"}, 400, "version: 'live' is reserved: it names the live graph"),
    ],
)
def test_bad_release_creation(api_client, request, qm, product, user, payload, status, message):
    release_create(product=product, version="1.0", actor=qm)
    client = api_client(request.getfixturevalue(user))
    before = state()
    response = client.post(f"{BASE}/releases/", payload, format="json")
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert state() == before


def test_unknown_product_or_release_is_404(api_client, auditor, product):
    client = api_client(auditor)
    for path in ("/api/v1/products/NOPE/releases/", f"{BASE}/releases/9.9/", f"{BASE}/releases/9.9/status/"):
        response = client.get(path)
        assert response.status_code == 404, path
    assert client.get(f"{BASE}/releases/9.9/matrix/").json()["detail"] == "DEMO has no release '9.9'"
    assert client.get("/api/v1/products/NOPE/matrix/").json()["detail"] == "no product 'NOPE'"
    nothing_frozen = client.get(f"{BASE}/diff/")
    assert (nothing_frozen.status_code, nothing_frozen.json()["detail"]) == (
        404,
        "DEMO has no frozen release to compare with",
    )


def test_freeze_over_the_api(api_client, qm, auditor, clean, product):
    assert api_client(auditor).post(f"{BASE}/releases/1.0/freeze/", {}, format="json").status_code == 403
    response = api_client(qm).post(f"{BASE}/releases/1.0/freeze/", {"git_tag": "v1.0"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["state"], body["frozen"], body["git_tag"]) == ("frozen", True, "v1.0")
    assert body["baseline_sha256"] == Baseline.objects.get().sha256
    before = state()
    again = api_client(qm).post(f"{BASE}/releases/1.0/freeze/", {}, format="json")
    assert again.status_code == 409
    assert again.json()["error"] == "release_frozen"
    assert again.json()["detail"] == "DEMO 1.0 is already frozen; a frozen baseline never changes"
    assert state() == before


@pytest.mark.parametrize("broken", ["missing", "corrupt"])
def test_a_frozen_release_without_a_sound_baseline_is_409(api_client, qm, auditor, clean, product, broken):
    release_freeze(product=product, version="1.0", actor=qm)
    if broken == "missing":
        baseline_remove()
        code, detail = "baseline_missing", "DEMO 1.0 was frozen at "
    else:
        baseline_tamper("SRS-1", "SRS-X")
        code, detail = "baseline_corrupt", "baseline of 1.0 does not match its SHA-256"
    client = api_client(auditor)
    for path in ("matrix/", "matrix/reverse/", "risk-trace/", "gaps/", "status/"):
        response = client.get(f"{BASE}/releases/1.0/{path}")
        assert response.status_code == 409, path
        assert response.json()["error"] == code and response.json()["detail"].startswith(detail), path
    assert client.get(f"{BASE}/diff/?from=1.0").status_code == 409
    before = state()
    approve = api_client(qm).post(f"{BASE}/releases/1.0/approve/", {"password": "quinn-pw"}, format="json")
    assert approve.status_code == 409 and state() == before


def test_approve_with_a_password(api_client, qm, clean, product):
    release_freeze(product=product, version="1.0", actor=qm)
    client = api_client(qm)
    before = state()
    wrong = client.post(f"{BASE}/releases/1.0/approve/", {"password": "nope", "meaning": "approval"}, format="json")
    assert wrong.status_code == 403 and wrong.json()["error"] == "signature_refused"
    other = client.post(f"{BASE}/releases/1.0/approve/", {"password": "quinn-pw", "username": "dana"}, format="json")
    assert other.status_code == 403 and "does not match the signed-in user" in other.json()["detail"]
    missing = client.post(f"{BASE}/releases/1.0/approve/", {"meaning": "approval"}, format="json")
    assert missing.status_code == 400 and missing.json()["detail"] == "password: This field is required."
    assert state() == (*before[:3], before[3] + 1)  # the wrong password's signature.refused, nothing else
    assert AuditEvent.objects.order_by("id").last().action == "signature.refused"

    response = client.post(
        f"{BASE}/releases/1.0/approve/",
        {"password": "quinn-pw", "meaning": "approval", "comment": "Go", "username": "quinn"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["release"]["state"] == "approved"
    assert {k: body["signature"][k] for k in ("signer", "printed_name", "meaning", "record_hash", "comment")} == {
        "signer": "quinn",
        "printed_name": "Quinn Manager",
        "meaning": "approval",
        "record_hash": Baseline.objects.get().sha256,
        "comment": "Go",
    }


def test_only_the_approvals_scope_approves(api_client, qm, developer, clean, product):
    release_freeze(product=product, version="1.0", actor=qm)
    before = state()
    response = api_client(developer).post(f"{BASE}/releases/1.0/approve/", {"password": "dana-pw"}, format="json")
    assert response.status_code == 403 and response.json()["detail"] == "Your role may not write approvals."
    ci = token_client(qm, ["evidence"])
    response = ci.post(f"{BASE}/releases/1.0/approve/", {"password": "quinn-pw"}, format="json")
    assert response.status_code == 403 and response.json()["detail"] == "This API token lacks the scope 'approvals'."
    assert state()[:3] == before[:3]
    signing = token_client(qm, ["approvals"])
    assert signing.post(f"{BASE}/releases/1.0/approve/", {"password": "quinn-pw"}, format="json").status_code == 200


def test_approval_is_refused_while_error_gaps_exist(api_client, qm, product, make_item):
    make_item("SRS-1", "software_requirement")
    release_freeze(product=product, version="1.0", actor=qm)
    before = state()
    response = api_client(qm).post(f"{BASE}/releases/1.0/approve/", {"password": "quinn-pw"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"] == "release_not_ready"
    assert [gap["items"] for gap in response.json()["gaps"]] == [["SRS-1"], ["SRS-1"], ["SRS-1"]]
    assert state() == before
    draft = api_client(qm).post(f"{BASE}/releases/1.0/approve/", {"password": "quinn-pw"}, format="json")
    assert draft.status_code == 409


def test_signatures_release_and_withdraw(api_client, qm, auditor, clean, product):
    release_freeze(product=product, version="1.0", actor=qm)
    client = api_client(qm)
    review = client.post(
        f"{BASE}/releases/1.0/signatures/", {"password": "quinn-pw", "meaning": "review"}, format="json"
    )
    assert review.status_code == 201 and review.json()["meaning"] == "review"
    client.post(f"{BASE}/releases/1.0/approve/", {"password": "quinn-pw"}, format="json")
    manifest = api_client(auditor).get(f"{BASE}/releases/1.0/signatures/").json()
    assert [entry["meaning"] for entry in manifest["results"]] == ["review", "approval"]
    assert client.post(f"{BASE}/releases/1.0/release/").json()["state"] == "released"
    bad = client.post(f"{BASE}/releases/1.0/withdraw/", {"reason": ""}, format="json")
    assert bad.status_code == 400 and bad.json()["detail"] == "reason: This field may not be blank."
    withdrawn = client.post(f"{BASE}/releases/1.0/withdraw/", {"reason": "FSN-7"}, format="json").json()
    assert (withdrawn["state"], withdrawn["withdrawn_reason"]) == ("withdrawn", "FSN-7")


def test_release_status_for_ci(api_client, qm, clean, product):
    release_create(product=product, version="1.0", actor=qm)
    token = token_client(qm, ["evidence"])
    assert token.get(f"{BASE}/releases/1.0/status/").json() == {
        "product": "DEMO",
        "version": "1.0",
        "state": "draft",
        "frozen": False,
        "ready": True,
        "approved": False,
        "errors": 0,
        "warnings": 0,
        "baseline_sha256": None,
        "commit_sha": "",
        "git_tag": "",
        "signatures": 0,
    }
    release_create(product=product, version="2.0", actor=qm)  # no test results: not ready
    status = token.get(f"{BASE}/releases/2.0/status/").json()
    assert (status["ready"], status["errors"], status["warnings"]) == (False, 1, 1)


def test_matrix_endpoint_filters_and_pages(api_client, auditor, qm, clean, product, make_item):
    make_item("SRS-2", "software_requirement", status="approved")
    make_run(product, {"TC-1": "passed"}, version="1.0")
    release_create(product=product, version="1.0", actor=qm)
    client = api_client(auditor)
    body = client.get(f"{BASE}/releases/1.0/matrix/").json()
    assert (body["release"], body["frozen"], body["count"]) == ("1.0", False, 2)
    assert [(row["key"], row["status"]) for row in body["results"]] == [
        ("SRS-1", "verified"),
        ("SRS-2", "not_verified"),
    ]
    assert body["coverage"]["requirements_verified"] == 1
    assert client.get(f"{BASE}/releases/1.0/matrix/?status=verified").json()["count"] == 1
    gaps_only = client.get(f"{BASE}/releases/1.0/matrix/?gaps_only=true").json()
    assert [row["key"] for row in gaps_only["results"]] == ["SRS-2"]
    paged = client.get(f"{BASE}/releases/1.0/matrix/?page_size=1&page=2").json()
    assert [row["key"] for row in paged["results"]] == ["SRS-2"] and paged["next"] is None
    bad = client.get(f"{BASE}/matrix/?status=great")
    assert bad.status_code == 400 and "status" in bad.json()["detail"]
    live = client.get(f"{BASE}/matrix/?root_kind=system_requirement").json()
    assert (live["release"], live["frozen"], live["count"]) == (None, False, 0)

    release_freeze(product=product, version="1.0", actor=qm)
    frozen = client.get(f"{BASE}/releases/1.0/matrix/").json()
    assert frozen["frozen"] is True and frozen["baseline_sha256"] == Baseline.objects.get().sha256


def test_reverse_matrix_risk_trace_and_gaps(api_client, auditor, small_graph, product):
    client = api_client(auditor)
    reverse = client.get(f"{BASE}/matrix/reverse/").json()
    assert [(row["key"], row["verifies"], row["status"]) for row in reverse["results"]] == [
        ("TC-1", ["SRS-1"], "no_result")
    ]
    risks = client.get(f"{BASE}/risk-trace/").json()
    assert [(row["key"], row["status"], [c["key"] for c in row["controls"]]) for row in risks["results"]] == [
        ("RISK-1", "residual_unacceptable", ["RC-1"])
    ]
    gaps = client.get(f"{BASE}/gaps/?severity=error").json()
    assert gaps["ready"] is False and gaps["errors"] == gaps["count"]
    assert {finding["severity"] for finding in gaps["results"]} == {"error"}
    rule = client.get(f"{BASE}/gaps/?rule=residual_risk_unacceptable").json()
    assert [finding["items"] for finding in rule["results"]] == [["RISK-1"]]
    assert client.get(f"{BASE}/gaps/?severity=fatal").status_code == 400


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("gaps/?rule=bogus", "rule: unknown rule 'bogus' (known: requirement_without_parent, "),
        ("gaps/?severity=fatal", "severity: unknown severity 'fatal' (known: error, warning)"),
        ("matrix/?status=done", "status: unknown status 'done' (known: verified, not_verified, "),
        ("matrix/?root_kind=soup", "root_kind: unknown root kind 'soup' (known: software_requirement, "),
    ],
)
def test_bad_filters_are_400_naming_the_known_values(api_client, auditor, small_graph, path, message):
    response = api_client(auditor).get(f"{BASE}/{path}")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid" and response.json()["detail"].startswith(message)


def test_diff_and_impact(api_client, auditor, qm, small_graph, product):
    release_freeze(product=product, version="1.0", actor=qm)
    item_update(item=small_graph["SYS-1"], actor=qm, text="new text")
    client = api_client(auditor)
    diff = client.get(f"{BASE}/diff/?from=1.0").json()
    assert (diff["before"], diff["after"], [c["key"] for c in diff["items_changed"]]) == ("1.0", "live", ["SYS-1"])
    assert client.get(f"{BASE}/diff/").json()["before"] == "1.0"  # the last frozen release
    assert client.get("/api/v1/products/DEMO/diff/?from=").json()["before"] == "1.0"
    assert client.get(f"{BASE}/diff/?from=1.0&to=2.0").status_code == 404
    impact = client.get(f"{BASE}/items/SYS-1/impact/").json()
    assert (
        impact["summary"] == "A change to SYS-1 impacts 1 software requirement, 1 risk control measure and 1 test case."
    )
    assert impact["items"][0] == {
        "key": "SRS-1",
        "kind": "software_requirement",
        "title": "SRS-1 title",
        "depth": 1,
        "path": ["SYS-1", "SRS-1"],
        "suspect": True,
    }
    assert client.get(f"{BASE}/items/NOPE-1/impact/").status_code == 404


def _count(client, path):
    with CaptureQueriesContext(connection) as context:
        response = client.get(path)
    assert response.status_code == 200, response.json()
    return len(context), response.json()["count"]


def test_list_endpoints_cost_the_same_queries_for_one_row_and_many(api_client, auditor, qm, product, make_item):
    make_item("SRS-1", "software_requirement")
    make_item("TC-1", "test_case")
    release_create(product=product, version="0.1", actor=qm)
    release_freeze(product=product, version="0.2", actor=qm)
    release_sign(release=Release.objects.get(version="0.2"), signer=qm, password="quinn-pw", meaning="review")
    client = api_client(auditor)
    paths = (
        f"{BASE}/releases/",
        f"{BASE}/releases/0.2/signatures/",
        f"{BASE}/releases/0.1/matrix/",
        f"{BASE}/releases/0.2/matrix/",
        f"{BASE}/matrix/reverse/",
        f"{BASE}/risk-trace/",
        f"{BASE}/gaps/",
    )
    one = [_count(client, path) for path in paths]

    bulk_requirements(product, 20)
    for version in ("0.3", "0.4", "0.5"):
        release_create(product=product, version=version, actor=qm)
    for number in range(3):
        release_sign(
            release=Release.objects.get(version="0.2"),
            signer=qm,
            password="quinn-pw",
            meaning="review",
            comment=f"review {number}",
        )
    attributes = {"hazard": "h", "hazardous_situation": "s", "harm": "x", "severity": 1, "probability": 1}
    for index in range(1, 4):
        make_item(f"RISK-{index}", "risk", attributes=attributes)
    many = [_count(client, path) for path in paths]

    assert [queries for queries, _ in one] == [queries for queries, _ in many]
    assert all(
        rows_many > rows_one
        for (_, rows_one), (_, rows_many) in zip(one[:3] + one[4:], many[:3] + many[4:], strict=True)
    )
