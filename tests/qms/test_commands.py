from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from qms.dbtriggers import immutable_rows_dropped
from qms.models import ApiToken, AuditEvent
from qms.services import token_authenticate

pytestmark = pytest.mark.django_db


def test_token_create_prints_a_working_key(developer):
    out = StringIO()
    call_command("token_create", "dana", "gitlab-ci", "--scope", "evidence", stdout=out)
    token = token_authenticate(out.getvalue().strip())
    assert token.user == developer and token.scopes == ["evidence"]


def test_token_create_for_an_unknown_user_fails_without_a_write(db):
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        call_command("token_create", "ghost", "ci")
    assert not ApiToken.objects.exists()


def test_audit_verify_passes_then_detects_tampering(make_item):
    make_item("SRS-1", "software_requirement")
    call_command("audit_checkpoint", stdout=StringIO())
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert "Audit trail intact" in out.getvalue()
    event = AuditEvent.objects.get(action="item.created")
    immutable_rows_dropped(connection, "qms_auditevent")  # an attacker with database access
    AuditEvent.objects.filter(pk=event.pk).update(actor_username="mallory")
    with pytest.raises(CommandError, match=f"audit trail broken at event #{event.pk}"):
        call_command("audit_verify")
