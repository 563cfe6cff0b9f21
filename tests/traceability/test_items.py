import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from qms.errors import Conflict, InvalidInput
from qms.models import AuditEvent
from traceability.models import Item, Link
from traceability.services.items import item_create, item_update, items_make_obsolete
from traceability.services.links import link_create

pytestmark = pytest.mark.django_db


def test_create_sets_revision_fingerprint_and_audit(make_item):
    item = make_item(
        "SRS-12",
        "software_requirement",
        text="The app shall round down.",
        status="approved",
        attributes={"category": "functional"},
    )
    assert item.revision == 1
    assert len(item.fingerprint) == 64
    event = AuditEvent.objects.get(action="item.created")
    assert event.object_repr == "DEMO/SRS-12"
    assert event.after["attributes"] == {"category": "functional"}


def test_every_change_advances_the_revision(make_item, qm):
    item = make_item("SRS-1", "software_requirement", text="a")
    item = item_update(item=item, actor=qm, status="in_review")
    assert item.revision == 2
    fingerprint = item.fingerprint
    item = item_update(item=item, actor=qm, status="approved")
    assert item.revision == 3
    assert item.fingerprint == fingerprint  # status is not content
    item = item_update(item=item, actor=qm, text="b")
    assert item.revision == 4
    assert item.fingerprint != fingerprint


def test_an_update_that_changes_nothing_records_nothing(make_item, qm):
    item = make_item("SRS-1", "software_requirement", text="a")
    before = AuditEvent.objects.count()
    item = item_update(item=item, actor=qm, text="a")
    assert item.revision == 1
    assert AuditEvent.objects.count() == before


def test_stale_revision_is_refused(make_item, qm, developer):
    item = make_item("SRS-1", "software_requirement", text="a")
    item_update(item=item, actor=developer, text="b", expected_revision=1)
    with pytest.raises(Conflict, match="revision 2, not 1"):
        item_update(item=item, actor=qm, text="c", expected_revision=1)
    assert Item.objects.get().text == "b"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"key": "bad key", "kind": "software_requirement"}, "may hold only letters"),
        ({"key": "lower-1", "kind": "software_requirement"}, "does not match the key pattern"),
        ({"key": "SRS-1", "kind": "wish"}, "unknown kind 'wish'"),
        ({"key": "SRS-1", "kind": "software_requirement", "title": " "}, "needs a title"),
        ({"key": "SRS-1", "kind": "software_requirement", "status": "done"}, "unknown status 'done'"),
        (
            {"key": "SRS-1", "kind": "software_requirement", "attributes": {"colour": "red"}},
            "unknown attribute 'colour'",
        ),
        ({"key": "SRS-1", "kind": "software_requirement", "attributes": {"category": "magic"}}, "must be one of"),
        ({"key": "RISK-1", "kind": "risk", "attributes": {"hazard": "h"}}, "'hazardous_situation' is required"),
        (
            {
                "key": "RISK-1",
                "kind": "risk",
                "attributes": {"hazard": "h", "hazardous_situation": "s", "harm": "x", "severity": 9, "probability": 1},
            },
            "beyond the product's risk matrix",
        ),
        ({"key": "RC-1", "kind": "risk_control", "attributes": {"control_type": "prayer"}}, "must be one of"),
    ],
)
def test_invalid_items_are_rejected_without_a_write(product, qm, fields, message):
    fields.setdefault("title", "A title")
    with pytest.raises(InvalidInput, match=message):
        item_create(product=product, actor=qm, **fields)
    assert not Item.objects.exists()
    assert not AuditEvent.objects.filter(action="item.created").exists()


def test_key_and_kind_never_change(make_item, qm):
    item = make_item("SRS-1", "software_requirement")
    with pytest.raises(InvalidInput, match="kind never changes"):
        item_update(item=item, actor=qm, kind="test_case")
    with pytest.raises(Conflict, match="already has an item SRS-1"):
        make_item("SRS-1", "software_requirement")


def test_the_database_enforces_unique_keys_and_valid_kinds(product, make_item):
    make_item("SRS-1", "software_requirement")
    with pytest.raises(IntegrityError), transaction.atomic():
        Item.objects.create(product=product, key="SRS-1", kind="software_requirement", title="dup", fingerprint="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        Item.objects.create(product=product, key="SRS-2", kind="wish", title="bad", fingerprint="x")


def test_items_are_never_deleted_but_made_obsolete(make_item, qm, developer):
    draft = make_item("SRS-1", "software_requirement")
    parent = make_item("SYS-1", "system_requirement", status="approved")
    link_create(source=draft, target=parent, link_type="derives_from", actor=qm)
    with pytest.raises(RuntimeError, match="SRS-1 is a quality record and is never deleted: make it obsolete"):
        draft.delete()
    with pytest.raises(ProtectedError), transaction.atomic():  # no cascade through an item, even in bulk
        Item.objects.filter(key="SYS-1").delete()
    assert (Item.objects.count(), Link.objects.count()) == (2, 1)

    events = AuditEvent.objects.count()
    changed = items_make_obsolete(items=Item.objects.all(), actor=developer)  # leaving approved: an ordinary change
    assert sorted(item.key for item in changed) == ["SRS-1", "SYS-1"]
    assert sorted(Item.objects.values_list("key", "status", "revision")) == [
        ("SRS-1", "obsolete", 2),
        ("SYS-1", "obsolete", 2),
    ]
    assert Link.objects.count() == 1  # the item keeps its links and history
    updates = AuditEvent.objects.filter(action="item.updated").order_by("id")
    assert AuditEvent.objects.count() == events + 2
    assert [(e.object_repr, e.before["status"], e.after["status"], e.actor_username) for e in updates] == [
        ("DEMO/SRS-1", "draft", "obsolete", "dana"),
        ("DEMO/SYS-1", "approved", "obsolete", "dana"),
    ]
    assert items_make_obsolete(items=Item.objects.all(), actor=developer) == []
    assert AuditEvent.objects.count() == events + 2
