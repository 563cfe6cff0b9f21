"""Shared fixtures: users per role, API clients, a catalogue, a small product."""

from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from qms.auth import session_marks
from qms.roles import Role
from qms.services import token_create, user_role_set
from standards.services import catalogue_load
from traceability.models import Item, Product
from traceability.services.items import item_create
from traceability.services.links import link_create
from traceability.services.products import product_create

FIXTURES = Path(settings.BASE_DIR) / "fixtures"


@pytest.fixture(autouse=True)
def audit_checkpoints(tmp_path: Path, settings: Any) -> Path:
    """Each test writes audit checkpoints to a folder of its own (they live outside the database)."""
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "audit-checkpoints"
    return settings.AUDIT_CHECKPOINT_DIR


def _test_cleanup_past_triggers() -> None:
    """On PostgreSQL the audit trail, signatures and baselines refuse TRUNCATE, and the audit chain
    head refuses direct updates (triggers). Tests that commit (``transactional_db``) are cleaned
    up by Django's flush, which truncates, and ``serialized_rollback`` writes the migrations' rows
    back (the chain head among them): there, and only there, the statements run as a replica
    session, in which ordinary triggers do not fire."""
    from django.db.backends.base.creation import BaseDatabaseCreation
    from django.db.backends.postgresql.operations import DatabaseOperations

    def as_replica(connection: Any, run: Callable[[], Any]) -> Any:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            return run()
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")

    flush = DatabaseOperations.execute_sql_flush
    deserialize = BaseDatabaseCreation.deserialize_db_from_string

    def execute_sql_flush(self: DatabaseOperations, sql_list: list[str]) -> None:
        as_replica(self.connection, lambda: flush(self, sql_list))

    def deserialize_db_from_string(self: BaseDatabaseCreation, data: str) -> None:
        as_replica(self.connection, lambda: deserialize(self, data))

    DatabaseOperations.execute_sql_flush = execute_sql_flush  # type: ignore[method-assign]
    BaseDatabaseCreation.deserialize_db_from_string = deserialize_db_from_string  # type: ignore[method-assign]


if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    _test_cleanup_past_triggers()
LAST_NAMES = {"quinn": "Manager", "dana": "Developer", "avery": "Auditor"}


def make_user(username: str, role: str | None) -> User:
    """A user with a full name (a signature prints it): Quinn Manager, Dana Developer, … Tester."""
    user = User.objects.create_user(
        username=username,
        password=f"{username}-pw",
        first_name=username.title(),
        last_name=LAST_NAMES.get(username, "Tester"),
    )
    if role:
        user_role_set(user=user, roles=[role], actor=None)
    return user


@pytest.fixture
def qm(db: Any) -> User:
    return make_user("quinn", Role.QUALITY_MANAGER)


@pytest.fixture
def developer(db: Any) -> User:
    return make_user("dana", Role.DEVELOPER)


@pytest.fixture
def auditor(db: Any) -> User:
    return make_user("avery", Role.AUDITOR)


@pytest.fixture
def no_role_user(db: Any) -> User:
    return make_user("nobody", None)


def signed_in(client: Client, user: User) -> None:
    """Give the client a signed-in session of the user, as ``force_login`` does but without the
    sign-in event (``auth.login``): tests count the audit events of what they do, not of their set-up.
    Sign-ins themselves are tested through the sign-in page (tests/qms/test_accounts.py)."""
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session_marks(session)
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        signed_in(client, user)
    return client


@pytest.fixture
def api_client() -> Callable[[User | None], APIClient]:
    return client_for


def token_client(user: User, scopes: list[str]) -> APIClient:
    _, key = token_create(user=user, name=f"token-{len(scopes)}-{'-'.join(scopes)}", scopes=scopes, actor=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def catalogue(db: Any) -> None:
    catalogue_load(directory=FIXTURES / "standards", actor=None)


@pytest.fixture
def product(db: Any, qm: User) -> Product:
    return product_create(key="DEMO", name="Demo device", safety_class="B", actor=qm)


@pytest.fixture
def make_item(product: Product, qm: User) -> Callable[..., Item]:
    def make(key: str, kind: str, **fields: Any) -> Item:
        fields.setdefault("title", f"{key} title")
        return item_create(product=product, key=key, kind=kind, actor=qm, **fields)

    return make


@pytest.fixture
def small_graph(make_item: Callable[..., Item], qm: User) -> dict[str, Item]:
    """UN-1 ← SYS-1 ← SRS-1 ← TC-1 (verifies), and RISK-1 ← RC-1 (mitigates) ← SRS-1 (implements)."""
    items = {
        "UN-1": make_item("UN-1", "user_need"),
        "SYS-1": make_item("SYS-1", "system_requirement"),
        "SRS-1": make_item("SRS-1", "software_requirement", text="The dose shall be rounded down."),
        "TC-1": make_item("TC-1", "test_case", attributes={"test_id": "tests/test_dose.py::test_round"}),
        "RISK-1": make_item(
            "RISK-1",
            "risk",
            attributes={
                "hazard": "Overdose",
                "hazardous_situation": "Too much insulin",
                "harm": "Hypoglycaemia",
                "severity": 4,
                "probability": 3,
            },
        ),
        "RC-1": make_item("RC-1", "risk_control", attributes={"control_type": "protective_measure"}),
    }
    for source, link_type, target in [
        ("SYS-1", "derives_from", "UN-1"),
        ("SRS-1", "derives_from", "SYS-1"),
        ("TC-1", "verifies", "SRS-1"),
        ("RC-1", "mitigates", "RISK-1"),
        ("SRS-1", "implements", "RC-1"),
    ]:
        link_create(source=items[source], target=items[target], link_type=link_type, actor=qm)
    return items


# The project's own pytest plugin: @pytest.mark.requirement("KEY") writes the key into the JUnit XML.
pytest_plugins = ["tools.pytest_qinterface"]
