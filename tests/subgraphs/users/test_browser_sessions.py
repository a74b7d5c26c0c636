"""Browser-session routes of the users subgraph in production (the rest is tested through the router in
tests/e2e/test_web_app_through_router.py): the cookie is Secure, and only the router may call them."""

from __future__ import annotations

from subgraphs.core.app import ROUTER_SECRET_HEADER
from tests.conftest import TEST_PASSWORD
from tests.subgraphs.users.test_auth_flow import REGISTER
from tests.subgraphs.users.test_graphql_protections import prod_http, production_app  # noqa: F401 (fixtures)

CSRF = {"X-CourseGraph-CSRF": "1"}


async def test_production_cookie_is_secure_and_only_the_router_may_ask(
    prod_http,  # noqa: F811 - the imported fixture
    production_app,  # noqa: F811
    gql,
    unique_email,
):
    email = unique_email("secure-cookie")
    body = await gql(REGISTER, {"input": {"email": email, "password": TEST_PASSWORD, "fullName": "S"}})
    assert body["data"]["register"]["__typename"] == "MessageSuccess", body
    credentials = {"email": email, "password": TEST_PASSWORD}

    direct = await prod_http.post("/auth/login", json=credentials, headers=CSRF)
    assert direct.status_code == 403 and "set-cookie" not in direct.headers

    router = {**CSRF, ROUTER_SECRET_HEADER: production_app.state.test_router_secret}
    response = await prod_http.post("/auth/login", json=credentials, headers=router)
    assert response.status_code == 200, response.text
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("cg_refresh=") and "; Secure" in cookie and "; HttpOnly" in cookie, cookie
    prod_http.cookies.clear()
    cleared = await prod_http.post("/auth/logout", headers={**router, "Cookie": cookie.split(";")[0]})
    assert cleared.status_code == 204 and "Max-Age=0; Secure" in cleared.headers["set-cookie"]
