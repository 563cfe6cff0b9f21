import pytest

from qms.errors import Forbidden, InvalidInput
from qms.models import AuditEvent, Signature
from qms.selectors import signature_list
from qms.services import signature_apply

pytestmark = pytest.mark.django_db

HASH = "ab" * 32


def sign(user, **fields):
    values = {
        "signer": user,
        "password": f"{user.username}-pw",
        "meaning": "review",
        "record_type": "tests.record",
        "record_id": "7",
        "record_repr": "record 7",
        "record_hash": HASH,
    }
    values.update(fields)
    return signature_apply(**values)


def test_a_signature_records_who_when_what_and_the_hash(qm):
    qm.first_name, qm.last_name = "Quinn", "Manager"
    qm.save()
    signature = sign(qm, comment="  looks right  ", scope="DEMO")
    assert (signature.signer_username, signature.printed_name, signature.meaning, signature.record_hash) == (
        "quinn",
        "Quinn Manager",
        "review",
        HASH,
    )
    assert signature.comment == "looks right"
    event = AuditEvent.objects.get(action="signature.applied")
    assert (event.actor_username, event.scope, event.object_repr) == ("quinn", "DEMO", "Quinn Manager review record 7")
    assert event.after["record_hash"] == HASH
    assert list(signature_list(record_type="tests.record", record_id="7")) == [signature]
    assert list(signature_list(record_type="tests.record", record_id="8")) == []


@pytest.mark.parametrize(("first_name", "last_name"), [("", ""), ("Dana", ""), ("", "Developer"), ("  ", "Developer")])
def test_a_signer_without_a_full_name_is_refused_and_nothing_is_written(developer, first_name, last_name):
    """11.50(a)(1): the printed name is the signer's full name, never the user name."""
    developer.first_name, developer.last_name = first_name, last_name
    developer.save()
    events = AuditEvent.objects.count()
    with pytest.raises(InvalidInput, match="dana has no full name") as refused:
        sign(developer)
    assert refused.value.code == "signer_without_name"
    assert (Signature.objects.count(), AuditEvent.objects.count()) == (0, events)


def test_the_printed_name_is_the_full_name(developer):
    assert sign(developer).printed_name == "Dana Developer"


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"meaning": "blessing"}, InvalidInput, "unknown signature meaning 'blessing'"),
        ({"record_hash": "abc"}, InvalidInput, "needs a SHA-256 hash"),
    ],
)
def test_a_refused_signature_writes_nothing(qm, fields, error, message):
    events = AuditEvent.objects.count()
    with pytest.raises(error, match=message):
        sign(qm, **fields)
    assert (Signature.objects.count(), AuditEvent.objects.count()) == (0, events)


@pytest.mark.parametrize("password", ["wrong", ""])
def test_a_wrong_password_writes_no_signature_only_the_refusal(qm, password):
    events = AuditEvent.objects.count()
    with pytest.raises(Forbidden, match="the password of quinn does not match; nothing was signed") as refused:
        sign(qm, password=password, client_address="192.0.2.1")
    assert refused.value.code == "signature_refused"
    assert Signature.objects.count() == 0
    (event,) = AuditEvent.objects.filter(id__gt=0).order_by("id")[events:]
    assert (event.action, event.actor_username, event.object_type, event.object_id, event.object_repr) == (
        "signature.refused",
        "quinn",
        "tests.record",
        "7",
        "quinn review record 7",
    )
    assert event.after == {
        "username": "quinn",
        "client_address": "192.0.2.1",
        "reason": "wrong_password",
        "meaning": "review",
        "failures": 1,
    }


def test_an_inactive_user_cannot_sign(qm):
    qm.is_active = False
    qm.save()
    with pytest.raises(Forbidden):
        sign(qm)
    assert not Signature.objects.exists()
