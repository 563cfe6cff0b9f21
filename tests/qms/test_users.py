"""User accounts: the audited services, the user_role command and the admin's user pages."""

import io
import re
import sys

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from qms.errors import Conflict, Forbidden, InvalidInput
from qms.models import AuditEvent
from qms.roles import user_roles
from qms.services import user_role_set
from qms.services.users import user_active_set, user_create, user_password_set, user_update

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "correct-horse-battery-staple"


def roles_of(username: str) -> list[str]:
    return sorted(User.objects.get(username=username).groups.values_list("name", flat=True))


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# --- services --------------------------------------------------------------------------------


def test_user_create_is_audited_without_the_password(qm):
    user = user_create(
        username="alice",
        roles=["developer"],
        email="alice@example.com",
        first_name="Alice",
        last_name="Smith",
        password=GOOD_PASSWORD,
        actor=qm,
    )
    assert user.check_password(GOOD_PASSWORD) and user.is_staff and user.is_active
    assert user_roles(User.objects.get(pk=user.pk)) == {"developer"}
    (event,) = events("user.created")
    assert (event.actor_username, event.object_repr) == ("quinn", "alice")
    assert event.after == {
        "username": "alice",
        "first_name": "Alice",
        "last_name": "Smith",
        "email": "alice@example.com",
        "is_active": True,
        "is_staff": True,
        "is_superuser": False,
        "has_password": True,
        "roles": ["developer"],
    }
    assert GOOD_PASSWORD not in str(event.after) and user.password not in str(event.after)


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"username": ""}, InvalidInput, "a user needs a user name"),
        ({"username": "al ice"}, InvalidInput, "user name 'al ice'"),
        ({"roles": []}, InvalidInput, "a user needs a role"),
        ({"roles": ["admin"]}, InvalidInput, "unknown role 'admin'; roles are quality_manager, developer, auditor"),
        ({"email": "not-an-address"}, InvalidInput, "'not-an-address' is not a valid e-mail address"),
        ({"password": "short"}, InvalidInput, "password: This password is too short"),
        ({"password": "12345678901"}, InvalidInput, "entirely numeric"),
        ({"username": "QUINN"}, Conflict, "a user named 'QUINN' already exists"),
    ],
)
def test_user_create_refuses_bad_input_and_writes_nothing(qm, fields, error, message):
    before = (User.objects.count(), AuditEvent.objects.count())
    values = {"username": "alice", "roles": ["auditor"], "password": GOOD_PASSWORD, **fields}
    with pytest.raises(error, match=message):
        user_create(actor=qm, **values)
    assert (User.objects.count(), AuditEvent.objects.count()) == before


def test_role_update_activate_and_password_are_audited(qm, developer):
    user_role_set(user=developer, roles=["quality_manager"], actor=qm)
    user_update(user=developer, email="dana@example.com", last_name="Doe", actor=qm)
    user_password_set(user=developer, password=GOOD_PASSWORD, actor=qm)
    user_active_set(user=developer, is_active=False, actor=qm)
    user_active_set(user=developer, is_active=False, actor=qm)  # no change, no event
    developer.refresh_from_db()
    assert (developer.email, developer.last_name, developer.is_active) == ("dana@example.com", "Doe", False)
    assert developer.check_password(GOOD_PASSWORD)
    roles = [e for e in events("user.roles_changed") if e.object_repr == "dana"]
    assert (roles[-1].before, roles[-1].after, roles[-1].actor_username) == (
        {"roles": ["developer"]},
        {"roles": ["quality_manager"]},
        "quinn",
    )
    (updated,) = events("user.updated")
    assert (updated.before["email"], updated.after["email"]) == ("", "dana@example.com")
    (password,) = events("user.password_set")
    assert password.before is None and password.after is None
    (deactivated,) = events("user.deactivated")
    assert (deactivated.before["is_active"], deactivated.after["is_active"]) == (True, False)


def test_what_only_a_superuser_may_do(qm, developer):
    root = User.objects.create_superuser("root", password=GOOD_PASSWORD)
    before = AuditEvent.objects.count()
    with pytest.raises(Forbidden, match="only a superuser may grant or remove superuser status"):
        user_update(user=developer, is_superuser=True, actor=qm)
    for change in (
        lambda: user_role_set(user=root, roles=["auditor"], actor=qm),
        lambda: user_update(user=root, email="x@example.com", actor=qm),
        lambda: user_password_set(user=root, password=GOOD_PASSWORD + "!", actor=qm),
        lambda: user_active_set(user=root, is_active=False, actor=qm),
    ):
        with pytest.raises(Forbidden, match="only a superuser may change the account of root"):
            change()
    with pytest.raises(Forbidden, match="you cannot deactivate your own account"):
        user_active_set(user=qm, is_active=False, actor=qm)
    assert AuditEvent.objects.count() == before
    assert not User.objects.get(pk=developer.pk).is_superuser
    user_update(user=developer, is_superuser=True, actor=root)
    assert User.objects.get(pk=developer.pk).is_superuser


def test_a_deactivated_users_tokens_stop_working(api_client, developer, qm):
    from tests.conftest import token_client

    client = token_client(developer, ["items"])
    assert client.get("/api/v1/me/").status_code == 200
    user_active_set(user=developer, is_active=False, actor=qm)
    assert client.get("/api/v1/me/").status_code == 401


# --- the user_role command -------------------------------------------------------------------


def run(*args: str, stdin: str | None = None, monkeypatch=None) -> str:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    out = io.StringIO()
    call_command("user_role", *args, stdout=out)
    return out.getvalue()


def test_command_creates_a_user_with_a_role(qm, monkeypatch):
    out = run(
        "alice", "developer", "--create", "--email", "alice@example.com", "--name", "Alice van Smith",
        "--password-stdin", "--as", "quinn", stdin=GOOD_PASSWORD + "\n", monkeypatch=monkeypatch,
    )  # fmt: skip
    assert out.strip() == "created alice with role developer"
    alice = User.objects.get(username="alice")
    assert (alice.first_name, alice.last_name, alice.email) == ("Alice van", "Smith", "alice@example.com")
    assert alice.check_password(GOOD_PASSWORD) and alice.is_staff
    assert roles_of("alice") == ["developer"]
    assert events("user.created")[-1].actor_username == "quinn"


def test_command_changes_roles_password_and_deactivates(developer, monkeypatch):
    assert run("dana", "quality_manager", "auditor").strip() == "dana: active, roles auditor, quality_manager"
    assert events("user.roles_changed")[-1].actor_username == "system"
    run("dana", "--password-stdin", stdin=GOOD_PASSWORD + "\n", monkeypatch=monkeypatch)
    assert User.objects.get(username="dana").check_password(GOOD_PASSWORD)
    assert run("dana", "--deactivate").strip() == "dana: deactivated, roles auditor, quality_manager"
    assert not User.objects.get(username="dana").is_active
    assert run("dana", "--activate").strip() == "dana: active, roles auditor, quality_manager"
    assert [e.action for e in AuditEvent.objects.filter(object_repr="dana").order_by("id")][-4:] == [
        "user.roles_changed",
        "user.password_set",
        "user.deactivated",
        "user.activated",
    ]


def test_command_creates_a_token_only_account(db):
    run("ci-bot", "developer", "--create", "--no-password", "--no-staff")
    bot = User.objects.get(username="ci-bot")
    assert not bot.has_usable_password() and not bot.is_staff


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["ghost", "developer"], None, "no user named 'ghost' (add --create to create it)"),
        (["alice", "wizard", "--create", "--no-password"], None, "unknown role 'wizard'"),
        (["alice", "--create", "--no-password"], None, "a user needs a role"),
        (["alice", "auditor", "--create"], None, "give the password with --password-stdin"),
        (["alice", "auditor", "--create", "--password-stdin"], "", "standard input held no password"),
        (["alice", "auditor", "--create", "--password-stdin"], "short\n", "This password is too short"),
        (["alice", "auditor", "--create", "--no-password", "--email", "nope"], None, "not a valid e-mail address"),
        (["dana", "developer", "--create", "--no-password"], None, "a user named 'dana' already exists"),
        (["dana"], None, "say what to change"),
        (["dana", "auditor", "--as", "nobody-here"], None, "no user named 'nobody-here'"),
        (["dana", "auditor", "--password-stdin"], "short\n", "This password is too short"),
    ],
)
def test_command_bad_input_fails_and_writes_nothing(developer, monkeypatch, args, stdin, message):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin or ""))
    before = (User.objects.count(), AuditEvent.objects.count(), roles_of("dana"))
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("user_role", *args, stdout=io.StringIO())
    assert (User.objects.count(), AuditEvent.objects.count(), roles_of("dana")) == before
    assert User.objects.get(username="dana").check_password("dana-pw")


def test_command_is_all_or_nothing(developer, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    before = AuditEvent.objects.count()
    with pytest.raises(CommandError, match="too short"):
        call_command("user_role", "dana", "quality_manager", "--password-stdin", stdout=io.StringIO())
    assert roles_of("dana") == ["developer"]  # the role change before the bad password was rolled back
    assert AuditEvent.objects.count() == before


# --- the admin's user pages ------------------------------------------------------------------


def staff_client(client, user):
    user.is_staff = True
    user.save()
    client.force_login(user)
    return client


def test_quality_managers_add_users_in_the_admin(client, qm):
    client = staff_client(client, qm)
    assert client.get("/admin/auth/user/add/").status_code == 200
    form = {
        "username": "alice",
        "usable_password": "true",
        "password1": GOOD_PASSWORD,
        "password2": GOOD_PASSWORD,
        "first_name": "Alice",
        "last_name": "Smith",
        "email": "alice@example.com",
        "roles": ["auditor"],
        "is_staff": "on",
    }
    response = client.post("/admin/auth/user/add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    alice = User.objects.get(username="alice")
    assert alice.check_password(GOOD_PASSWORD) and roles_of("alice") == ["auditor"]
    assert events("user.created")[-1].actor_username == "quinn"

    weak = client.post("/admin/auth/user/add/", {**form, "username": "bob", "password1": "x", "password2": "x"})
    assert weak.status_code == 200 and "This password is too short" in weak.content.decode()
    no_role = client.post("/admin/auth/user/add/", {**form, "username": "bob", "roles": []})
    assert no_role.status_code == 200 and "This field is required" in no_role.content.decode()
    assert not User.objects.filter(username="bob").exists()


def _change_form(user: User, **overrides) -> dict:
    form = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "is_staff": "on",
        "roles": sorted(user.groups.values_list("name", flat=True)),
    }
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


def test_quality_managers_change_roles_in_the_admin_through_the_service(client, qm, developer):
    client = staff_client(client, qm)
    url = f"/admin/auth/user/{developer.pk}/change/"
    page = client.get(url).content.decode()
    assert 'name="roles"' in page and 'name="is_superuser"' not in page
    response = client.post(url, _change_form(developer, roles=["quality_manager"], email="dana@example.com"))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert roles_of("dana") == ["quality_manager"]
    change = [e for e in events("user.roles_changed") if e.object_repr == "dana"][-1]
    assert (change.actor_username, change.after) == ("quinn", {"roles": ["quality_manager"]})
    assert events("user.updated")[-1].after["email"] == "dana@example.com"

    # a quality manager cannot make someone a superuser, even by posting the field
    client.post(url, _change_form(User.objects.get(pk=developer.pk), is_superuser="on"))
    assert not User.objects.get(pk=developer.pk).is_superuser

    response = client.post(url, _change_form(User.objects.get(pk=developer.pk), is_active=None))
    assert response.status_code == 302
    assert not User.objects.get(pk=developer.pk).is_active
    assert events("user.deactivated")[-1].actor_username == "quinn"


def test_quality_managers_cannot_deactivate_themselves_or_touch_superusers(client, qm):
    root = User.objects.create_superuser("root", password=GOOD_PASSWORD)
    client = staff_client(client, qm)
    before = AuditEvent.objects.count()
    own = client.post(f"/admin/auth/user/{qm.pk}/change/", _change_form(qm, is_active=None))
    assert own.status_code == 200 and "you cannot deactivate your own account" in own.content.decode()
    assert client.get(f"/admin/auth/user/{root.pk}/change/").status_code == 200  # view only
    assert client.post(f"/admin/auth/user/{root.pk}/change/", _change_form(root, roles=["auditor"])).status_code == 403
    assert client.post(f"/admin/auth/user/{root.pk}/password/", {}).status_code == 403
    assert client.post(f"/admin/auth/user/{root.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.count() == before
    assert User.objects.get(pk=qm.pk).is_active and User.objects.get(pk=root.pk).is_superuser


def test_superusers_grant_superuser_status_in_the_admin(client, developer):
    root = User.objects.create_superuser("root", password=GOOD_PASSWORD)
    client.force_login(root)
    url = f"/admin/auth/user/{developer.pk}/change/"
    assert 'name="is_superuser"' in client.get(url).content.decode()
    assert client.post(url, _change_form(developer, is_superuser="on")).status_code == 302
    assert User.objects.get(pk=developer.pk).is_superuser
    assert events("user.updated")[-1].after["is_superuser"] is True


def test_admin_password_change_goes_through_the_service(client, qm, developer):
    client = staff_client(client, qm)
    url = f"/admin/auth/user/{developer.pk}/password/"
    assert client.get(url).status_code == 200
    weak = client.post(url, {"password1": "abc", "password2": "abc", "usable_password": "true"})
    assert weak.status_code == 200 and "too short" in weak.content.decode()
    assert not events("user.password_set")
    response = client.post(url, {"password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD, "usable_password": "true"})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert User.objects.get(pk=developer.pk).check_password(GOOD_PASSWORD)
    assert events("user.password_set")[-1].actor_username == "quinn"


def test_developers_and_auditors_only_view_users(client, developer, auditor):
    for user in (developer, auditor):
        c = staff_client(client, user)
        assert c.get("/admin/auth/user/").status_code == 200
        assert c.get("/admin/auth/user/add/").status_code == 403
        before = AuditEvent.objects.count()
        response = c.post(f"/admin/auth/user/{user.pk}/change/", _change_form(user, roles=["quality_manager"]))
        assert response.status_code == 403
        assert AuditEvent.objects.count() == before
        assert roles_of(user.username) != ["quality_manager"]
