"""Approving an item (a change request above all) with a Part 11 signature over its content:
``item_approve``, ``POST .../items/{key}/approve/``, ``GET .../items/{key}/signatures/`` and the
``item_approvals`` selector that RegOps gate G2 reads."""

import pytest
from django.utils import timezone

from qms.errors import Conflict, Forbidden
from qms.models import AuditEvent, Signature, signature_is_sealed
from tests.conftest import client_for, token_client
from traceability.graph.load import graph_load_live
from traceability.graph.selectors import graph_load, item_approvals
from traceability.models import Item
from traceability.services.items import item_approve, item_fingerprint, item_update
from traceability.services.releases import release_freeze

pytestmark = pytest.mark.django_db

CR_TEXT = "Round every computed dose down to the pump's increment."


@pytest.fixture
def change_request(make_item) -> Item:
    return make_item("CR-1", "change_request", title="Round doses down", text=CR_TEXT)


def state() -> tuple:
    items = tuple(Item.objects.order_by("key").values_list("key", "status", "revision", "fingerprint"))
    return items, Signature.objects.count(), AuditEvent.objects.count()


def actions_since(first_id: int) -> list[str]:
    return list(AuditEvent.objects.filter(id__gt=first_id).order_by("id").values_list("action", flat=True))


def last_event_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


# --- the service -------------------------------------------------------------------------------


def test_a_quality_manager_approves_a_change_request_with_a_signature_over_its_content(change_request, qm):
    mark = last_event_id()
    signature = item_approve(item=change_request, signer=qm, password="quinn-pw", comment="reviewed in CCB 12")
    item = Item.objects.get(pk=change_request.pk)
    assert (item.status, item.revision, item.updated_by) == ("approved", 2, qm)
    assert item.fingerprint == change_request.fingerprint  # the status is not part of the content signed
    assert item.fingerprint == item_fingerprint(title="Round doses down", text=CR_TEXT, attributes={})
    assert (
        signature.signer,
        signature.printed_name,
        signature.meaning,
        signature.record_type,
        signature.record_id,
        signature.record_repr,
        signature.record_hash,
        signature.comment,
        signature.scope,
        signature.repeated,
    ) == (
        qm,
        "Quinn Manager",
        "approval",
        "traceability.item",
        str(item.pk),
        "DEMO CR-1 r2",
        item.fingerprint,
        "reviewed in CCB 12",
        "DEMO",
        False,
    )
    assert signature_is_sealed(signature)
    assert actions_since(mark) == ["item.updated", "signature.applied"]
    updated = AuditEvent.objects.get(action="item.updated", object_id=str(item.pk))
    assert (updated.before["status"], updated.after["status"], updated.after["revision"]) == ("draft", "approved", 2)


def test_a_wrong_password_writes_nothing_but_the_refusal(change_request, qm):
    before = state()
    mark = last_event_id()
    with pytest.raises(Forbidden) as refused:
        item_approve(item=change_request, signer=qm, password="wrong", client_address="10.0.0.7")
    assert (refused.value.code, refused.value.message) == (
        "signature_refused",
        "the password of quinn does not match; nothing was signed",
    )
    items, signatures, events = state()
    assert (items, signatures, events) == (before[0], before[1], before[2] + 1)
    refusal = AuditEvent.objects.get(id__gt=mark)
    assert (refusal.action, refusal.object_type, refusal.object_repr) == (
        "signature.refused",
        "traceability.item",
        "quinn approval DEMO CR-1 r2",  # what was to be signed: the approved revision
    )
    assert (refusal.after["client_address"], refusal.after["reason"]) == ("10.0.0.7", "wrong_password")


@pytest.mark.parametrize("who", ["developer", "auditor"])
def test_only_an_approver_approves_and_a_refusal_writes_nothing(change_request, who, request):
    signer = request.getfixturevalue(who)
    before = state()
    with pytest.raises(Forbidden) as refused:
        item_approve(item=change_request, signer=signer, password=f"{signer.username}-pw")
    assert refused.value.code == "approval_forbidden"
    assert refused.value.message == (
        f"approving CR-1 with a signature needs the 'approvals' scope (a quality manager); "
        f"{signer.username}'s role may not write approvals"
    )
    assert state() == before


def test_an_obsolete_item_is_not_approved(change_request, qm):
    item_update(item=change_request, actor=qm, status="obsolete")
    before = state()
    with pytest.raises(Conflict) as refused:
        item_approve(item=change_request, signer=qm, password="quinn-pw")
    assert (refused.value.code, refused.value.message) == (
        "item_obsolete",
        "DEMO/CR-1 is obsolete: an obsolete item takes no part in releases and is not approved",
    )
    assert state() == before


def test_an_item_whose_fingerprint_was_altered_is_not_signed(change_request, qm):
    Item.objects.filter(pk=change_request.pk).update(text="Round doses up.")  # behind the application's back
    before = state()
    with pytest.raises(Conflict) as refused:
        item_approve(item=change_request, signer=qm, password="quinn-pw")
    assert refused.value.code == "integrity_error"
    assert refused.value.message.startswith("DEMO/CR-1: its stored fingerprint does not match")
    assert state() == before


def test_approving_again_the_same_content_returns_the_signature_and_changes_nothing(change_request, qm):
    first = item_approve(item=change_request, signer=qm, password="quinn-pw")
    before = state()
    again = item_approve(item=change_request, signer=qm, password="quinn-pw")
    assert (again.pk, again.repeated) == (first.pk, True)
    assert state() == before


def test_an_approved_item_changed_and_approved_again_gets_a_signature_over_the_new_content(change_request, qm):
    first = item_approve(item=change_request, signer=qm, password="quinn-pw")
    item_update(item=change_request, actor=qm, status="in_review", text="Round doses down to 0.05 U.")
    second = item_approve(item=change_request, signer=qm, password="quinn-pw")
    item = Item.objects.get(pk=change_request.pk)
    assert (item.status, item.revision) == ("approved", 4)
    assert second.pk != first.pk
    assert (second.record_hash, second.record_repr) == (item.fingerprint, "DEMO CR-1 r4")
    assert first.record_hash != item.fingerprint


# --- the API -----------------------------------------------------------------------------------

URL = "/api/v1/products/DEMO/items/CR-1/approve/"


def test_the_api_approves_with_the_password_and_answers_the_item_and_signature(change_request, qm):
    client = client_for(qm)
    response = client.post(URL, {"password": "quinn-pw", "comment": "CCB 12", "username": "quinn"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["item"]["key"], body["item"]["status"], body["item"]["revision"]) == ("CR-1", "approved", 2)
    signature = body["signature"]
    assert {name: signature[name] for name in ("signer", "printed_name", "meaning", "record_repr", "current")} == {
        "signer": "quinn",
        "printed_name": "Quinn Manager",
        "meaning": "approval",
        "record_repr": "DEMO CR-1 r2",
        "current": True,
    }
    assert signature["record_hash"] == change_request.fingerprint
    repeated = client.post(URL, {"password": "quinn-pw", "comment": "CCB 12"}, format="json")
    assert repeated.status_code == 200
    assert repeated.json()["signature"]["id"] == signature["id"]


def test_the_api_lists_the_signatures_and_marks_those_over_other_content(change_request, qm):
    client = client_for(qm)
    assert client.post(URL, {"password": "quinn-pw"}, format="json").status_code == 201
    item_update(item=change_request, actor=qm, status="in_review", text="Round doses down to 0.05 U.")
    assert client.post(URL, {"password": "quinn-pw"}, format="json").status_code == 201
    listing = client_for(qm).get("/api/v1/products/DEMO/items/CR-1/signatures/")
    assert listing.status_code == 200
    rows = listing.json()["results"]
    assert [(row["record_repr"], row["current"]) for row in rows] == [("DEMO CR-1 r2", False), ("DEMO CR-1 r4", True)]


@pytest.mark.parametrize(
    ("data", "status", "error"),
    [
        ({"password": "wrong"}, 403, "signature_refused"),
        ({"password": "quinn-pw", "username": "dana"}, 403, "forbidden"),
        ({}, 400, "invalid"),
    ],
)
def test_the_api_refuses_a_bad_signing_and_writes_nothing_but_a_refusal(change_request, qm, data, status, error):
    before = state()
    response = client_for(qm).post(URL, data, format="json")
    assert response.status_code == status
    assert response.json()["error"] == error
    items, signatures, events = state()
    refusals = 1 if error == "signature_refused" else 0
    assert (items, signatures, events) == (before[0], before[1], before[2] + refusals)


@pytest.mark.parametrize("who", ["developer", "auditor"])
def test_the_api_refuses_developers_and_auditors(change_request, who, request):
    user = request.getfixturevalue(who)
    before = state()
    response = client_for(user).post(URL, {"password": f"{user.username}-pw"}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "Your role may not write approvals."
    assert state() == before


def test_the_api_answers_409_for_an_obsolete_item_and_404_for_an_unknown_one(change_request, qm):
    item_update(item=change_request, actor=qm, status="obsolete")
    before = state()
    response = client_for(qm).post(URL, {"password": "quinn-pw"}, format="json")
    assert (response.status_code, response.json()["error"]) == (409, "item_obsolete")
    missing = client_for(qm).post("/api/v1/products/DEMO/items/CR-9/approve/", {"password": "quinn-pw"}, format="json")
    assert missing.status_code == 404
    assert state() == before


def test_an_api_token_approves_only_with_the_approvals_scope(change_request, qm):
    before = state()
    refused = token_client(qm, ["items"]).post(URL, {"password": "quinn-pw"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "This API token lacks the scope 'approvals'."
    assert state()[0:2] == before[0:2]
    allowed = token_client(qm, ["approvals"]).post(URL, {"password": "quinn-pw"}, format="json")
    assert allowed.status_code == 201


# --- the selector ------------------------------------------------------------------------------


def test_item_approvals_name_the_newest_approval_over_the_content_the_graph_holds(change_request, make_item, qm):
    other = make_item("CR-2", "change_request", title="Alarm volume")
    first = item_approve(item=change_request, signer=qm, password="quinn-pw", comment="first")
    second = item_approve(item=change_request, signer=qm, password="quinn-pw", comment="second")
    product = change_request.product
    approvals = item_approvals(product=product, graph=graph_load_live(product=product))
    assert approvals["CR-2"] is None
    approval = approvals["CR-1"]
    assert approval is not None
    assert (approval.signature_id, approval.signer, approval.printed_name, approval.record_repr, approval.comment) == (
        second.pk,
        "quinn",
        "Quinn Manager",
        "DEMO CR-1 r2",
        "second",
    )
    assert approval.as_dict()["record_hash"] == change_request.fingerprint
    assert first.pk < second.pk
    assert other.key in approvals


def test_an_approval_of_other_content_does_not_count(change_request, qm):
    item_approve(item=change_request, signer=qm, password="quinn-pw")
    product = change_request.product
    release = release_freeze(product=product, version="1.0", actor=qm)
    item_update(item=change_request, actor=qm, status="in_review", text="Round doses down to 0.05 U.")
    live = item_approvals(product=product, graph=graph_load_live(product=product))
    assert live["CR-1"] is None  # the content changed since it was approved
    frozen = item_approvals(product=product, graph=graph_load(product=product, release=release))
    assert frozen["CR-1"] is not None  # the baseline holds the content that was approved
    assert frozen["CR-1"].record_repr == "DEMO CR-1 r2"


def test_an_approval_signed_after_the_freeze_counts_for_the_baseline_it_matches(change_request, qm):
    product = change_request.product
    release = release_freeze(product=product, version="1.0", actor=qm)
    item_approve(item=change_request, signer=qm, password="quinn-pw")
    frozen = item_approvals(product=product, graph=graph_load(product=product, release=release))
    assert frozen["CR-1"] is not None


def test_a_signature_without_its_seal_or_of_another_meaning_never_counts(change_request, qm):
    product = change_request.product
    common = {
        "signer": qm,
        "signer_username": "quinn",
        "printed_name": "Quinn Manager",
        "signed_at": timezone.now(),
        "record_type": "traceability.item",
        "record_id": str(change_request.pk),
        "record_repr": "DEMO CR-1 r1",
        "record_hash": change_request.fingerprint,
        "scope": "DEMO",
    }
    Signature.objects.create(meaning="approval", seal="0" * 64, **common)  # inserted behind the application
    Signature.objects.create(meaning="review", seal="0" * 64, **common)
    approvals = item_approvals(product=product, graph=graph_load_live(product=product))
    assert approvals["CR-1"] is None


def test_item_approvals_cost_the_same_queries_for_one_item_or_many(make_item, qm, django_assert_num_queries):
    first = make_item("CR-1", "change_request", title="One")
    item_approve(item=first, signer=qm, password="quinn-pw")
    product = first.product
    graph = graph_load_live(product=product)
    with django_assert_num_queries(2):  # the item ids, the approval signatures
        assert item_approvals(product=product, graph=graph)["CR-1"] is not None
    for number in range(2, 12):
        item = make_item(f"CR-{number}", "change_request", title=f"Change {number}")
        item_approve(item=item, signer=qm, password="quinn-pw")
    graph = graph_load_live(product=product)
    with django_assert_num_queries(2):
        approvals = item_approvals(product=product, graph=graph)
    assert sum(approval is not None for approval in approvals.values()) == 11
