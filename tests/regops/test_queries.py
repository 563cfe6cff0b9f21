"""Query budgets of the RegOps lists: one row and many cost the same queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from regops.services.decisions import gate_decide
from regops.services.environments import environment_create
from tests.conftest import token_client
from tests.regops.test_gates import APP, DOCS, SMOKE_OK, bolus, deployed  # noqa: F401

pytestmark = pytest.mark.django_db

LISTS = ("deployments/", "gate-decisions/", "environments/", "running/")


def queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/api/v1/products/RPT/{path}")
    assert response.status_code == 200, response.content
    return len(captured)


def history(bolus, actor, n: int) -> None:  # noqa: F811
    for i in range(n):
        gate_decide(environment=bolus["staging"], actor=actor, digests=[APP])
        deployed(bolus["staging"], actor, SMOKE_OK, external_id=f"run-{i}")
        deployed(bolus["qa"], actor, SMOKE_OK, digests=(APP, DOCS), external_id=f"qa-{i}")


@pytest.mark.parametrize("path", LISTS)
def test_one_row_and_many_cost_the_same_queries(bolus, qm, developer, path):  # noqa: F811
    client = token_client(developer, ["evidence"])
    history(bolus, qm, 1)
    queries(client, path)  # the token's first use is written once
    few = queries(client, path)
    history(bolus, qm, 1)
    for key in ("dev", "int", "edge"):
        environment_create(product=bolus["product"], key=key, name=key, tier="development", actor=qm)
    history(bolus, qm, 6)
    assert queries(client, path) == few
    assert few <= 12
