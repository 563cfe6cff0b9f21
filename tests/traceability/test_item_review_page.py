"""Clearing suspect links from the item page: one link or all of an item, audited; refused without the items scope."""

import pytest

from qms.models import AuditEvent
from traceability.models import Link
from traceability.selectors import with_suspect
from traceability.services.items import item_update

pytestmark = pytest.mark.django_db
PAGE = "/p/DEMO/items/{key}/"
REVIEW = "/p/DEMO/items/{key}/review/"


def suspects() -> set[tuple[str, str]]:
    links = with_suspect(Link.objects.select_related("source", "target")).filter(is_suspect=True)
    return {(link.source.key, link.target.key) for link in links}


@pytest.fixture
def changed(small_graph, qm):
    """SRS-1 changes: TC-1 → SRS-1 (verifies) becomes suspect; SYS-1 changes: SRS-1 → SYS-1 too."""
    item_update(item=small_graph["SRS-1"], actor=qm, text="The dose shall be rounded to 0.5 units.")
    item_update(item=small_graph["SYS-1"], actor=qm, text="Changed too.")
    assert suspects() == {("TC-1", "SRS-1"), ("SRS-1", "SYS-1")}
    return small_graph


def test_the_page_offers_review_to_a_developer_only(client, changed, developer, auditor):
    client.force_login(developer)
    page = client.get(PAGE.format(key="SRS-1")).content.decode()
    assert "2 suspect links." in page and page.count("Mark reviewed") == 2 and "Mark all reviewed" in page
    client.force_login(auditor)
    page = client.get(PAGE.format(key="SRS-1")).content.decode()
    assert "suspect:" in page and "Mark reviewed" not in page and "Mark all reviewed" not in page


def test_one_link_is_reviewed_and_audited(client, changed, developer):
    link = Link.objects.get(source__key="TC-1", target__key="SRS-1")
    client.force_login(developer)
    response = client.post(REVIEW.format(key="SRS-1"), {"link": link.pk, "note": "still holds"}, follow=True)
    assert response.redirect_chain == [(PAGE.format(key="SRS-1"), 302)]
    assert f"Link #{link.pk} reviewed: no longer suspect." in response.content.decode()
    assert suspects() == {("SRS-1", "SYS-1")}
    event = AuditEvent.objects.get(action="link.reviewed")
    assert (event.actor_username, event.object_id, event.note) == ("dana", str(link.pk), "still holds")


def test_all_links_of_the_item_are_reviewed(client, changed, developer):
    client.force_login(developer)
    response = client.post(REVIEW.format(key="SRS-1"), {}, follow=True)
    assert "2 suspect link(s) of SRS-1 reviewed." in response.content.decode()
    assert suspects() == set()
    assert AuditEvent.objects.filter(action="link.reviewed").count() == 2


@pytest.mark.parametrize(
    ("user", "key", "data", "message"),
    [
        ("auditor", "SRS-1", {}, "Your role may not review links."),
        ("developer", "SYS-1", {"link": "{tc_link}"}, "is not a link of SYS-1"),
        ("developer", "SRS-1", {"link": "abc"}, "link: not a link id"),
        ("developer", "SRS-1", {"link": "999999"}, "DEMO has no link #999999"),
        ("developer", "RISK-1", {"link": "{rc_link}"}, "is not suspect"),
    ],
)
def test_bad_review_requests_change_nothing(client, changed, request, user, key, data, message):
    links = {
        "tc_link": Link.objects.get(source__key="TC-1", target__key="SRS-1").pk,
        "rc_link": Link.objects.get(source__key="RC-1", target__key="RISK-1").pk,
    }
    data = {name: value.format(**links) for name, value in data.items()}
    client.force_login(request.getfixturevalue(user))
    before = AuditEvent.objects.count()
    response = client.post(REVIEW.format(key=key), data, follow=True)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert suspects() == {("TC-1", "SRS-1"), ("SRS-1", "SYS-1")}
    assert AuditEvent.objects.count() == before


def test_unknown_item_is_404(client, changed, developer):
    client.force_login(developer)
    assert client.post(REVIEW.format(key="NOPE-1"), {}).status_code == 404
