"""Records the events the real services emit, for the event contract test (a pytest plugin and a script).

    COURSEGRAPH_RECORD_EVENTS=/tmp/events.jsonl uv run pytest -p tests.contracts.record_events tests/subgraphs
    uv run python -m tests.contracts.record_events /tmp/events.jsonl  # writes recorded_events.json

As a plugin, it appends every event passed to `subgraphs.core.events.emit` (its envelope, as JSON) to the
file named by COURSEGRAPH_RECORD_EVENTS. It must load before the services import `emit` (`-p` does): it
replaces the module attribute at import. As a script, it keeps a few payloads of each event type (the
distinct sets of keys first) in recorded_events.json, which test_event_contracts.py parses and round-trips.
The committed sample was recorded from the services as they were before payloads were typed: it pins the
wire format.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import orjson

import subgraphs.core.events as events

SAMPLE = Path(__file__).with_name("recorded_events.json")
PER_TYPE = 3
MAX_BYTES = 4000  # a larger payload is kept only when it is the type's only one

_path = os.environ.get("COURSEGRAPH_RECORD_EVENTS")
_emit = events.emit


def _recording_emit(session: Any, outbox: Any, event: events.Event) -> events.Event:
    if _path:
        with open(_path, "ab") as f:
            f.write(orjson.dumps(event.model_dump(mode="json")) + b"\n")
    return _emit(session, outbox, event)


events.emit = _recording_emit


def sample(lines: list[bytes]) -> list[dict[str, Any]]:
    """Up to PER_TYPE payloads per type: each new set of keys, then other small payloads."""
    chosen: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        envelope = orjson.loads(line)
        entry = {"type": envelope["type"], "version": envelope["version"], "payload": envelope["payload"]}
        kept = chosen.setdefault(entry["type"], [])
        if len(kept) >= PER_TYPE or entry in kept:
            continue
        new_keys = sorted(entry["payload"]) not in [sorted(e["payload"]) for e in kept]
        small = len(orjson.dumps(entry["payload"])) <= MAX_BYTES
        if (new_keys and (small or not kept)) or (small and not new_keys and len(kept) < PER_TYPE):
            kept.append(entry)
    return [e for t in sorted(chosen) for e in chosen[t]]


if __name__ == "__main__":
    recorded = Path(sys.argv[1]).read_bytes().splitlines()
    SAMPLE.write_bytes(orjson.dumps(sample(recorded), option=orjson.OPT_INDENT_2) + b"\n")
    print(f"{SAMPLE}: {len(orjson.loads(SAMPLE.read_bytes()))} payloads")
