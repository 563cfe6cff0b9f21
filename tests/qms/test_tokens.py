from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from qms.errors import Conflict, InvalidInput, NotFound
from qms.models import ApiToken, AuditEvent
from qms.services import token_authenticate, token_create, token_revoke
from tests.conftest import token_client
from traceability.models import Item

pytestmark = pytest.mark.django_db


def test_key_is_shown_once_and_only_its_hash_is_stored(developer):
    token, key = token_create(user=developer, name="ci", scopes=["evidence"], actor=developer)
    assert key.startswith(f"qi_{token.prefix}_")
    assert key not in token.key_hash
    assert token_authenticate(key).pk == token.pk
    assert AuditEvent.objects.filter(action="token.created", object_id=str(token.pk)).count() == 1


def test_revoked_expired_and_wrong_keys_are_refused(developer):
    token, key = token_create(user=developer, name="ci", scopes=["evidence"], actor=developer)
    with pytest.raises(NotFound):
        token_authenticate(key + "x")
    with pytest.raises(NotFound):
        token_authenticate("garbage")
    token_revoke(token=token, actor=developer)
    with pytest.raises(NotFound, match="revoked"):
        token_authenticate(key)
    with pytest.raises(Conflict):
        token_revoke(token=token, actor=developer)
    expiring, key2 = token_create(
        user=developer, name="short", scopes=[], actor=developer, expires_at=timezone.now() + timedelta(seconds=1)
    )
    ApiToken.objects.filter(pk=expiring.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(NotFound):
        token_authenticate(key2)


def test_bad_token_input_is_rejected_without_a_write(developer):
    with pytest.raises(InvalidInput, match="unknown scope 'root'"):
        token_create(user=developer, name="x", scopes=["root"], actor=developer)
    with pytest.raises(InvalidInput, match="needs a name"):
        token_create(user=developer, name=" ", scopes=[], actor=developer)
    token_create(user=developer, name="ci", scopes=[], actor=developer)
    with pytest.raises(Conflict, match="already has a token named 'ci'"):
        token_create(user=developer, name="ci", scopes=[], actor=developer)
    assert ApiToken.objects.count() == 1


def test_token_scopes_narrow_the_role(product, developer):
    evidence_only = token_client(developer, ["evidence"])
    response = evidence_only.post(
        "/api/v1/products/DEMO/items/", {"key": "SRS-1", "kind": "software_requirement", "title": "t"}, format="json"
    )
    assert response.status_code == 403
    assert "lacks the scope 'items'" in response.json()["detail"]
    assert not Item.objects.exists()

    items_token = token_client(developer, ["items"])
    response = items_token.post(
        "/api/v1/products/DEMO/items/", {"key": "SRS-1", "kind": "software_requirement", "title": "t"}, format="json"
    )
    assert response.status_code == 201
    assert AuditEvent.objects.get(action="item.created").actor_username == "dana"


def test_a_token_never_exceeds_its_users_role(auditor, product):
    client = token_client(auditor, [])
    response = client.post(
        "/api/v1/products/DEMO/items/", {"key": "SRS-1", "kind": "software_requirement", "title": "t"}, format="json"
    )
    assert response.status_code == 403
    assert not Item.objects.exists()


def test_token_api_creates_lists_and_revokes_own_tokens(api_client, developer):
    client = api_client(developer)
    response = client.post("/api/v1/tokens/", {"name": "gitlab", "scopes": ["evidence"]}, format="json")
    assert response.status_code == 201
    key = response.json()["key"]
    listed = client.get("/api/v1/tokens/").json()["results"]
    assert [t["name"] for t in listed] == ["gitlab"]
    assert "key" not in listed[0]

    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    me = bearer.get("/api/v1/me/").json()
    assert me["write_scopes"] == ["evidence"]
    assert bearer.post("/api/v1/tokens/", {"name": "escalate", "scopes": ["items"]}, format="json").status_code == 403

    response = client.post(f"/api/v1/tokens/{listed[0]['id']}/revoke/")
    assert response.status_code == 200
    assert bearer.get("/api/v1/me/").status_code == 401


def test_token_api_refuses_scopes_beyond_the_role(api_client, developer):
    response = api_client(developer).post("/api/v1/tokens/", {"name": "x", "scopes": ["approvals"]}, format="json")
    assert response.status_code == 400
    assert "approvals" in response.json()["detail"]
    assert not ApiToken.objects.exists()


def test_an_auditor_may_create_a_read_only_token_for_exports(api_client, auditor, product):
    client = api_client(auditor)
    response = client.post("/api/v1/tokens/", {"name": "export", "scopes": []}, format="json")
    assert response.status_code == 201
    assert response.json()["scopes"] == []
    assert AuditEvent.objects.filter(action="token.created", actor_username="avery").count() == 1

    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['key']}")
    assert reader.get("/api/v1/me/").json()["write_scopes"] == []
    assert reader.get("/api/v1/products/DEMO/items/").status_code == 200
    refused = reader.post(
        "/api/v1/products/DEMO/items/", {"key": "SRS-1", "kind": "software_requirement", "title": "t"}, format="json"
    )
    assert refused.status_code == 403
    assert not Item.objects.exists()


@pytest.mark.parametrize("scopes", [["items"], ["evidence"], ["catalogue", "approvals"]])
def test_an_auditor_cannot_get_a_token_that_writes(api_client, auditor, scopes):
    before = AuditEvent.objects.count()
    response = api_client(auditor).post("/api/v1/tokens/", {"name": "sneaky", "scopes": scopes}, format="json")
    assert response.status_code == 400
    assert f"the role of avery cannot write '{sorted(scopes)[0]}'" in response.json()["detail"]
    assert "an auditor's token is read-only" in response.json()["detail"]
    assert not ApiToken.objects.exists()
    assert AuditEvent.objects.count() == before


def test_the_service_caps_scopes_at_the_role_whoever_asks(auditor, no_role_user, qm):
    with pytest.raises(InvalidInput, match="the role of avery cannot write 'items'"):
        token_create(user=auditor, name="ci", scopes=["items"], actor=qm)
    with pytest.raises(InvalidInput, match="nobody has no role"):
        token_create(user=no_role_user, name="ci", scopes=[], actor=qm)
    no_role_user.is_active = False
    no_role_user.save()
    with pytest.raises(InvalidInput, match="nobody is deactivated"):
        token_create(user=no_role_user, name="ci", scopes=[], actor=qm)
    assert not ApiToken.objects.exists()
