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


def test_without_a_full_name_the_user_name_is_printed(developer):
    developer.first_name = ""
    developer.save()
    assert sign(developer).printed_name == "dana"


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"password": "wrong"}, Forbidden, "the password of quinn does not match; nothing was signed"),
        ({"password": ""}, Forbidden, "does not match"),
        ({"meaning": "blessing"}, InvalidInput, "unknown signature meaning 'blessing'"),
        ({"record_hash": "abc"}, InvalidInput, "needs a SHA-256 hash"),
    ],
)
def test_a_refused_signature_writes_nothing(qm, fields, error, message):
    events = AuditEvent.objects.count()
    with pytest.raises(error, match=message):
        sign(qm, **fields)
    assert (Signature.objects.count(), AuditEvent.objects.count()) == (0, events)


def test_an_inactive_user_cannot_sign(qm):
    qm.is_active = False
    qm.save()
    with pytest.raises(Forbidden):
        sign(qm)
    assert not Signature.objects.exists()
