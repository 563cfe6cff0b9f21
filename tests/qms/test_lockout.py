"""Account lockout (21 CFR 11.300(d)): failed sign-ins and refused signatures are audited with the
user name given and the client address, count toward one lockout per user name, and a quality
manager can lift it (audited)."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import F
from django.test import Client

from qms.errors import Forbidden
from qms.lockout import lock_state, when
from qms.models import AuditEvent, Signature
from qms.roles import Role
from qms.services import signature_apply
from tests.conftest import make_user
from traceability.models import Release
from traceability.services.releases import release_freeze, release_sign

pytestmark = pytest.mark.django_db

ADDRESS = "198.51.100.7"
SIGNATURES = "/api/v1/products/DEMO/releases/1.0/signatures/"


def sign_in(username: str, password: str, *, path: str = "/accounts/login/", address: str = ADDRESS) -> Client:
    client = Client()
    client.response = client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)
    return client


def is_signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def events_after(count: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(id__gt=0).order_by("id")[count:])


def cool_off_passes() -> None:
    """Move every counted failure back by the cool-off (LOCKOUT_MINUTES) and a second."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))


@pytest.fixture
def frozen(product, qm) -> Release:
    return release_freeze(product=product, version="1.0", actor=qm)


def sign_over_api(client, password: str, address: str = ADDRESS):
    return client.post(SIGNATURES, {"password": password, "meaning": "review"}, format="json", REMOTE_ADDR=address)


# --- sign-in -----------------------------------------------------------------------------------


def test_a_sign_in_and_a_sign_out_are_audited_with_the_address(qm):
    before = AuditEvent.objects.count()
    client = sign_in("quinn", "quinn-pw")
    assert client.response.status_code == 302 and is_signed_in(client)
    client.post("/accounts/logout/", REMOTE_ADDR=ADDRESS)
    assert not is_signed_in(client)
    assert [(e.action, e.actor_username, e.object_repr, e.after) for e in events_after(before)] == [
        ("auth.login", "quinn", "quinn", {"client_address": ADDRESS}),
        ("auth.logout", "quinn", "quinn", {"client_address": ADDRESS}),
    ]


def test_five_wrong_passwords_lock_the_account_then_the_cool_off_ends_it(qm):
    before = AuditEvent.objects.count()
    for attempt in range(1, 5):
        client = sign_in("quinn", f"guess-{attempt}")
        assert client.response.status_code == 200 and not is_signed_in(client)
        assert "did not match" in client.response.content.decode()
    client = sign_in("quinn", "guess-5")  # the failure that locks says so
    locked_until = lock_state("quinn").locked_until
    assert locked_until is not None
    assert client.response.status_code == 403 and not is_signed_in(client)
    assert f"locked after too many failed attempts until {when(locked_until)}" in client.response.content.decode()
    events = events_after(before)
    assert [(e.action, e.actor_username, e.object_id, e.object_repr) for e in events] == [
        *[("auth.login_failed", "system", str(qm.pk), "quinn")] * 5,
        ("auth.locked_out", "system", str(qm.pk), "quinn"),
    ]
    assert [e.after for e in events[:5]] == [
        {"username": "quinn", "client_address": ADDRESS, "reason": "invalid_credentials", "failures": n}
        for n in range(1, 6)
    ]
    assert events[5].after == {
        "username": "quinn",
        "client_address": ADDRESS,
        "failures": 5,
        "locked_until": locked_until.isoformat(),
        "last_failure": "sign-in",
    }
    assert AccessAttempt.objects.count() == 1
    assert "guess" not in AccessAttempt.objects.get().post_data  # axes masks the passwords it records

    # the right password is refused now, and so are 15 more guesses, which do not move the end
    before = AuditEvent.objects.count()
    for password in ["quinn-pw"] + [f"guess-{n}" for n in range(15)]:
        client = sign_in("quinn", password)
        assert client.response.status_code == 403 and not is_signed_in(client)
        page = client.response.content.decode()
        assert f"This account is locked after too many failed attempts until {when(locked_until)}" in page
    assert lock_state("quinn").locked_until == locked_until
    refused = events_after(before)
    assert {(e.action, e.after["reason"], e.after["locked_until"]) for e in refused} == {
        ("auth.login_failed", "account_locked", locked_until.isoformat())
    }
    assert len(refused) == 16

    cool_off_passes()
    client = sign_in("quinn", "quinn-pw")
    assert client.response.status_code == 302 and is_signed_in(client)


def test_the_admin_sign_in_counts_and_is_locked_too(qm):
    for attempt in range(3):
        sign_in("quinn", f"guess-{attempt}", path="/admin/login/")
    for attempt in range(2):
        sign_in("quinn", f"guess-{attempt}")
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 5
    client = sign_in("quinn", "quinn-pw", path="/admin/login/")
    assert client.response.status_code == 403 and not is_signed_in(client)
    assert "This account is locked" in client.response.content.decode()


def test_an_unknown_user_name_is_locked_like_a_known_one(db):
    """No difference tells whether an account exists: the name given is locked all the same."""
    before = AuditEvent.objects.count()
    codes = [sign_in("ghost", f"guess-{attempt}").response.status_code for attempt in range(6)]
    assert codes == [200, 200, 200, 200, 403, 403]
    events = events_after(before)
    assert [(e.action, e.object_type, e.object_id, e.object_repr) for e in events[-2:]] == [
        ("auth.locked_out", "auth.user", "", "ghost"),
        ("auth.login_failed", "auth.user", "", "ghost"),
    ]


def test_the_lock_is_per_user_name_not_per_address(qm, developer):
    for attempt in range(5):
        sign_in("quinn", f"guess-{attempt}", address=f"203.0.113.{attempt}")  # a different address each time
    assert sign_in("quinn", "quinn-pw", address="192.0.2.200").response.status_code == 403
    assert sign_in("dana", "dana-pw").response.status_code == 302  # others are not affected


def test_failures_count_while_each_comes_within_the_cool_off_of_the_last(qm):
    for attempt in range(4):
        sign_in("quinn", f"guess-{attempt}")
    cool_off_passes()  # the 4 failures are forgotten
    sign_in("quinn", "guess-4")
    assert lock_state("quinn").failures == 1
    assert sign_in("quinn", "quinn-pw").response.status_code == 302


# --- signatures --------------------------------------------------------------------------------


def test_25_wrong_signing_passwords_then_the_right_one_is_refused(api_client, qm, frozen):
    client = api_client(qm)
    before = AuditEvent.objects.count()
    codes = [sign_over_api(client, f"guess-{n}").json()["error"] for n in range(25)]
    assert codes == ["signature_refused"] * 5 + ["account_locked"] * 20
    locked_until = lock_state("quinn").locked_until
    assert locked_until is not None

    right = sign_over_api(client, "quinn-pw")
    assert right.status_code == 403
    assert right.json() == {
        "error": "account_locked",
        "detail": f"the account quinn is locked after too many failed attempts until {when(locked_until)} "
        "(a quality manager can unlock it sooner); nothing was signed",
        "locked_until": locked_until.isoformat(),
    }
    assert not Signature.objects.exists()
    events = events_after(before)
    assert [(e.action, e.after.get("reason")) for e in events] == [
        *[("signature.refused", "wrong_password")] * 5,
        ("auth.locked_out", None),
        *[("signature.refused", "account_locked")] * 21,
    ]
    assert [e.after["failures"] for e in events[:5]] == [1, 2, 3, 4, 5]
    assert events[0].after == {
        "username": "quinn",
        "client_address": ADDRESS,
        "reason": "wrong_password",
        "meaning": "review",
        "failures": 1,
    }
    assert (events[0].actor_username, events[0].scope, events[0].object_repr) == (
        "quinn",
        "DEMO",
        "quinn review DEMO 1.0",
    )
    assert events[5].after["last_failure"] == "signature"
    assert sign_in("quinn", "quinn-pw").response.status_code == 403  # the lock holds for sign-in too

    cool_off_passes()
    assert sign_over_api(client, "quinn-pw").status_code == 201
    assert Signature.objects.count() == 1


@pytest.mark.parametrize(("logins", "signings"), [(3, 2), (1, 4), (4, 1)])
def test_failed_sign_ins_and_refused_signatures_count_toward_one_lockout(api_client, qm, frozen, logins, signings):
    client = api_client(qm)
    for n in range(logins):
        sign_in("quinn", f"guess-{n}")
    for n in range(signings):
        assert sign_over_api(client, f"guess-{n}").json()["error"] == "signature_refused"
    assert AuditEvent.objects.filter(action="auth.locked_out").count() == 1
    assert sign_over_api(client, "quinn-pw").json()["error"] == "account_locked"
    assert sign_in("quinn", "quinn-pw").response.status_code == 403
    assert not Signature.objects.exists()


def test_the_approval_page_and_endpoint_refuse_a_locked_account(api_client, client, qm, frozen):
    for n in range(5):
        sign_in("quinn", f"guess-{n}")
    response = api_client(qm).post(
        "/api/v1/products/DEMO/releases/1.0/approve/", {"password": "quinn-pw", "meaning": "approval"}, format="json"
    )
    assert response.status_code == 403 and response.json()["error"] == "account_locked"
    page = api_client(qm).post("/p/DEMO/releases/1.0/approve/", {"password": "quinn-pw"}, follow=True)
    assert "the account quinn is locked after too many failed attempts until" in page.content.decode()
    assert Release.objects.get().state == "frozen" and not Signature.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # as the other committing tests
def test_a_refused_signature_is_recorded_after_the_signing_transaction_rolled_back(product, qm):
    """Committed for real (no test transaction around it): the refusal and the count survive."""
    release = release_freeze(product=product, version="1.0", actor=qm)
    with pytest.raises(Forbidden):
        release_sign(release=release, signer=qm, password="guess", meaning="review", client_address=ADDRESS)
    assert list(AuditEvent.objects.filter(action="signature.refused").values_list("actor_username", flat=True)) == [
        "quinn"
    ]
    assert lock_state("quinn").failures == 1 and not Signature.objects.exists()


def test_signing_inside_a_callers_transaction_is_refused(qm, frozen):
    """The refusal would be rolled back with the caller's transaction: refused outright instead."""
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        release_sign(release=frozen, signer=qm, password="quinn-pw", meaning="review")
    assert not Signature.objects.exists()


def test_signature_apply_on_its_own_records_its_refusals(qm):
    for _ in range(5):
        with pytest.raises(Forbidden):
            signature_apply(
                signer=qm,
                password="guess",
                meaning="review",
                record_type="tests.record",
                record_id="1",
                record_repr="record 1",
                record_hash="ab" * 32,
            )
    assert lock_state("quinn").is_locked
    assert AuditEvent.objects.filter(action="signature.refused").count() == 5


# --- unlocking ---------------------------------------------------------------------------------


def lock(username: str) -> None:
    for n in range(5):
        sign_in(username, f"guess-{n}")
    assert lock_state(username).is_locked


def test_a_quality_manager_unlocks_an_account_with_the_command(qm, developer):
    lock("dana")
    until = lock_state("dana").locked_until
    before = AuditEvent.objects.count()
    call_command("user_unlock", "dana", "--as", "quinn")
    (event,) = events_after(before)
    assert (event.action, event.actor_username, event.object_repr) == ("user.unlocked", "quinn", "dana")
    assert (event.before, event.after) == (
        {"failures": 5, "locked_until": until.isoformat()},
        {"failures": 0, "locked_until": None},
    )
    assert sign_in("dana", "dana-pw").response.status_code == 302


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ghost", "--as", "quinn"], "no user named 'ghost'"),
        (["avery", "--as", "quinn"], "avery is not locked (0 of 5 failed attempts counted); nothing was changed"),
        (["dana", "--as", "dana"], "only a quality manager may unlock an account (dana is not one)"),
        (["dana", "--as", "avery"], "only a quality manager may unlock an account (avery is not one)"),
        (["dana", "--as", "nobody-here"], "no user named 'nobody-here'"),
    ],
)
def test_unlock_command_errors_write_nothing(qm, developer, auditor, args, message):
    lock("dana")
    attempts = list(AccessAttempt.objects.values_list("id", "failures_since_start"))
    before = AuditEvent.objects.count()
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("user_unlock", *args)
    assert AuditEvent.objects.count() == before
    assert list(AccessAttempt.objects.values_list("id", "failures_since_start")) == attempts


def staff(user: User) -> Client:
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


def test_the_users_page_shows_the_lock_and_a_quality_manager_lifts_it(qm, developer):
    lock("dana")
    until = lock_state("dana").locked_until
    client = staff(qm)
    listing = client.get("/admin/auth/user/").content.decode()
    assert f'<td class="field-locked_until">{when(until)}</td>' in listing
    assert listing.count('<td class="field-locked_until">-</td>') == 1  # quinn
    assert 'value="unlock"' in listing
    before = AuditEvent.objects.count()
    response = client.post("/admin/auth/user/", {"action": "unlock", "_selected_action": [developer.pk]}, follow=True)
    assert "Unlocked: dana." in response.content.decode()
    assert [e.action for e in events_after(before)] == ["user.unlocked"]
    assert not lock_state("dana").is_locked


def test_developers_and_auditors_cannot_unlock_in_the_admin(qm, developer, auditor):
    other = make_user("dora", Role.DEVELOPER)
    lock("dora")
    for user in (developer, auditor):
        client = staff(user)
        assert 'value="unlock"' not in client.get("/admin/auth/user/").content.decode()
        before = AuditEvent.objects.count()
        client.post("/admin/auth/user/", {"action": "unlock", "_selected_action": [other.pk]})
        assert AuditEvent.objects.count() == before
        assert lock_state("dora").is_locked
