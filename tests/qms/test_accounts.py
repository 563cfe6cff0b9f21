"""Account controls besides the lockout: audited password changes and resets (reset by e-mail only
when e-mail is configured), idle and long sessions ending, signers' full names."""

import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.utils import timezone

from qms.errors import InvalidInput
from qms.models import AuditEvent
from qms.services import user_role_set
from qms.services.users import user_create, user_update
from tests.conftest import make_user
from traceability.services.demo import DEMO_USERS

pytestmark = pytest.mark.django_db

ADDRESS = "198.51.100.7"
NEW_PASSWORD = "a-new-and-long-password-42"


def events_after(count: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(id__gt=0).order_by("id")[count:])


def signed_in_client(username: str, password: str) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ADDRESS)
    assert response.status_code == 302, response.content.decode()[:2000]
    return client


# --- sign-in page ------------------------------------------------------------------------------


@override_settings(PASSWORD_RESET_BY_EMAIL=False)
def test_without_e_mail_the_reset_pages_do_not_exist_and_the_sign_in_page_says_whom_to_ask(client, qm):
    page = client.get("/accounts/login/").content.decode()
    assert "You are signed out after 30 minutes without activity." in page
    assert "Forgot your password? Ask a quality manager to set a new one." in page
    assert "/accounts/password_reset/" not in page
    for path in (
        "/accounts/password_reset/",
        "/accounts/password_reset/done/",
        "/accounts/reset/MQ/set-password/",
        "/accounts/reset/done/",
    ):
        assert client.get(path).status_code == 404, path
    response = client.post("/accounts/password_reset/", {"email": "quinn@example.com"})
    assert response.status_code == 404 and "emailed" not in response.content.decode()
    assert mail.outbox == []


@override_settings(PASSWORD_RESET_BY_EMAIL=True)
def test_with_e_mail_a_reset_by_e_mail_is_audited(client, qm):
    qm.email = "quinn@example.com"
    qm.save()
    page = client.get("/accounts/login/").content.decode()
    assert '<a href="/accounts/password_reset/">Reset it by e-mail</a>' in page
    response = client.post("/accounts/password_reset/", {"email": "quinn@example.com"}, REMOTE_ADDR=ADDRESS)
    assert response.status_code == 302 and response["Location"] == "/accounts/password_reset/done/"
    (message,) = mail.outbox
    assert message.to == ["quinn@example.com"]
    link = re.search(r"http://testserver(/accounts/reset/\S+/\S+/)", message.body)
    assert link is not None
    form = client.get(link.group(1), follow=True)  # the token moves into the session
    assert form.status_code == 200
    before = AuditEvent.objects.count()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        REMOTE_ADDR=ADDRESS,
    )
    assert done.status_code == 302 and done["Location"] == "/accounts/reset/done/"
    (event,) = events_after(before)
    assert (event.action, event.actor_username, event.object_repr, event.after, event.note) == (
        "user.password_reset",
        "quinn",
        "quinn",
        {"client_address": ADDRESS},
        "through the link of a password-reset e-mail",
    )
    assert User.objects.get(pk=qm.pk).check_password(NEW_PASSWORD)


@override_settings(PASSWORD_RESET_BY_EMAIL=True)
def test_a_reset_for_an_unknown_address_sends_nothing_and_writes_nothing(client, qm):
    before = AuditEvent.objects.count()
    response = client.post("/accounts/password_reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302  # the same answer: no way to learn which addresses exist
    assert mail.outbox == [] and AuditEvent.objects.count() == before


@override_settings(SESSION_IDLE_MINUTES=45)
def test_the_sign_in_page_says_when_an_idle_session_ends(client):
    assert "You are signed out after 45 minutes without activity." in client.get("/accounts/login/").content.decode()


# --- password changes ----------------------------------------------------------------------------


def test_a_password_change_is_audited_and_keeps_the_session(qm):
    client = signed_in_client("quinn", "quinn-pw")
    before = AuditEvent.objects.count()
    response = client.post(
        "/accounts/password_change/",
        {"old_password": "quinn-pw", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        REMOTE_ADDR=ADDRESS,
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/password_change/done/"
    (event,) = events_after(before)
    assert (event.action, event.actor_username, event.after) == (
        "user.password_changed",
        "quinn",
        {"client_address": ADDRESS},
    )
    assert User.objects.get(pk=qm.pk).check_password(NEW_PASSWORD)
    assert client.get("/accounts/password_change/done/").status_code == 200  # still signed in


def test_a_wrong_current_password_or_a_weak_one_changes_nothing(qm):
    client = signed_in_client("quinn", "quinn-pw")
    before = AuditEvent.objects.count()
    for form in (
        {"old_password": "guess", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        {"old_password": "quinn-pw", "new_password1": "short", "new_password2": "short"},
    ):
        assert client.post("/accounts/password_change/", form).status_code == 200
    assert AuditEvent.objects.count() == before
    assert User.objects.get(pk=qm.pk).check_password("quinn-pw")


def test_the_admins_password_change_is_the_audited_page(qm):
    client = signed_in_client("quinn", "quinn-pw")
    response = client.get("/admin/password_change/")
    assert response.status_code == 302 and response["Location"] == "/accounts/password_change/"


# --- sessions ------------------------------------------------------------------------------------


class Clock:
    """timezone.now(), moved by hand (sessions, axes and the audit trail read it)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = timezone.now()
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def wait(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def test_an_idle_session_ends_after_30_minutes(qm, monkeypatch):
    clock = Clock(monkeypatch)
    client = signed_in_client("quinn", "quinn-pw")
    for _ in range(4):  # active every 29 minutes: still signed in two hours later
        clock.wait(minutes=29)
        assert client.get("/").status_code == 200
    clock.wait(minutes=31, seconds=1)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_request_moves_the_session_expiry_at_most_once_a_minute(qm, monkeypatch):
    clock = Clock(monkeypatch)
    client = signed_in_client("quinn", "quinn-pw")
    stored = Session.objects.filter(pk=client.session.session_key)
    expiry = stored.get().expire_date
    assert expiry == clock.now + timedelta(minutes=31)  # SESSION_IDLE_MINUTES and the refresh minute
    clock.wait(seconds=30)
    client.get("/")
    assert stored.get().expire_date == expiry  # not written
    clock.wait(seconds=31)
    client.get("/")
    assert stored.get().expire_date == clock.now + timedelta(minutes=31)


@override_settings(SESSION_MAX_HOURS=10)
def test_a_busy_session_ends_10_hours_after_sign_in_audited(qm, monkeypatch):
    clock = Clock(monkeypatch)
    client = signed_in_client("quinn", "quinn-pw")
    for _ in range(20):  # active every 29 minutes
        clock.wait(minutes=29)
        assert client.get("/").status_code == 200
    before = AuditEvent.objects.count()
    clock.wait(minutes=29)  # 10 h 9 min after sign-in
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    (event,) = events_after(before)
    assert (event.action, event.actor_username, event.note) == (
        "auth.logout",
        "quinn",
        "session ended 10 hours after sign-in",
    )


# --- full names of signers -----------------------------------------------------------------------


def test_demo_users_have_full_names():
    assert all(len(full_name.split()) >= 2 for _, full_name, _ in DEMO_USERS)


@pytest.mark.parametrize(
    ("first_name", "last_name", "field"),
    [("", "", "first_name"), ("Alice", "", "last_name"), ("", "Smith", "first_name")],
)
def test_a_quality_manager_needs_a_full_name_and_nothing_is_written(qm, first_name, last_name, field):
    before = (User.objects.count(), AuditEvent.objects.count())
    with pytest.raises(InvalidInput, match="alice needs a first and a last name to be a quality manager") as refused:
        user_create(username="alice", roles=["quality_manager"], first_name=first_name, last_name=last_name, actor=qm)
    assert (refused.value.code, refused.value.context["field"]) == ("signer_without_name", field)
    assert (User.objects.count(), AuditEvent.objects.count()) == before
    # other roles do not sign
    assert user_create(username="alice", roles=["developer"], actor=qm).get_full_name() == ""


def test_a_nameless_user_does_not_become_a_quality_manager_nor_a_quality_manager_nameless(qm):
    nameless = make_user("nemo", "developer")
    nameless.first_name = nameless.last_name = ""
    nameless.save()
    before = AuditEvent.objects.count()
    with pytest.raises(InvalidInput, match="nemo needs a first and a last name"):
        user_role_set(user=nameless, roles=["quality_manager"], actor=qm)
    with pytest.raises(InvalidInput, match="quinn needs a first and a last name"):
        user_update(user=qm, last_name="  ", actor=qm)
    assert AuditEvent.objects.count() == before
    assert User.objects.get(pk=qm.pk).last_name == "Manager"


def test_the_command_needs_a_name_for_a_quality_manager(qm, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-enough-password-7\n"))
    with pytest.raises(CommandError, match="alice needs a first and a last name to be a quality manager"):
        call_command("user_role", "alice", "quality_manager", "--create", "--password-stdin", "--as", "quinn")
    assert not User.objects.filter(username="alice").exists()
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-enough-password-7\n"))
    call_command(
        "user_role",
        "alice",
        "quality_manager",
        "--create",
        "--name",
        "Alice Smith",
        "--password-stdin",
        "--as",
        "quinn",
    )
    assert User.objects.get(username="alice").get_full_name() == "Alice Smith"


def test_the_admin_form_says_a_quality_manager_needs_a_name(client, qm):
    qm.is_staff = True
    qm.save()
    client.force_login(qm)
    form = {
        "username": "alice",
        "usable_password": "false",
        "first_name": "Alice",
        "last_name": "",
        "roles": ["quality_manager"],
        "is_staff": "on",
    }
    response = client.post("/admin/auth/user/add/", form)
    assert response.status_code == 200
    assert "alice needs a first and a last name to be a quality manager" in response.content.decode()
    assert not User.objects.filter(username="alice").exists()
