import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from qms.models import AuditEvent
from qms.roles import user_roles
from tests.conftest import FIXTURES
from traceability.models import ClauseLink, Item, Link, Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_copy(tmp_path: Path) -> Path:
    target = tmp_path / "demo"
    shutil.copytree(FIXTURES / "demo", target)
    return target


def counts() -> tuple[int, ...]:
    return (
        Product.objects.count(),
        Item.objects.count(),
        Link.objects.count(),
        ClauseLink.objects.count(),
        AuditEvent.objects.count(),
        User.objects.count(),
    )


def test_demo_loads_against_the_current_migrations_and_is_idempotent(catalogue):
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert "Demo product created" in out.getvalue()
    product = Product.objects.get(key="BOLUS")
    assert product.safety_class == "C"
    by_kind = {
        kind: Item.objects.filter(product=product, kind=kind).count()
        for kind in ("user_need", "system_requirement", "software_requirement", "risk", "test_case", "soup", "anomaly")
    }
    assert by_kind["user_need"] >= 14 and by_kind["system_requirement"] >= 23
    assert by_kind["software_requirement"] >= 55 and by_kind["risk"] >= 11 and by_kind["test_case"] >= 75
    assert by_kind["soup"] >= 5 and by_kind["anomaly"] >= 3
    assert {user.username: user_roles(user) for user in User.objects.all()} == {
        "qm": {"quality_manager"},
        "dev": {"developer"},
        "auditor": {"auditor"},
    }
    assert User.objects.get(username="auditor").check_password("auditor-demo")

    before = counts()
    again = StringIO()
    call_command("load_demo", stdout=again)
    assert "nothing changed" in again.getvalue()
    assert counts() == before


def test_demo_has_its_deliberate_gaps(catalogue):
    call_command("load_demo", stdout=StringIO())
    product = Product.objects.get(key="BOLUS")
    untested = (
        Item.objects.filter(product=product, kind="software_requirement")
        .exclude(status="obsolete")
        .exclude(links_in__link_type="verifies")
    )
    assert list(untested.values_list("key", flat=True)) == ["SRS-047"]
    uncontrolled = Item.objects.filter(product=product, kind="risk").exclude(links_in__link_type="mitigates")
    assert list(uncontrolled.values_list("key", flat=True)) == ["RISK-011"]


def test_a_malformed_demo_file_loads_nothing(catalogue, demo_copy):
    path = demo_copy / "bolus.yaml"
    text = path.read_text()
    path.write_text(text.replace("derives_from: [SYS-001]", "derives_from: [SYS-999]", 1))
    with pytest.raises(CommandError, match=r"bolus.yaml: row \d+, column derives_from: unknown item SYS-999"):
        call_command("load_demo", "--dir", str(demo_copy))
    assert not Product.objects.exists()
    assert not Item.objects.exists()
    assert not User.objects.exists()


def test_the_demo_needs_the_catalogue(db):
    with pytest.raises(CommandError, match="unknown standard"):
        call_command("load_demo")
    assert not Product.objects.exists()


def test_the_demo_has_a_frozen_release_and_one_in_progress(catalogue):
    from traceability.graph.selectors import (
        baseline_diff,
        gaps_for_release,
        matrix_for_release,
        risk_trace_for_release,
    )
    from traceability.models import Baseline, Link, Release

    call_command("load_demo", stdout=StringIO())
    product = Product.objects.get(key="BOLUS")
    releases = {release.version: release for release in Release.objects.filter(product=product)}
    assert {version: release.state for version, release in releases.items()} == {"1.0.0": "frozen", "1.1.0": "draft"}
    assert Baseline.objects.get(release=releases["1.0.0"]).item_count == 241
    suspect = sorted(
        f"{link.source.key}→{link.target.key}"
        for link in Link.objects.filter(product=product, target__key="SYS-004").select_related("source", "target")
        if link.target_fingerprint != link.target.fingerprint
    )
    assert suspect == ["CR-003→SYS-004", "SRS-007→SYS-004", "SRS-008→SYS-004", "TC-071→SYS-004"]

    frozen = matrix_for_release(product=product, release=releases["1.0.0"])
    current = matrix_for_release(product=product, release=releases["1.1.0"])
    assert frozen.frozen and not current.frozen
    assert "SRS-033" in {row.key for row in frozen.rows} and "SRS-033" not in {row.key for row in current.rows}
    assert "SRS-061" in {row.key for row in current.rows}
    assert {row.key for row in frozen.rows if row.status == "suspect"} == set()
    assert {row.key for row in current.rows if row.status == "suspect"} == {"SRS-007", "SRS-013"}
    # the demo's CI evidence: 1.0.0 verified but for the untested SRS-047 and SRS-006, whose only test
    # was skipped on CI; in 1.1.0 the ceiling test still expects the old 25 U limit and fails
    assert {row.key for row in frozen.rows if row.status != "verified"} == {"SRS-006", "SRS-047"}
    assert {row.key for row in current.rows if row.status == "failed"} == {"SRS-008"}
    assert frozen.coverage.tests_passed == 79 and frozen.coverage.tests_without_result == 1
    # the gap report agrees with the matrix and the risk trace (the same judgement of test results)
    for release, matrix in ((releases["1.0.0"], frozen), (releases["1.1.0"], current)):
        _, report = gaps_for_release(product=product, release=release)
        _, risks = risk_trace_for_release(product=product, release=release)
        rules = ("requirement_without_verification", "risk_control_not_verified")
        flagged = {rule: {f.items[0] for f in report.findings if f.rule == rule} for rule in rules}
        unverified_rows = {row.key for row in matrix.rows if row.status == "not_verified"}
        assert flagged["requirement_without_verification"] & {row.key for row in matrix.rows} == unverified_rows
        controls = [control for risk in risks for control in risk.controls]
        unverified = {c.key for c in controls if c.status not in ("verified", "not_applicable")}
        assert flagged["risk_control_not_verified"] == unverified
    _, report = gaps_for_release(product=product, release=releases["1.0.0"])
    errors = sorted((f.rule, f.items[0]) for f in report.findings if f.severity == "error")
    assert errors == [
        ("anomaly_not_evaluated", "ANOM-004"),
        ("requirement_without_verification", "SRS-006"),  # its only test was skipped in 1.0.0
        ("requirement_without_verification", "SRS-047"),
        ("residual_risk_unacceptable", "RISK-011"),
        ("risk_control_not_verified", "RC-016"),
        ("risk_not_controlled", "RISK-011"),
        ("soup_without_version", "SOUP-008"),
    ]
    _, report = gaps_for_release(product=product, release=releases["1.1.0"])
    controls = {f.items[0] for f in report.findings if f.rule == "risk_control_not_verified"}
    assert {"RC-001", "RC-002", "RC-003", "RC-016"} <= controls and "RC-006" not in controls
    diff = baseline_diff(release_a=releases["1.0.0"], release_b=releases["1.1.0"])
    assert [item.key for item in diff.items_added] == ["SRS-061", "TC-081", "TC-082"]
    assert [change.key for change in diff.items_changed] == ["SRS-008", "SRS-013", "SRS-033", "SYS-004"]

    before = (*counts(), Release.objects.count(), Baseline.objects.count())
    call_command("load_demo", stdout=StringIO())
    assert (*counts(), Release.objects.count(), Baseline.objects.count()) == before


def demo_state() -> dict[str, object]:
    """Everything a person may have edited, as values."""
    from traceability.models import Commit, Release, TestResult, TestRun

    return {
        "product": list(Product.objects.values_list("key", "name", "intended_use", "safety_class", "gap_rules")),
        "items": sorted(
            Item.objects.values_list("key", "kind", "title", "text", "status", "revision", "fingerprint", "attributes")
        ),
        "links": sorted(
            Link.objects.values_list("source__key", "link_type", "target__key", "target_revision", "target_fingerprint")
        ),
        "clause_links": sorted(ClauseLink.objects.values_list("item__key", "clause_id")),
        "users": sorted(
            (user.username, user.first_name, user.last_name, user.password, user.is_active, sorted(user_roles(user)))
            for user in User.objects.all()
        ),
        "releases": sorted(Release.objects.values_list("version", "state", "git_tag", "commit_sha", "notes")),
        "evidence": (TestRun.objects.count(), TestResult.objects.count(), Commit.objects.count()),
    }


def test_a_second_load_keeps_every_edit_and_claims_no_change(catalogue):
    """make run a second time: items, links, users, the product and releases stay as people left them."""
    from qms.services import user_role_set
    from qms.services.users import user_update
    from traceability.services.items import item_update
    from traceability.services.links import link_delete, link_review
    from traceability.services.products import product_update

    call_command("load_demo", stdout=StringIO())
    product = Product.objects.get(key="BOLUS")
    qm = User.objects.get(username="qm")
    # SRS-008 is one of the items the 1.1.0 changes file updates: a second load used to undo this
    item_update(item=Item.objects.get(product=product, key="SRS-008"), actor=qm, title="Edited by a person", text="x")
    item_update(item=Item.objects.get(product=product, key="SRS-001"), actor=qm, status="obsolete")
    suspect = Link.objects.get(product=product, source__key="SRS-007", target__key="SYS-004")
    link_review(link=suspect, actor=qm, note="checked after CR-003")
    link_delete(link=Link.objects.get(product=product, source__key="SRS-002", link_type="derives_from"), actor=qm)
    dev = User.objects.get(username="dev")
    user_update(user=dev, actor=qm, first_name="Dana", last_name="Devlin-Smith")
    user_role_set(user=User.objects.get(username="auditor"), roles=["developer"], actor=qm)
    product_update(product=product, actor=qm, name="BolusCalc (our copy)")
    before, events = demo_state(), AuditEvent.objects.count()

    out = StringIO()
    call_command("load_demo", stdout=out)

    assert demo_state() == before
    assert AuditEvent.objects.count() == events
    assert out.getvalue().splitlines()[:2] == [
        "The demo is in place; nothing changed.",
        "Left as they are: product BOLUS; users qm, dev, auditor; "
        "release 1.0.0 (its items and evidence are not loaded again); "
        "release 1.1.0 (its changes and evidence are not loaded again).",
    ]
    assert Item.objects.get(product=product, key="SRS-008").title == "Edited by a person"
    assert User.objects.get(username="dev").last_name == "Devlin-Smith"


def test_the_demo_creates_only_the_users_that_are_missing(catalogue):
    from tests.conftest import make_user

    auditor = make_user("auditor", "auditor")
    password = auditor.password
    last_event = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    out = StringIO()
    call_command("load_demo", stdout=out)
    auditor.refresh_from_db()
    assert (auditor.first_name, auditor.last_name, auditor.password) == ("Auditor", "Tester", password)
    assert {user.username: user_roles(user) for user in User.objects.all()} == {
        "qm": {"quality_manager"},
        "dev": {"developer"},
        "auditor": {"auditor"},
    }
    assert "Users created: qm, dev." in out.getvalue()
    assert "Left as they are: user auditor." in out.getvalue()
    assert "(accounts that existed keep their own passwords and roles)" in out.getvalue()
    assert not AuditEvent.objects.filter(pk__gt=last_event, object_repr="auditor").exists()


def test_the_changes_of_1_1_0_touch_only_items_the_run_created(catalogue, qm):
    """A product BOLUS that someone else started: their items are kept, the demo's others are created."""
    from traceability.services.items import item_create
    from traceability.services.products import product_create

    product = product_create(key="BOLUS", name="Our own BOLUS", safety_class="C", actor=qm)
    ours = item_create(product=product, key="SRS-008", kind="software_requirement", title="Our SRS-008", actor=qm)
    out = StringIO()
    call_command("load_demo", stdout=out)
    ours.refresh_from_db()
    assert (ours.title, ours.revision, ours.text) == ("Our SRS-008", 1, "")
    assert Product.objects.get(key="BOLUS").name == "Our own BOLUS"
    assert Item.objects.filter(product=product).count() == 244  # the demo's, with ours in place of its SRS-008
    text = out.getvalue()
    assert "Demo product completed" in text
    assert "items that exist (1): SRS-008" in text
    assert "items this run did not create, for the update of 1.1.0 (1): SRS-008" in text
