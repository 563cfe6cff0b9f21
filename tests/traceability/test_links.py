import pytest
from django.db import IntegrityError, transaction

from qms.errors import Conflict, InvalidInput
from qms.models import AuditEvent
from traceability.models import Link
from traceability.selectors import link_list
from traceability.services.items import item_update
from traceability.services.links import item_links_review, link_create, link_review

pytestmark = pytest.mark.django_db


def test_allowed_link_is_created_and_audited(small_graph):
    assert Link.objects.count() == 5
    event = AuditEvent.objects.filter(action="link.created").first()
    assert event.object_repr == "DEMO/SYS-1 derives_from UN-1"


@pytest.mark.parametrize(
    ("source", "link_type", "target", "message"),
    [
        ("TC-1", "derives_from", "SRS-1", "a test_case cannot 'derives_from' a software_requirement"),
        ("UN-1", "verifies", "SRS-1", "a user_need cannot 'verifies'"),
        ("SRS-1", "mitigates", "RISK-1", "cannot 'mitigates'"),
        ("SRS-1", "derives_from", "SRS-1", "cannot link to itself"),
        ("SRS-1", "derives_from", "SYS-1", "duplicate link"),
    ],
)
def test_invalid_links_are_rejected_naming_the_rule(small_graph, qm, source, link_type, target, message):
    before = (Link.objects.count(), AuditEvent.objects.count())
    with pytest.raises(InvalidInput, match=message):
        link_create(source=small_graph[source], target=small_graph[target], link_type=link_type, actor=qm)
    assert (Link.objects.count(), AuditEvent.objects.count()) == before


def test_hierarchy_cycles_are_rejected(make_item, qm):
    a = make_item("SRS-1", "software_requirement")
    b = make_item("SRS-2", "software_requirement")
    c = make_item("SRS-3", "software_requirement")
    link_create(source=a, target=b, link_type="derives_from", actor=qm)
    link_create(source=b, target=c, link_type="derives_from", actor=qm)
    with pytest.raises(InvalidInput, match="cycle of 'derives_from' links: SRS-3 → SRS-1 → SRS-2 → SRS-3"):
        link_create(source=c, target=a, link_type="derives_from", actor=qm)
    assert Link.objects.count() == 2


def test_links_across_products_are_rejected(small_graph, qm):
    from traceability.services.items import item_create
    from traceability.services.products import product_create

    other = product_create(key="OTHER", name="Other", actor=qm)
    foreign = item_create(product=other, key="SYS-9", kind="system_requirement", title="t", actor=qm)
    with pytest.raises(InvalidInput, match="different products"):
        link_create(source=small_graph["SRS-1"], target=foreign, link_type="derives_from", actor=qm)


def test_the_database_rejects_disallowed_kinds_even_without_the_service(small_graph):
    test_case, requirement = small_graph["TC-1"], small_graph["SRS-1"]
    with pytest.raises(IntegrityError), transaction.atomic():
        Link.objects.create(
            product=test_case.product,
            source=requirement,
            target=test_case,
            link_type="verifies",
            source_kind=requirement.kind,
            target_kind=test_case.kind,
            target_fingerprint="x",
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Link.objects.create(
            product=test_case.product,
            source=test_case,
            target=test_case,
            link_type="verifies",
            source_kind="test_case",
            target_kind="software_requirement",
            target_fingerprint="x",
        )


def test_changing_an_item_makes_links_to_it_suspect_and_review_clears_them(small_graph, qm, developer):
    product = small_graph["SRS-1"].product
    assert not link_list(product=product).filter(is_suspect=True).exists()

    item_update(item=small_graph["SRS-1"], actor=developer, text="The dose shall be rounded to 0.05 U.")
    suspect = link_list(product=product).filter(is_suspect=True)
    assert [(link.source.key, link.target.key) for link in suspect] == [("TC-1", "SRS-1")]

    # a status change is not a content change
    item_update(item=small_graph["SYS-1"], actor=qm, status="approved")
    assert link_list(product=product).filter(is_suspect=True).count() == 1

    link = suspect.get()
    reviewed = link_review(link=link, actor=qm, note="test still covers the new rounding")
    assert reviewed.target_revision == 2
    assert not link_list(product=product).filter(is_suspect=True).exists()
    event = AuditEvent.objects.get(action="link.reviewed")
    assert event.actor_username == "quinn"
    assert event.note == "test still covers the new rounding"
    with pytest.raises(Conflict, match="not suspect"):
        link_review(link=link, actor=qm)


def test_review_all_links_of_an_item(small_graph, qm):
    item_update(item=small_graph["SRS-1"], actor=qm, text="changed")
    item_update(item=small_graph["SYS-1"], actor=qm, text="changed too")
    cleared = item_links_review(item=small_graph["SRS-1"], actor=qm)
    # SRS-1's incoming TC-1 link and outgoing SRS-1 → SYS-1 link were suspect
    assert sorted((link.source.key, link.target.key) for link in cleared) == [("SRS-1", "SYS-1"), ("TC-1", "SRS-1")]
    assert item_links_review(item=small_graph["SRS-1"], actor=qm) == []
