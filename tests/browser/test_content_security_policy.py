"""Under the Content-Security-Policy every page, the admin and the API docs work in a real browser
with not one violation: no inline script or style is left anywhere."""

from typing import Any

import pytest
from django.core.management import call_command

from tests.browser.conftest import sign_in
from traceability.models import Item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIOLATION_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__cspViolations.push(`${event.violatedDirective}: ${event.blockedURI || "inline"} (${where})`);
});
"""


@pytest.fixture
def demo(transactional_db: Any) -> None:
    call_command("load_standards", verbosity=0)
    call_command("load_demo", verbosity=0)


def test_pages_admin_and_api_docs_run_without_a_csp_violation(page: Any, live_server: Any, demo: None) -> None:
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(VIOLATION_LISTENER)
    policies: list[str] = []
    page.on("response", lambda response: policies.append(response.headers.get("content-security-policy", "")))
    sign_in(page, live_server, "qm", "qm-demo")
    risk = Item.objects.get(product__key="BOLUS", key="RISK-001")
    visits = [
        ("/", "text=BOLUS"),
        ("/p/BOLUS/", "h1"),
        ("/p/BOLUS/items/?kind=software_requirement", "text=SRS-001"),
        ("/p/BOLUS/items/SRS-001/", "h1"),
        ("/p/BOLUS/matrix/", "table"),
        ("/p/BOLUS/gaps/", "h1"),
        ("/p/BOLUS/releases/1.0.0/", "h1"),
        ("/admin/", "#site-name"),
        ("/admin/traceability/item/?q=SRS", "#result_list"),
        (f"/admin/traceability/item/{risk.pk}/change/", "#item_form"),
        ("/admin/standards/clause/", "#result_list"),
        ("/admin/auth/user/", "#result_list"),
        ("/api/docs/", "text=/api/v1/products/{product_key}/items/"),
    ]
    for path, ready in visits:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_selector(ready)
        assert page.evaluate("window.__cspViolations") == [], path
    # the API docs work, not just render: expand an operation and run it against the API
    page.click("text=/api/v1/products/{product_key}/items/ >> nth=0")
    page.click("button:has-text('Try it out')")
    page.fill("input[placeholder='product_key']", "BOLUS")
    page.click("button:has-text('Execute')")
    page.wait_for_selector(".live-responses-table .response-col_status:has-text('200')")
    assert page.evaluate("window.__cspViolations") == []
    assert [text for text in console if "Content Security Policy" in text] == []
    assert policies and all("script-src 'self'" in policy for policy in policies if policy)
