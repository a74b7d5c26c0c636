"""`python -m subgraphs.tooling.cli events ...`: the dead-letter commands, run as a module against this run's
Redis (its URL is in the environment tests/conftest.py sets, which the child process inherits)."""

from __future__ import annotations

import asyncio
import sys
import uuid

import orjson

from subgraphs.core.events import Event, deadletter_stream


async def _cli(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "subgraphs.tooling.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode or 0, out.decode(), err.decode()


async def test_events_commands_list_and_replay_dead_letters_when_run_as_a_module(runtime):
    group = f"cli-{uuid.uuid4().hex[:8]}"
    stream = f"events.cli-test-{uuid.uuid4().hex[:8]}"
    event = Event(type="users.tests.cli", payload={})
    await runtime.redis.xadd(
        deadletter_stream(group),
        {
            "id": str(event.id),
            "event": orjson.dumps(event.model_dump(mode="json")),
            "stream": stream,
            "error": "boom",
        },
    )
    try:
        code, out, err = await _cli("events", "dead-letters", "--group", group)
        assert code == 0, err
        assert str(event.id) in out and "boom" in out and "1 dead-lettered event(s)" in err

        code, out, err = await _cli("events", "replay", group)
        assert code == 0, err
        assert f"replayed 1 event(s) of {group}" in out
        assert await runtime.redis.xlen(deadletter_stream(group)) == 0
        back = await runtime.redis.xrange(stream)
        assert [fields[b"id"].decode() for _, fields in back] == [str(event.id)]
    finally:
        await runtime.redis.delete(deadletter_stream(group), stream)
