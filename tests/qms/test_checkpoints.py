"""Signed checkpoints of the audit trail outside the database, the audit secrets, and what
audit_verify asks of them."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from qms.dbtriggers import immutable_rows_dropped
from qms.integrity.chain import audit_chain_verify
from qms.integrity.checkpoints import checkpoint_files, checkpoint_parse
from qms.models import AuditChainHead, AuditEvent
from qms.services import AuditEntry, audit_checkpoint_write, audit_record_many

pytestmark = pytest.mark.django_db


def events(count: int, **after: object) -> None:
    audit_record_many(
        actor=None,
        entries=[
            AuditEntry(action="test.event", object_type="test", object_id=str(n), object_repr=f"#{n}", after=after)
            for n in range(count)
        ],
    )


def test_a_checkpoint_is_signed_and_names_the_head(audit_checkpoints):
    events(3)
    written = audit_checkpoint_write()
    head = AuditChainHead.objects.get()
    newest = AuditEvent.objects.order_by("-id").first()
    assert (written.events, written.head_id, written.head) == (head.count, newest.pk, newest.digest)
    assert written.path.parent == audit_checkpoints and written.posted_status is None
    checkpoint = checkpoint_parse(written.path.read_bytes())
    assert (checkpoint.events, checkpoint.head_id, checkpoint.head) == (3, newest.pk, newest.digest)
    assert checkpoint.at.endswith("Z")


def test_checkpoints_are_never_written_over_a_broken_trail(audit_checkpoints):
    events(3)
    first = AuditEvent.objects.order_by("id").first()
    immutable_rows_dropped(connection, "qms_auditevent")
    AuditEvent.objects.filter(pk=first.pk).update(note="changed")
    with pytest.raises(CommandError, match=f"no checkpoint over a broken audit trail at event #{first.pk}"):
        call_command("audit_checkpoint", stdout=StringIO())
    assert list(audit_checkpoints.glob("*")) == []


def test_a_checkpoint_verifies_only_what_came_since_the_last_one(audit_checkpoints):
    events(2)
    audit_checkpoint_write()
    events(2)
    second = audit_checkpoint_write()
    assert second.events == 4
    assert [entry.checkpoint.events for entry in checkpoint_files()] == [2, 4]
    report = audit_chain_verify(checkpoints=[entry.checkpoint for entry in checkpoint_files()])
    assert (report.is_intact, report.checkpoints_matched) == (True, 2)


def test_a_trail_shorter_than_the_checkpoint_gets_no_new_one(audit_checkpoints):
    events(3)
    audit_checkpoint_write()
    newest = AuditEvent.objects.order_by("-id").first()
    immutable_rows_dropped(connection, "qms_auditevent")
    AuditEvent.objects.filter(pk=newest.pk)._raw_delete(AuditEvent.objects.db)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER qms_auditchainhead_guard ON qms_auditchainhead")
    previous = AuditEvent.objects.order_by("-id").first()
    AuditChainHead.objects.update(count=2, digest=previous.digest)
    with pytest.raises(CommandError, match="contradicts the checkpoint"):
        call_command("audit_checkpoint", stdout=StringIO())


def test_a_checkpoint_is_posted_to_the_url(httpserver, settings):
    settings.AUDIT_CHECKPOINT_URL = httpserver.url_for("/checkpoints")
    settings.AUDIT_CHECKPOINT_URL_TOKEN = "witness-token"
    httpserver.expect_request(
        "/checkpoints", method="POST", headers={"Authorization": "Bearer witness-token"}
    ).respond_with_json({"stored": True}, status=201)
    events(2)
    out = StringIO()
    call_command("audit_checkpoint", stdout=out)
    assert "Delivered to the checkpoint URL (201)" in out.getvalue()
    request, _ = httpserver.log[0]
    posted = json.loads(request.data)
    assert posted["checkpoint"]["events"] == 2
    assert checkpoint_parse(request.data).head == AuditChainHead.objects.get().digest


def test_a_checkpoint_that_cannot_be_delivered_is_still_written_and_says_so(httpserver, settings, audit_checkpoints):
    settings.AUDIT_CHECKPOINT_URL = httpserver.url_for("/checkpoints")
    httpserver.expect_request("/checkpoints", method="POST").respond_with_data("down", status=503)
    events(1)
    with pytest.raises(CommandError, match=r"written but not delivered: .* answered 503"):
        call_command("audit_checkpoint", stdout=StringIO())
    assert len(list(audit_checkpoints.glob("checkpoint-*.json"))) == 1
    assert call_command("audit_checkpoint", "--no-post", stdout=StringIO()) is None


def test_audit_verify_needs_a_checkpoint_unless_told_otherwise(audit_checkpoints):
    events(2)
    with pytest.raises(CommandError, match=r"no checkpoint in .*: a truncated or rolled-back trail cannot be told"):
        call_command("audit_verify", stdout=StringIO(), stderr=StringIO())
    out = StringIO()
    call_command("audit_verify", "--allow-no-checkpoint", stdout=out, stderr=StringIO())
    assert "Audit trail intact" in out.getvalue()
    call_command("audit_checkpoint", stdout=StringIO())
    out = StringIO()
    call_command("audit_verify", stdout=out, stderr=StringIO())
    assert "1 of 1 checkpoints" in out.getvalue() and "every record holds up" in out.getvalue()


def test_events_with_numbers_a_database_rewrites_still_verify():
    """PostgreSQL's jsonb gives 1e16 back as an integer and -0.0 as 0.0; the verification's fast
    JSON writer differs from the canonical one for some numbers (checked again over the canonical
    bytes before anything is called broken)."""
    events(2, exponent=1e16, huge=2**70, tiny=5e-324, negative_zero=-0.0, fraction=0.1, text="«\u2028»\x7f")
    stored = AuditEvent.objects.order_by("-id").first().after
    assert stored["exponent"] == 10**16 and isinstance(stored["exponent"], int)
    assert (stored["huge"], stored["fraction"]) == (2**70, 0.1)
    report = audit_chain_verify()
    assert (report.is_intact, report.events) == (True, 2)


def test_the_trail_refuses_without_its_key(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.AUDIT_KEY = ""
    before = AuditEvent.objects.count()
    with pytest.raises(ImproperlyConfigured, match="AUDIT_KEY is not set"):
        events(1)
    settings.AUDIT_KEY = "too-short"
    with pytest.raises(ImproperlyConfigured, match="at least 32 characters"):
        events(1)
    assert AuditEvent.objects.count() == before


def test_a_trail_verified_with_another_key_is_broken(settings):
    events(2)
    settings.AUDIT_KEY = "another-audit-key-of-the-right-length-0123456789"
    report = audit_chain_verify()
    assert not report.is_intact and report.first_broken_id == AuditEvent.objects.order_by("id").first().pk


def test_audit_keygen_makes_the_secrets_and_never_overwrites(tmp_path):
    path = tmp_path / "keys" / "checkpoint.pem"
    out = StringIO()
    call_command("audit_keygen", str(path), stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("AUDIT_KEY=") and len(lines[0].removeprefix("AUDIT_KEY=")) == 64
    assert lines[1] == f"AUDIT_CHECKPOINT_KEY_FILE={path.resolve()}"
    assert path.stat().st_mode & 0o777 == 0o600
    assert b"PRIVATE KEY" in path.read_bytes() and b"PUBLIC KEY" in path.with_name("checkpoint.pub.pem").read_bytes()
    key = path.read_bytes()
    with pytest.raises(CommandError, match="exists already; a key is never overwritten"):
        call_command("audit_keygen", str(path), stdout=StringIO())
    assert path.read_bytes() == key


def test_a_verifying_host_needs_only_the_public_key(settings, tmp_path, audit_checkpoints):
    from qms.integrity.keys import checkpoint_private_key, public_key_pem

    events(1)
    audit_checkpoint_write()
    public = tmp_path / "checkpoint.pub.pem"
    public.write_bytes(public_key_pem(checkpoint_private_key().public_key()))
    settings.AUDIT_CHECKPOINT_KEY = ""
    settings.AUDIT_CHECKPOINT_PUBLIC_KEY_FILE = str(public)
    out = StringIO()
    call_command("audit_verify", "--chain-only", stdout=out)
    assert "1 of 1 checkpoints" in out.getvalue()
