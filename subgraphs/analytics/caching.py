"""Analytics caches (the original design's Layer 4) and the Redis real-time counters.

Engagement of one student in one course lives `settings.analytics.engagement_cache_seconds` (5 min), a
course's stats `course_stats_cache_seconds` (1 h). Each cached value's key embeds a GENERATION number of
its subject — `analytics:gen:learner:<course>:<user>` / `analytics:gen:course:<course>` — that the
consumer increments after it commits an event of that student / course. A reader reads the generation
first, then the database, and stores under that generation; so a value computed from data older than
the last committed event is stored under an old generation that no reader asks for again. Deleting keys
instead would race: a reader that read the database before the commit could store its stale value after
the delete, for up to an hour. Old generations simply expire.

Real-time counter: `analytics:active:<course>:<yyyymmdd>` is a HyperLogLog of the students active in the
course that UTC day (PFADD is idempotent, so redelivery does not inflate it). `CourseStats.activeToday`
reads it (PFCOUNT) on every request, so it stays live even while the rest of the stats come from cache.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from datetime import date
from functools import lru_cache
from typing import Any, TypeVar

import orjson
from redis.asyncio import Redis

K = TypeVar("K", bound=Hashable)

GEN_TTL_SECONDS = 2 * 86400  # outlives every cached value, so a generation never restarts under a live value
ACTIVE_TTL_SECONDS = 3 * 86400


def course_gen_key(course: uuid.UUID | str) -> str:
    return f"analytics:gen:course:{course}"


def learner_gen_key(course: uuid.UUID | str, user: uuid.UUID | str) -> str:
    return f"analytics:gen:learner:{course}:{user}"


@lru_cache(maxsize=4096)  # a course-day's key is formatted for every batch that touches it
def active_key(course: uuid.UUID | str, day: date) -> str:
    return f"analytics:active:{course}:{day:%Y%m%d}"


def engagement_key(course: Any, user: Any, gen: int) -> str:
    return f"cache:analytics:engagement:{user}:{course}:{gen}"


def course_stats_key(course: Any, gen: int) -> str:
    return f"cache:analytics:course_stats:{course}:{gen}"


# One command per batch instead of two per key: redis-py packs and parses every command in Python, and
# at thousands of keys per ingested batch that was most of the consumer's CPU (docs/performance.md).
_BUMP = """
for _, key in ipairs(KEYS) do
  redis.call('INCR', key)
  redis.call('EXPIRE', key, ARGV[1])
end
"""
# KEYS: HyperLogLogs; ARGV: ttl, then for each key its members in one space-separated string (one
# argument per key rather than per member: each argument costs redis-py Python to pack).
_ADD_ACTIVE = """
for i, key in ipairs(KEYS) do
  local members = {}
  for member in string.gmatch(ARGV[i + 1], '%S+') do
    members[#members + 1] = member
    if #members == 1000 then  -- unpack's limit is Lua's C stack (~8,000 values)
      redis.call('PFADD', key, unpack(members))
      members = {}
    end
  end
  if #members > 0 then redis.call('PFADD', key, unpack(members)) end
  redis.call('EXPIRE', key, ARGV[1])
end
"""


async def invalidate(
    redis: Redis,
    *,
    learners: Iterable[tuple[uuid.UUID, uuid.UUID]] = (),
    courses: Iterable[uuid.UUID] = (),
) -> None:
    keys = [learner_gen_key(c, u) for c, u in learners] + [course_gen_key(c) for c in courses]
    if keys:
        await redis.register_script(_BUMP)(keys=keys, args=[GEN_TTL_SECONDS])


async def mark_active(redis: Redis, active: Iterable[tuple[uuid.UUID, date, uuid.UUID]]) -> None:
    """Count each (course, day, user) in the course's active-students HyperLogLog of that day."""
    members: dict[tuple[uuid.UUID, date], list[str]] = {}
    for course, day, user in active:
        members.setdefault((course, day), []).append(str(user))
    if not members:
        return
    keys = [active_key(course, day) for course, day in members]
    args: list[Any] = [ACTIVE_TTL_SECONDS, *(" ".join(users) for users in members.values())]
    await redis.register_script(_ADD_ACTIVE)(keys=keys, args=args)


async def cached_many(
    redis: Redis,
    items: Sequence[K],
    *,
    gen_key: Callable[[K], str],
    value_key: Callable[[K, int], str],
    ttl_seconds: int,
    compute: Callable[[list[K]], Awaitable[dict[K, Any]]],
) -> dict[K, Any]:
    """Values of `items` (JSON-able), from cache where fresh, else computed together in one call and cached.
    Two Redis round trips on a full hit; misses add one `compute` and one pipelined write."""
    items = list(dict.fromkeys(items))
    if not items:
        return {}
    gens = [int(g) if g is not None else 0 for g in await redis.mget([gen_key(i) for i in items])]
    keys = [value_key(i, g) for i, g in zip(items, gens, strict=True)]
    found: dict[K, Any] = {}
    missing: list[tuple[K, str]] = []
    for item, key, raw in zip(items, keys, await redis.mget(keys), strict=True):
        if raw is None:
            missing.append((item, key))
        else:
            found[item] = orjson.loads(raw)
    if missing:
        computed = await compute([item for item, _ in missing])
        async with redis.pipeline(transaction=False) as pipe:
            for item, key in missing:
                value = computed.get(item)
                found[item] = value
                if value is not None:
                    pipe.set(key, orjson.dumps(value), ex=ttl_seconds)
            await pipe.execute()
    return found
