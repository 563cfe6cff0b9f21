"""End-to-end smoke tests in a real browser: sign in, browse, the API docs render offline."""

from typing import Any

import pytest
from django.core.management import call_command

from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(transactional_db: Any) -> None:
    call_command("load_standards", verbosity=0)
    call_command("load_demo", verbosity=0)


def test_auditor_signs_in_and_follows_a_requirement_to_its_tests(page: Any, live_server: Any, demo: None) -> None:
    sign_in(page, live_server, "auditor", "auditor-demo")
    page.click("text=BOLUS")
    assert page.locator("h1").inner_text().startswith("BOLUS")
    page.click("a.stat:has-text('Software requirement')")
    page.fill("input[name=q]", "SRS-001")
    page.click("button:has-text('Filter')")
    page.click("a:text-is('SRS-001')")
    assert "SRS-001" in page.locator("h1").inner_text()
    assert page.locator("table").first.locator("text=verifies (from)").count() >= 1


def test_wrong_password_is_refused(page: Any, live_server: Any, demo: None) -> None:
    sign_in(page, live_server, "auditor", "wrong")
    assert "did not match" in page.content()
    assert "/accounts/login/" in page.url


def test_api_docs_render_from_local_assets(page: Any, live_server: Any, demo: None) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    sign_in(page, live_server, "dev", "dev-demo")
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector("text=/api/v1/products/{product_key}/items/")
    foreign = [url for url in requests if not url.startswith(live_server.url)]
    assert foreign == []


def test_developer_clears_a_suspect_link_on_the_item_page(page: Any, live_server: Any, demo: None) -> None:
    sign_in(page, live_server, "dev", "dev-demo")
    page.goto(f"{live_server.url}/p/BOLUS/items/SRS-007/")
    assert page.locator("text=suspect: SYS-004 changed").count() == 1
    page.click("button:has-text('Mark reviewed')")
    assert page.locator("[role=status]").inner_text().endswith("reviewed: no longer suspect.")
    assert page.locator("text=suspect: SYS-004 changed").count() == 0
    assert page.locator("button:has-text('Mark reviewed')").count() == 0


def test_the_sign_in_page_tells_the_idle_timeout_and_a_lockout(page: Any, live_server: Any, demo: None) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    assert "You are signed out after 30 minutes without activity." in page.locator("#session-note").inner_text()
    assert "Ask a quality manager" in page.locator("#password-note").inner_text()  # no e-mail configured
    for attempt in range(5):
        sign_in(page, live_server, "dev", f"guess-{attempt}")
    assert "This account is locked after too many failed attempts until" in page.locator("#locked").inner_text()
    sign_in(page, live_server, "dev", "dev-demo")  # the right password, too late
    assert "This account is locked" in page.locator("#locked").inner_text()
    assert "/accounts/login/" in page.url
