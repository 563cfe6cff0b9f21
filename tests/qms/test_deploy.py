"""Production settings from the environment: `check --deploy` is clean with the README's production
environment, the security headers are sent, and `make run` (DEBUG=1) keeps working over HTTP."""

import json
import os
import re
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from qms.integrity.dsse import attestation_key_pem
from qms.integrity.keys import private_key_pem
from qms.settings import env_proxy_ssl_header

ROOT = Path(__file__).resolve().parents[2]


def documented_environment(tmp_path: Path) -> dict[str, str]:
    """The README's "Production environment" block, its placeholders (the secret keys) filled and its
    key file and checkpoint folder made in ``tmp_path``."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Production environment", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None
    env = {}
    for line in block.group(1).splitlines():
        name, _, value = line.partition("=")
        env[name] = value
    placeholders = sorted(name for name, value in env.items() if value.startswith("<"))
    assert placeholders == ["AUDIT_KEY", "SECRET_KEY"]
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    env["AUDIT_KEY"] = secrets.token_hex(32)
    key_file = tmp_path / "audit-checkpoint.pem"
    key_file.write_bytes(private_key_pem())
    env["AUDIT_CHECKPOINT_KEY_FILE"] = str(key_file)
    env["AUDIT_CHECKPOINT_DIR"] = str(tmp_path / "audit-checkpoints")
    attestation_key = tmp_path / "attestation-key.pem"
    attestation_key.write_bytes(attestation_key_pem())
    env["ATTESTATION_KEY_FILE"] = str(attestation_key)
    return env


def run(code_or_args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    return subprocess.run(  # noqa: S603
        [sys.executable, *code_or_args], cwd=ROOT, env=base | env, capture_output=True, text=True, check=False
    )


def test_the_documented_production_environment_passes_check_deploy(tmp_path):
    env = documented_environment(tmp_path)
    assert env["DEBUG"] == "0"
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    # axes.W006 (lockout by user name only, on purpose: qms/settings.py)
    assert result.stdout.strip() == "System check identified no issues (1 silenced)."
    assert result.stderr == ""


def test_check_deploy_warns_without_it(tmp_path):
    """The same check fails on a bare environment: the test above can fail."""
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], {"SECRET_KEY": "short"}, tmp_path)
    assert result.returncode != 0
    assert "security.W009" in result.stderr  # a weak key
    assert "security.W021" in result.stderr  # no HSTS preload
    assert "qms.E001" in result.stderr and "AUDIT_KEY is not set" in result.stderr
    assert "qms.E002" in result.stderr and "AUDIT_CHECKPOINT_KEY_FILE is not set" in result.stderr


def test_check_deploy_refuses_the_secret_key_as_audit_key(tmp_path):
    env = documented_environment(tmp_path)
    env["AUDIT_KEY"] = env["SECRET_KEY"]
    result = run(["manage.py", "check", "--deploy"], env, tmp_path)
    assert result.returncode != 0
    assert "qms.E003" in result.stderr


HEADERS_SCRIPT = """
import json, django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="qms.example.com")
plain = client.get("/accounts/login/")
tls = client.get("/api/v1/products/", HTTP_X_FORWARDED_PROTO="https")
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location")],
    "tls": [tls.status_code, tls.get("Strict-Transport-Security"), tls.get("Content-Security-Policy"),
            tls.get("Permissions-Policy"), tls.get("X-Frame-Options"), tls.get("Referrer-Policy"),
            tls.get("X-Content-Type-Options")],
}))
"""

CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def directives(policy: str) -> dict[str, str]:
    return dict(directive.split(" ", 1) for directive in policy.split("; "))


def test_production_redirects_to_https_and_sends_the_security_headers(tmp_path):
    env = documented_environment(tmp_path) | {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",  # no request here needs the database
        "DJANGO_SETTINGS_MODULE": "qms.settings",
    }
    result = run(["-c", HEADERS_SCRIPT], env, tmp_path)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["plain"] == [301, "https://qms.example.com/accounts/login/"]
    status, hsts, csp, permissions, frame, referrer, nosniff = seen["tls"]
    assert status == 401  # served over HTTPS (through the proxy): not redirected, not signed in
    assert hsts == "max-age=31536000; includeSubDomains; preload"
    assert directives(csp) == CSP
    assert permissions == (
        "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), hid=(), "
        "magnetometer=(), microphone=(), midi=(), payment=(), serial=(), usb=()"
    )
    assert (frame, referrer, nosniff) == ("DENY", "same-origin", "nosniff")


def settings_with(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> dict[str, object]:
    """qms/settings.py evaluated afresh with ``env`` (and nothing else from the outer environment)."""
    for name in list(os.environ):
        if name.startswith(("SECURE_", "DEBUG", "SECRET_KEY", "DB_CONN")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "qms" / "settings.py"))


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DEBUG": "1"}, [False, 0, False, False, None, False, True]),  # make run: plain HTTP on localhost
        ({"SECRET_KEY": "k"}, [True, 31536000, True, False, None, True, True]),  # safe defaults without DEBUG
        (
            {"SECRET_KEY": "k", "SECURE_SSL_REDIRECT": "0", "SECURE_HSTS_SECONDS": "3600", "SECURE_HSTS_PRELOAD": "1"},
            [False, 3600, True, True, None, True, True],
        ),
        (
            {"SECRET_KEY": "k", "SECURE_PROXY_SSL_HEADER": "1"},
            [True, 31536000, True, False, ("HTTP_X_FORWARDED_PROTO", "https"), True, True],
        ),
    ],
    ids=["make-run", "production-defaults", "overridden", "proxy-header"],
)
def test_security_settings_come_from_the_environment(monkeypatch, env, expected):
    s = settings_with(monkeypatch, env)
    assert [
        s["SECURE_SSL_REDIRECT"],
        s["SECURE_HSTS_SECONDS"],
        s["SECURE_HSTS_INCLUDE_SUBDOMAINS"],
        s["SECURE_HSTS_PRELOAD"],
        s["SECURE_PROXY_SSL_HEADER"],
        s["SESSION_COOKIE_SECURE"] and s["CSRF_COOKIE_SECURE"],
        s["DATABASES"]["default"]["CONN_HEALTH_CHECKS"],  # type: ignore[index]
    ] == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        ("0", None),
        ("1", ("HTTP_X_FORWARDED_PROTO", "https")),
        ("true", ("HTTP_X_FORWARDED_PROTO", "https")),
        ("HTTP_X_FORWARDED_PROTO", ("HTTP_X_FORWARDED_PROTO", "https")),
        ("X-Forwarded-Proto", ("HTTP_X_FORWARDED_PROTO", "https")),
        ("X-Forwarded-Scheme=HTTPS", ("HTTP_X_FORWARDED_SCHEME", "HTTPS")),
    ],
)
def test_the_proxy_tls_header_is_read_in_either_spelling(monkeypatch, value, expected):
    monkeypatch.setenv("SECURE_PROXY_SSL_HEADER", value)
    assert env_proxy_ssl_header("SECURE_PROXY_SSL_HEADER") == expected


def test_a_malformed_proxy_header_is_a_configuration_error(monkeypatch):
    monkeypatch.setenv("SECURE_PROXY_SSL_HEADER", "X Forwarded Proto")
    with pytest.raises(ImproperlyConfigured, match="SECURE_PROXY_SSL_HEADER must be 1 or a header name"):
        env_proxy_ssl_header("SECURE_PROXY_SSL_HEADER")


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/accounts/login/", "/api/v1/products/", "/admin/login/"])
def test_every_response_carries_the_csp_and_permissions_policy(url):
    response = Client().get(url)
    assert directives(response["Content-Security-Policy"]) == CSP
    assert "camera=()" in response["Permissions-Policy"].split(", ")


@pytest.mark.django_db
def test_the_api_docs_page_has_no_inline_script_or_style(developer):
    client = Client()
    client.force_login(developer)
    page = client.get("/api/docs/").content.decode()
    assert "<style" not in page
    assert re.findall(r"<script[^>]*>", page) == [
        '<script src="/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js">',
        '<script src="/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-standalone-preset.js">',
        '<script src="/api/docs/?script=">',
    ]
    script = client.get("/api/docs/?script=")
    assert script["Content-Type"] == "application/javascript"
    assert "SwaggerUIBundle" in script.content.decode()
