"""The JSON API fuzzed from its own OpenAPI schema (schemathesis): signed out and signed in as
each role, no request gives a server error, and every answer keeps to the schema."""

from __future__ import annotations

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from brightspots.web.app import create_app
from conftest import WebOrg, sign_in

EXAMPLES = 30


def test_the_api_never_fails_and_keeps_to_its_schema(web_ws: WebOrg):
    app = create_app(web_ws.root)
    jars: dict[str, dict[str, str]] = {"signed out": {}}
    for role, who in (("rep", web_ws.rep), ("manager", web_ws.manager), ("admin", web_ws.admin)):
        with TestClient(app, follow_redirects=False) as c:
            assert sign_in(c, who).status_code == 303
            jars[role] = {"bs_session": c.cookies["bs_session"]}
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/v1/me", "/api/v1/reps/{rep_id}"}
    calls: list[tuple[str, int]] = []

    for op in operations:

        @given(case=op.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def fuzz(case) -> None:
            for jar in jars.values():
                response = case.call_and_validate(cookies=jar)
                calls.append((case.operation.path, response.status_code))

        fuzz()
    assert not [c for c in calls if c[1] >= 500]
    statuses = {s for _, s in calls}
    assert {200, 401, 404} <= statuses  # signed in, signed out, and someone else's
