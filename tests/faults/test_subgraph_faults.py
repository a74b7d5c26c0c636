"""A subgraph stopped gracefully or killed under traffic through the real router (issue 16).

- SIGTERM (a rolling restart): uvicorn stops accepting, finishes the requests in flight, then exits; no
  request that reached the subgraph fails. Requests sent while it is down never reach it: the router
  answers them with a coded error.
- kill -9 mid-request: the router still answers the other subgraphs' fields, with a coded error for the
  missing ones; once the subgraph is back, every flow works again without a manual step.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from tests.e2e.helpers import signed_in_student

pytestmark = pytest.mark.e2e

COURSES_ONLY = "{ courses(first: 5) { nodes { id } } }"
# Fields of users (me) and of courses (course: nullable, so its error leaves the rest of the data).
ACROSS = '{ me { id fullName } course(id: "00000000-0000-4000-8000-000000000000") { id } }'


def never_reached(body: dict) -> bool:
    """The router could not connect to the subgraph (router/gateway.config.ts `maskError`): refused."""
    return all(
        error.get("extensions", {}).get("code") == "SUBGRAPH_UNAVAILABLE"
        and error["extensions"].get("retryable") is True
        for error in body["errors"]
    )


async def _token(platform, unique_email) -> str:  # noqa: ANN001
    from tests.conftest import GraphQLClient

    async with platform.client() as http:
        return await signed_in_student(GraphQLClient(http), unique_email)


async def _steady_load(platform, token: str, stop: asyncio.Event, results: list) -> None:  # noqa: ANN001
    headers = {"Authorization": f"Bearer {token}"}
    async with platform.client() as http:
        while not stop.is_set():
            response = await http.post("/graphql", json={"query": COURSES_ONLY}, headers=headers)
            results.append((time.monotonic(), response.status_code, response.json()))


async def _until(condition, timeout: float, what: str) -> float:  # noqa: ANN001
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"not within {timeout}s: {what}"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_a_subgraph_restarted_under_steady_load_fails_no_request_that_reached_it(
    fault_platform, unique_email
):
    token = await _token(fault_platform, unique_email)
    results: list = []
    stop = asyncio.Event()
    clients = [asyncio.create_task(_steady_load(fault_platform, token, stop, results)) for _ in range(4)]
    try:
        await _until(lambda: len(results) >= 20, 30, "steady load")
        before = len(results)
        started = time.monotonic()
        await fault_platform.supervisor.restart("courses")
        restarted = time.monotonic() - started
        await _until(lambda: len(results) >= before + 40, 30, "load after the restart")
    finally:
        stop.set()
        await asyncio.gather(*clients)
    failed = [(status, body) for _, status, body in results if body.get("errors")]
    reached = [(status, body) for status, body in failed if not never_reached(body)]
    print(
        f"\nrestart of courses took {restarted:.2f} s under load; {len(results)} requests, "
        f"{len(failed)} refused while it was down, {len(reached)} failed otherwise"
    )
    assert all(error.get("extensions", {}).get("code") for _, body in failed for error in body["errors"])
    assert reached == []


async def test_a_killed_subgraph_leaves_the_others_answering_and_comes_back(fault_platform, unique_email):
    token = await _token(fault_platform, unique_email)
    headers = {"Authorization": f"Bearer {token}"}
    supervisor = fault_platform.supervisor
    async with fault_platform.client() as http:
        in_flight = asyncio.create_task(http.post("/graphql", json={"query": ACROSS}, headers=headers))
        os.kill(supervisor.pid("courses"), signal.SIGKILL)
        killed_at = time.monotonic()
        await in_flight  # whatever it got, the router answered it
        down = (await http.post("/graphql", json={"query": ACROSS}, headers=headers)).json()
        assert down["data"]["me"]["id"] and down["data"]["me"]["fullName"] == "Student", down
        assert down["errors"] and all(e["extensions"]["code"] for e in down["errors"]), down
        print(f"\nwhile courses is down the router answers: {down['errors'][0]}")

        await supervisor.restart("courses")

        async def works() -> bool:
            body = (await http.post("/graphql", json={"query": ACROSS}, headers=headers)).json()
            return not body.get("errors") and body["data"]["me"]["id"] is not None

        while not await works():
            assert time.monotonic() - killed_at < 30, "courses did not come back within 30 s"
            await asyncio.sleep(0.1)
        print(f"courses answering again {time.monotonic() - killed_at:.2f} s after kill -9")
