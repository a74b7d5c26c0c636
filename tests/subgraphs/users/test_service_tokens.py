"""POST /internal/service-token (core.service_tokens): a platform worker's short-lived token, bound to one
organization and the service scopes; refused without the platform's service secret."""

from __future__ import annotations

import uuid

from subgraphs.core import service_tokens


async def test_a_worker_gets_a_scoped_token_bound_to_one_organization(http, runtime, settings):
    organization = str(uuid.uuid4())
    response = await http.post(
        service_tokens.PATH,
        json={"service": "content", "organization_id": organization, "scopes": ["view_courses"]},
        headers={service_tokens.HEADER: service_tokens.service_secret(settings)},
    )
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    principal = await runtime.verifier.verify(response.json()["access_token"])
    assert principal.kind == "client" and principal.subject == "service:content"
    assert principal.organization_ids == (organization,) and principal.scopes == frozenset({"view_courses"})


async def test_without_the_secret_or_beyond_the_service_scopes_it_is_refused(http, settings):
    body = {"service": "content", "organization_id": str(uuid.uuid4()), "scopes": ["view_courses"]}
    assert (await http.post(service_tokens.PATH, json=body)).status_code == 403
    wrong = {service_tokens.HEADER: "x" * 64}
    assert (await http.post(service_tokens.PATH, json=body, headers=wrong)).status_code == 403
    right = {service_tokens.HEADER: service_tokens.service_secret(settings)}
    for bad in (
        {**body, "scopes": ["manage_organization"]},
        {**body, "scopes": []},
        {**body, "service": "someone"},
        {**body, "organization_id": "not-an-id"},
    ):
        assert (await http.post(service_tokens.PATH, json=bad, headers=right)).status_code == 400, bad
