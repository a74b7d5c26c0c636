"""Shared steps of the end-to-end tests."""

from __future__ import annotations

from sqlalchemy import update

from tests.conftest import TEST_PASSWORD
from tests.subgraphs.users.test_auth_flow import LOGIN, REGISTER


async def signed_in_student(gql, unique_email, *, verified: bool = True) -> str:
    """Register through `gql` and sign in; returns the access token."""
    email = unique_email("student")
    await gql(REGISTER, {"input": {"email": email, "password": TEST_PASSWORD, "fullName": "Student"}})
    body = await gql(LOGIN, {"input": {"email": email, "password": TEST_PASSWORD}})
    return body["data"]["login"]["accessToken"]


async def promote(runtime, email: str, role: str) -> None:
    from subgraphs.users.models import User

    async with runtime.transaction() as session:
        await session.execute(update(User).where(User.email == email).values(role=role))
