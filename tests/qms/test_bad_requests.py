"""Bad input in a request is a 400 naming the problem, never a 500, and nothing is written.

NUL characters in any URL path, query parameter, header or form field (qms.middleware), NUL and
lone surrogates anywhere in a JSON body, also inside JSON fields (qms.api.parsers), deep JSON, and
request bodies over REQUEST_MAX_BYTES. PostgreSQL refuses NUL in text and jsonb where SQLite
stores it: the suite runs on both.
"""

import hashlib
import hmac
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import PathConverter, StringConverter
from rest_framework.test import APIClient

from tests.conftest import signed_in, token_client
from tests.db_state import db_counts
from traceability.models import Item, Release
from traceability.services.evidence import webhook_secret_rotate
from traceability.services.releases import release_create

pytestmark = pytest.mark.django_db
SHA = "0123456789abcdef0123456789abcdef01234567"
NUL_PROBLEM = "contains a NUL character (U+0000), which cannot be stored"
SURROGATE_PROBLEM = "contains a lone surrogate (U+D800), which is not text"
SAMPLE = {"pk": 1, "number": 1, "object_id": "1", "slug": "iec-62304-2015", "app_label": "traceability"}


def _routes(patterns: list[Any], prefix: str = "") -> list[tuple[str, URLPattern]]:
    found = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found += _routes(pattern.url_patterns, prefix + pattern.namespace + ":" if pattern.namespace else prefix)
        elif pattern.name:
            found.append((prefix + pattern.name, pattern))
    return found


ROUTES = _routes(get_resolver().url_patterns)


def _textual(pattern: URLPattern) -> list[str]:
    """The parameters that take any text (``<str:…>``, ``<path:…>``), where a NUL can be put."""
    converters = pattern.pattern.converters
    return [key for key in converters if type(converters[key]) in (StringConverter, PathConverter)]


def _url(name: str, pattern: URLPattern, poisoned: str | None) -> str:
    textual = _textual(pattern)
    kwargs = {
        key: ("A\x00B" if key == poisoned else "DEMO") if key in textual else SAMPLE[key]
        for key in pattern.pattern.regex.groupindex
    }
    return reverse(name, kwargs=kwargs)


@pytest.fixture
def staff_qm(qm):
    qm.is_staff = True
    qm.save()
    client = Client(raise_request_exception=False)
    signed_in(client, qm)
    return client


def assert_refused(response: Any, where: str, field: str, problem: str = NUL_PROBLEM) -> None:
    assert response.status_code == 400
    if response.request["PATH_INFO"].startswith("/api/"):
        assert response.json() == {"error": "text_invalid", "detail": f"{where}: {problem}", "field": field}
    else:
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert response.content.decode() == f"{where}: {problem}\n"


def test_the_sweep_covers_the_api_the_pages_and_the_admin():
    names = {name for name, _ in ROUTES}
    assert {"api-item-list", "api-junit-upload", "api-webhook-github", "item-review", "login"} <= names
    assert any(name.startswith("admin:") for name in names)
    assert len(ROUTES) > 100


@pytest.mark.parametrize(("name", "pattern"), ROUTES, ids=[name for name, _ in ROUTES])
def test_a_nul_in_any_path_or_query_parameter_is_400_before_anything_runs(small_graph, staff_qm, name, pattern):
    before = db_counts()
    for key in _textual(pattern):
        url = _url(name, pattern, key)
        for method in (staff_qm.get, staff_qm.post):
            assert_refused(method(url), "the URL path", "path")
    url = _url(name, pattern, None)
    for method in (staff_qm.get, staff_qm.post):
        assert_refused(method(f"{url}?q=a%00b"), "query parameter 'q'", "q")
    assert db_counts() == before


def test_a_nul_in_a_header_or_a_session_cookie_is_400(small_graph, staff_qm):
    before = db_counts()
    response = staff_qm.get("/api/v1/products/", HTTP_X_GITHUB_DELIVERY="a\x00b")
    assert_refused(response, "header X-Github-Delivery", "X-Github-Delivery")
    response = staff_qm.get("/p/DEMO/", HTTP_COOKIE="sessionid=abcdefgh\x00ijklmnop")
    assert_refused(response, "header Cookie", "Cookie")
    assert db_counts() == before


# --- JSON bodies: NUL and lone surrogates, at any depth, named by their path ------------------------

RISK = {"hazard": "Overdose", "hazardous_situation": "Too much", "harm": "Hypo", "severity": 4, "probability": 3}
JSON_CASES = [
    # (method, url, body with the bad text at «X», the field named)
    ("post", "/api/v1/products/", {"key": "NEW", "name": "«X»"}, "name"),
    ("patch", "/api/v1/products/DEMO/", {"risk_matrix": {"acceptable": ["«X»"]}}, "risk_matrix.acceptable[0]"),
    ("patch", "/api/v1/products/DEMO/", {"gap_rules": {"«X»": "warning"}}, "gap_rules"),
    ("post", "/api/v1/products/DEMO/items/", {"key": "SRS-9", "kind": "software_requirement", "title": "«X»"}, "title"),
    (
        "post",
        "/api/v1/products/DEMO/items/",
        {"key": "RISK-9", "kind": "risk", "title": "Risk", "attributes": {**RISK, "hazard": "a«X»"}},
        "attributes.hazard",
    ),
    ("patch", "/api/v1/products/DEMO/items/SRS-1/", {"text": "line«X»"}, "text"),
    (
        "post",
        "/api/v1/products/DEMO/links/",
        {"source": "TC-1«X»", "link_type": "verifies", "target": "SYS-1"},
        "source",
    ),
    ("post", "/api/v1/products/DEMO/items/SRS-1/review-links/", {"note": "«X»"}, "note"),
    ("post", "/api/v1/products/DEMO/clause-links/", {"item": "SRS-1", "clause": "x", "note": "«X»"}, "note"),
    ("post", "/api/v1/products/DEMO/releases/", {"version": "2.0", "title": "«X»"}, "title"),
    ("post", "/api/v1/products/DEMO/releases/1.0/approve/", {"password": "p«X»", "meaning": "approval"}, "password"),
    ("post", "/api/v1/products/DEMO/releases/1.0/signatures/", {"password": "quinn-pw", "comment": "«X»"}, "comment"),
    (
        "post",
        "/api/v1/products/DEMO/test-runs/",
        {
            "version": "1.0.0",
            "results": [{"test_id": "t1", "status": "passed"}, {"test_id": "t«X»", "status": "passed"}],
        },
        "results[1].test_id",
    ),
    (
        "post",
        "/api/v1/products/DEMO/test-runs/",
        {"version": "1.0.0", "name": "«X»", "results": [{"test_id": "t", "status": "passed"}]},
        "name",
    ),
    (
        "post",
        "/api/v1/products/DEMO/manual-executions/",
        {"version": "1.0.0", "executions": [{"test_case": "TC-1", "status": "passed", "notes": "«X»"}]},
        "executions[0].notes",
    ),
    (
        "post",
        "/api/v1/products/DEMO/commits/",
        {"commits": [{"sha": SHA, "authored_at": "2026-03-03T10:00:00Z", "message": "Implements SRS-1 «X»"}]},
        "commits[0].message",
    ),
    ("post", "/api/v1/tokens/", {"name": "ci«X»", "scopes": ["evidence"]}, "name"),
]


def _poisoned(body: Any, bad: str) -> str:
    """The body as JSON text with «X» written as the escape of ``bad`` (what a client would send)."""
    escape = "\\u0000" if bad == "\x00" else "\\ud800"
    return json.dumps(body).replace("\\u00abX\\u00bb", escape)  # json.dumps writes « » as escapes


@pytest.mark.parametrize("bad", ["\x00", "\ud800"], ids=["nul", "lone-surrogate"])
@pytest.mark.parametrize(("method", "url", "body", "field"), JSON_CASES, ids=[case[3] for case in JSON_CASES])
def test_json_bodies_with_unstorable_text_are_400_naming_the_field(
    small_graph, qm, api_client, method, url, body, field, bad
):
    release_create(product=small_graph["SRS-1"].product, version="1.0", actor=qm)
    before = db_counts()
    response = getattr(api_client(qm), method)(url, _poisoned(body, bad), content_type="application/json")
    problem = NUL_PROBLEM if bad == "\x00" else SURROGATE_PROBLEM
    # a bad key is named by the object holding it
    detail = f"{field}: a key {problem}" if field == "gap_rules" else f"{field}: {problem}"
    assert response.status_code == 400, response.content
    assert response.json() == {"error": "text_invalid", "detail": detail, "field": field}
    assert db_counts() == before


def test_a_lone_surrogate_title_is_refused_before_the_serializer(small_graph, qm, api_client):
    before = db_counts()
    response = api_client(qm).post(
        "/api/v1/products/DEMO/items/",
        '{"key": "SRS-9", "kind": "software_requirement", "title": "\\ud800"}',
        content_type="application/json",
    )
    assert response.json() == {"error": "text_invalid", "detail": f"title: {SURROGATE_PROBLEM}", "field": "title"}
    assert db_counts() == before
    assert not Item.objects.filter(key="SRS-9").exists()


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("[" * 100_000 + "]" * 100_000, "request body: nested too deeply to be read"),
        (
            json.dumps(
                {"key": "SRS-9", "kind": "software_requirement", "title": "t", "attributes": {"a": [[[[[]]]]]}}
            ).replace("[[[[[]]]]]", "[" * 70 + "]" * 70),
            "attributes.a" + "[0]" * 62 + ": nested more than 64 levels deep",
        ),
    ],
    ids=["decoder-recursion", "deep-attributes"],
)
def test_deeply_nested_json_is_400(small_graph, qm, api_client, body, detail):
    before = db_counts()
    response = api_client(qm).post("/api/v1/products/DEMO/items/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "json_invalid"
    assert response.json()["detail"] == detail
    assert db_counts() == before


# --- multipart uploads: form fields, file names, the whole request's size --------------------------

JUNIT = (
    b'<testsuite name="s"><testcase classname="tests.test_dose" name="test_round">'
    b'<properties><property name="requirements" value="SRS-1"/></properties></testcase></testsuite>'
)


@pytest.mark.parametrize(
    ("data", "where", "field"),
    [
        ({"version": "1.0.0", "environment": "linux\x00"}, "environment", "environment"),
        ({"version": "1.0.0", "name\x00": "x"}, "a form field name", "name\x00"),
    ],
)
def test_multipart_form_fields_with_a_nul_are_400(small_graph, developer, data, where, field):
    client = token_client(developer, ["evidence"])
    before = db_counts()
    upload = SimpleUploadedFile("pytest.xml", JUNIT, content_type="application/xml")
    response = client.post("/api/v1/products/DEMO/junit/", {"file": upload, **data}, format="multipart")
    assert response.json() == {"error": "text_invalid", "detail": f"{where}: {NUL_PROBLEM}", "field": field}
    assert db_counts() == before


def test_a_multipart_upload_over_the_request_limit_is_400_before_it_is_read(small_graph, developer, settings):
    settings.REQUEST_MAX_BYTES = 64 * 1024  # each file is under EVIDENCE_MAX_UPLOAD_BYTES, the request is not
    padding = b"<!--" + b"x" * 40_000 + b"-->"
    files = [
        SimpleUploadedFile(f"part{n}.xml", JUNIT.replace(b'name="s"', f'name="s{n}"'.encode()) + padding)
        for n in (1, 2)
    ]
    client = token_client(developer, ["evidence"])
    before = db_counts()
    response = client.post("/api/v1/products/DEMO/junit/", {"file": files, "version": "1.0.0"}, format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert (body["error"], body["limit"]) == ("too_large", 65536)
    assert body["detail"].startswith("the request body is ")
    assert body["detail"].endswith(
        " bytes, over the limit of 65536 bytes for one request (REQUEST_MAX_MB); nothing was read"
    )
    assert db_counts() == before
    one = SimpleUploadedFile("part1.xml", JUNIT + padding)
    accepted = client.post("/api/v1/products/DEMO/junit/", {"file": one, "version": "1.0.0"}, format="multipart")
    assert accepted.status_code == 201, accepted.json()


def test_a_page_form_over_the_request_limit_is_a_plain_400(small_graph, developer, settings):
    settings.REQUEST_MAX_BYTES = 1000
    client = Client()
    signed_in(client, developer)
    before = db_counts()
    response = client.post("/p/DEMO/items/SRS-1/review/", {"note": "x" * 2000})
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode().startswith("the request body is ")
    assert db_counts() == before


# --- webhooks ------------------------------------------------------------------------------------


def _sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


PUSH = {
    "repository": {"full_name": "acme/bolus"},
    "commits": [{"id": SHA, "message": "Implements: SRS-1 «X»", "timestamp": "2026-03-03T10:00:00Z", "author": {}}],
}


@pytest.mark.parametrize("bad", ["\x00", "\ud800"], ids=["nul", "lone-surrogate"])
def test_signed_webhook_bodies_with_unstorable_text_are_400(small_graph, qm, bad):
    secret = webhook_secret_rotate(product=small_graph["SRS-1"].product, actor=qm)
    before = db_counts()
    body = _poisoned(PUSH, bad).encode()
    github = APIClient().post(
        "/api/v1/webhooks/github/DEMO/",
        body,
        content_type="application/json",
        HTTP_X_GITHUB_EVENT="push",
        HTTP_X_HUB_SIGNATURE_256=_sign(secret, body),
    )
    gitlab = APIClient().post(
        "/api/v1/webhooks/gitlab/DEMO/",
        body,
        content_type="application/json",
        HTTP_X_GITLAB_EVENT="Push Hook",
        HTTP_X_GITLAB_TOKEN=secret,
    )
    problem = NUL_PROBLEM if bad == "\x00" else SURROGATE_PROBLEM
    for response in (github, gitlab):
        assert response.status_code == 400
        assert response.json() == {
            "error": "text_invalid",
            "detail": f"commits[0].message: {problem}",
            "field": "commits[0].message",
        }
    assert db_counts() == before


def test_a_raw_nul_in_a_form_encoded_github_payload_is_400(small_graph, qm):
    secret = webhook_secret_rotate(product=small_graph["SRS-1"].product, actor=qm)
    before = db_counts()
    body = b"payload=" + json.dumps(PUSH).replace("\\u00abX\\u00bb", "%00").encode()
    response = APIClient().post(
        "/api/v1/webhooks/github/DEMO/",
        body,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_GITHUB_EVENT="push",
        HTTP_X_HUB_SIGNATURE_256=_sign(secret, body),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "payload_invalid"
    assert response.json()["detail"].startswith("the webhook body is not JSON (Invalid control character")
    assert db_counts() == before


# --- pages and the admin -------------------------------------------------------------------------


def test_page_forms_with_a_nul_are_a_plain_400(small_graph, qm, developer):
    release_create(product=small_graph["SRS-1"].product, version="1.0", actor=qm)
    client = Client()
    signed_in(client, developer)
    before = db_counts()
    assert_refused(client.post("/p/DEMO/items/SRS-1/review/", {"note": "ok\x00"}), "form field 'note'", "note")
    signed_in(client, qm)
    response = client.post("/p/DEMO/releases/1.0/approve/", {"password": "quinn-pw", "comment": "\x00"})
    assert_refused(response, "form field 'comment'", "comment")
    assert_refused(
        Client().post("/accounts/login/", {"username": "quinn\x00", "password": "x"}),
        "form field 'username'",
        "username",
    )
    assert db_counts() == before
    assert Release.objects.get().state == "draft"


def test_admin_forms_with_a_nul_are_a_plain_400(small_graph, staff_qm):
    item = small_graph["SRS-1"]
    before = db_counts()
    response = staff_qm.post(
        f"/admin/traceability/item/{item.pk}/change/", {"title": "New\x00title", "kind": item.kind}
    )
    assert_refused(response, "form field 'title'", "title")
    response = staff_qm.post("/admin/qms/apitoken/add/", {"name": "ci\x00", "user": item.created_by_id})
    assert_refused(response, "form field 'name'", "name")
    assert db_counts() == before


@pytest.mark.parametrize("escape", ["\\u0000", "\\ud800"], ids=["nul", "lone-surrogate"])
def test_admin_json_fields_refuse_unstorable_text_on_the_form(small_graph, staff_qm, escape):
    item = small_graph["RISK-1"]
    before = db_counts()
    attributes = json.dumps({**item.attributes, "hazard": "Overdose"}).replace("Overdose", f"Over{escape}dose")
    response = staff_qm.post(
        f"/admin/traceability/item/{item.pk}/change/",
        {
            "product": item.product_id,
            "key": item.key,
            "kind": item.kind,
            "title": item.title,
            "text": item.text,
            "status": item.status,
            "attributes": attributes,
            **{
                f"{prefix}-{name}": "0"
                for prefix in ("outgoing", "incoming", "clause_links")
                for name in ("TOTAL_FORMS", "INITIAL_FORMS")
            },
        },
    )
    assert response.status_code == 200  # the form again, with the error
    problem = NUL_PROBLEM if escape == "\\u0000" else "contains a lone surrogate (U+D800), which is not text"
    assert f"hazard: {problem}" in response.content.decode()
    assert db_counts() == before
    item.refresh_from_db()
    assert item.attributes["hazard"] == "Overdose"
