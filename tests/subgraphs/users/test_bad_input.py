"""Issue 13 item 6 on the users subgraph over HTTP: NUL bytes in a login email or a full name are
BAD_USER_INPUT naming the argument (they answered "Unexpected error." before)."""

from __future__ import annotations

import pytest

from tests.conftest import TEST_PASSWORD
from tests.subgraphs.courses.test_bad_input import refused
from tests.subgraphs.users.test_auth_flow import LOGIN, REGISTER

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")


async def test_nul_in_login_email_and_full_name(gql, unique_email):
    login = await gql(
        LOGIN, {"input": {"email": "a\x00@learners.coursegraph.dev", "password": TEST_PASSWORD}}
    )
    assert "NUL" in refused(login, "input.email")
    register = await gql(
        REGISTER, {"input": {"email": unique_email(), "password": TEST_PASSWORD, "fullName": "Ann\x00"}}
    )
    assert "NUL" in refused(register, "input.fullName")
