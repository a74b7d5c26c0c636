"""Ingestion: exactly-once effects under at-least-once delivery (a consumer killed between read and ack),
order-safety, lab time from events.labs, partitions, and exactly one alert per rise to HIGH."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select, text

from subgraphs.analytics.ingest import AnalyticsConsumer, Partitions, analytics_streams, ingest
from subgraphs.analytics.models import (
    ActivityEvent,
    Course,
    CourseDay,
    Learner,
    LearnerDay,
    RiskAlert,
    UserActivity,
)
from subgraphs.core.db import utcnow
from subgraphs.core.events import ConsumedEvent, ConsumedLedger, Event, stream_fields, stream_name
from subgraphs.core.live import LiveHub
from tests.subgraphs.analytics.events import Student


def private_stream() -> str:
    return f"events.analytics-test-{uuid.uuid4().hex[:10]}"


async def learner(runtime, s: Student) -> Learner | None:
    async with runtime.transaction() as session:
        return await session.get(Learner, (uuid.UUID(s.course_id), uuid.UUID(s.user_id)))


async def raw_count(runtime, event_id) -> int:
    async with runtime.transaction() as session:
        return await session.scalar(select(func.count()).where(ActivityEvent.id == event_id))


async def apply(runtime, *events: Event) -> int:
    return await ingest(
        runtime.sessionmaker, runtime.redis, LiveHub(runtime.redis), Partitions(), list(events)
    )


def test_the_consumer_reads_every_domain_and_labs():
    streams = analytics_streams()
    assert stream_name("labs") in streams and stream_name("courses") in streams
    assert stream_name("analytics") in streams and len(streams) == len(set(streams))


@pytest.mark.parametrize("crash", ["after_read", "after_commit"])
async def test_consumer_killed_between_read_and_ack_loses_and_doubles_nothing(analytics_runtime, crash):
    redis, stream = analytics_runtime.redis, private_stream()
    s = Student()
    dead = AnalyticsConsumer(
        redis, analytics_runtime.sessionmaker, streams=(stream,), name="dies", block_ms=10
    )
    await dead.ensure_groups()
    event = s.quiz(3, 4, True)
    await redis.xadd(stream, stream_fields(event))  # what the relay writes

    # Consumer A reads the message (now pending for A) and dies before acking it ...
    [[_, [(message_id, fields)]]] = await redis.xreadgroup(dead.group, dead.name, {stream: ">"}, count=1)
    if crash == "after_commit":  # ... possibly after its transaction committed.
        await dead.handle(Event.model_validate(orjson.loads(fields[b"event"])))
        assert (await learner(analytics_runtime, s)).quiz_attempts == 1
    else:
        assert await learner(analytics_runtime, s) is None
    pending = await redis.xpending_range(stream, dead.group, min="-", max="+", count=10)
    assert [(p["message_id"], p["consumer"]) for p in pending] == [(message_id, b"dies")]

    # Consumer B re-claims what A left pending and applies it: once.
    survivor = AnalyticsConsumer(
        redis,
        analytics_runtime.sessionmaker,
        streams=(stream,),
        name="survives",
        block_ms=10,
        claim_idle_ms=0,
    )
    assert await survivor.consume_once(block_ms=10) == 1
    row = await learner(analytics_runtime, s)
    assert (row.quiz_attempts, row.quiz_percent_sum, row.quizzes_passed, row.events) == (1, 75.0, 1, 1)
    assert await raw_count(analytics_runtime, event.id) == 1
    assert await redis.xpending_range(stream, dead.group, min="-", max="+", count=10) == []
    # The dedupe marker gone (TTL) and the relay publishing again: still once.
    await redis.delete(f"consumed:{survivor.group}:{event.id}")
    await redis.xadd(stream, stream_fields(event))
    assert await survivor.consume_once(block_ms=10) == 1
    assert (await learner(analytics_runtime, s)).quiz_attempts == 1
    async with analytics_runtime.transaction() as session:
        day = await session.get(CourseDay, (uuid.UUID(s.course_id), event.occurred_at.date()))
    assert (day.quiz_submissions, day.active_students, day.events) == (1, 1, 1)
    await redis.delete(stream)


async def test_the_same_event_twice_in_one_batch_counts_once(analytics_runtime):
    s = Student()
    event = s.lesson(50)
    assert await apply(analytics_runtime, event, event) == 1
    row = await learner(analytics_runtime, s)
    assert (row.lessons_completed, row.progress_percent) == (1, 50)


async def test_one_students_events_in_a_batch_add_up_and_duplicates_count_once(analytics_runtime):
    """Several events of one student in one batch (aggregated in SQL from the raw insert's RETURNING):
    counters add, the latest progress wins whatever the order, a duplicate in the batch and the whole batch
    delivered again count once; active days, course days and sign-ins likewise."""
    s = Student()
    day1 = (utcnow() - timedelta(days=2)).replace(hour=12, minute=0, second=0, microsecond=0)
    day2 = day1 + timedelta(days=1)
    later_lesson = s.lesson(60, day2)  # delivered before the earlier one
    login = Event(
        type="users.auth.login_succeeded",
        occurred_at=day2,
        subject_ids={"user_id": s.user_id},
        payload={"session_id": str(uuid.uuid4())},
    )
    batch = [
        s.enrollment("created", day1),
        later_lesson,
        s.lesson(30, day1 + timedelta(minutes=1)),
        s.quiz(3, 4, True, day1 + timedelta(minutes=2)),
        later_lesson,
        s.quiz(1, 4, False, day2 + timedelta(minutes=1)),
        s.lab("started", at=day2 + timedelta(minutes=2)),
        s.lab("stopped", 1200.0, at=day2 + timedelta(minutes=3)),
        login,
    ]
    assert await apply(analytics_runtime, *batch) == 8
    old_lesson = s.lesson(90, day1 + timedelta(minutes=5))  # older than the latest: progress stays
    assert await apply(analytics_runtime, *batch, old_lesson) == 1

    row = await learner(analytics_runtime, s)
    assert (row.events, row.lessons_completed, row.progress_percent, row.progress_as_of) == (8, 3, 60, day2)
    assert (row.quiz_attempts, row.quiz_percent_sum, row.quizzes_passed) == (2, 100.0, 1)
    assert (row.lab_sessions, row.lab_sessions_ended, row.lab_sessions_failed, row.lab_seconds) == (
        1,
        1,
        0,
        1200.0,
    )
    assert (row.status, row.enrolled_at, row.enrollment_id) == ("ACTIVE", day1, uuid.UUID(s.enrollment_id))
    assert row.last_activity_at == day2 + timedelta(minutes=2)  # a stopped lab is not activity
    course, user = uuid.UUID(s.course_id), uuid.UUID(s.user_id)
    async with analytics_runtime.transaction() as session:
        days = (
            await session.scalars(
                select(LearnerDay.day).where(LearnerDay.course_id == course, LearnerDay.user_id == user)
            )
        ).all()
        assert sorted(days) == [day1.date(), day2.date()]
        first = await session.get(CourseDay, (course, day1.date()))
        second = await session.get(CourseDay, (course, day2.date()))
        activity = await session.get(UserActivity, user)
    counters = ("events", "active_students", "lesson_completions", "quiz_submissions", "lab_seconds")
    assert [getattr(first, c) for c in counters] == [4, 1, 2, 1, 0.0]
    assert [getattr(second, c) for c in counters] == [4, 1, 1, 1, 1200.0]
    assert (activity.logins, activity.last_login_at) == (1, day2)


async def test_states_move_forward_only_whatever_the_delivery_order(analytics_runtime):
    s = Student()
    t0 = utcnow() - timedelta(minutes=10)
    # dropped (later) arrives before created (earlier); progress 100 (later) before 50 (earlier)
    await apply(
        analytics_runtime,
        s.enrollment("dropped", t0 + timedelta(minutes=5)),
        s.lesson(100, t0 + timedelta(minutes=3)),
    )
    await apply(analytics_runtime, s.enrollment("created", t0), s.lesson(50, t0 + timedelta(minutes=1)))
    row = await learner(analytics_runtime, s)
    assert row.status == "DROPPED"
    assert (row.progress_percent, row.lessons_completed) == (100, 2)
    assert row.enrolled_at == t0 and row.enrollment_id == uuid.UUID(s.enrollment_id)
    assert row.last_activity_at == t0 + timedelta(minutes=3)  # dropping is not activity

    # A course renamed, then an older event of it delivered late: the newer title stays.
    await apply(analytics_runtime, s.course("updated", t0 + timedelta(minutes=2), title="New"))
    await apply(analytics_runtime, s.course("published", t0, title="Old"))
    async with analytics_runtime.transaction() as session:
        assert (await session.get(Course, uuid.UUID(s.course_id))).title == "New"


async def test_lab_time_from_events_labs_as_the_relay_publishes_them(analytics_runtime, pipeline):
    s = Student()
    session_id = str(uuid.uuid4())
    for event in (
        s.lab("started", session_id=session_id),
        s.lab("paused", 1200.0, session_id=session_id),
        s.lab("resumed", session_id=session_id),
        s.lab("stopped", 600.0, session_id=session_id),
        s.lab("started"),
        s.lab("failed", 300.0),
    ):
        await pipeline.publish_lab_event(event)

    async def done(session):
        row = await session.get(Learner, (uuid.UUID(s.course_id), uuid.UUID(s.user_id)))
        return row if row is not None and row.events == 6 else None

    row = await pipeline.until(done)
    assert row.lab_seconds == 2100.0
    assert (row.lab_sessions, row.lab_sessions_ended, row.lab_sessions_failed) == (2, 2, 1)


async def test_an_event_of_a_month_without_partition_gets_one(analytics_runtime):
    s = Student()
    old = utcnow().replace(year=2019, month=3, day=5)
    await apply(analytics_runtime, s.lesson(10, old))
    async with analytics_runtime.transaction() as session:
        part = await session.scalar(text("SELECT to_regclass('analytics.activity_event_2019_03')::text"))
        rows = await session.scalar(text("SELECT count(*) FROM analytics.activity_event_2019_03"))
    assert part == "analytics.activity_event_2019_03" and rows >= 1


async def alerts(runtime, s: Student) -> list[dict[str, Any]]:
    async with runtime.transaction() as session:
        rows = await session.scalars(select(RiskAlert).where(RiskAlert.stream_id == uuid.UUID(s.course_id)))
        return [r.data for r in rows]


async def test_a_rise_to_high_records_exactly_one_alert(analytics_runtime):
    s = Student()
    await apply(analytics_runtime, s.course(), s.enrollment("created"))
    assert (await learner(analytics_runtime, s)).risk_level == "LOW"
    first = s.quiz(1, 4, False)
    await apply(analytics_runtime, first)  # proficiency 25 * 0.6 / 0.8 = 18.75 -> MEDIUM
    assert (await learner(analytics_runtime, s)).risk_level == "MEDIUM"
    second = s.quiz(0, 4, False)
    await apply(analytics_runtime, second, second)  # two failed attempts -> HIGH, delivered twice
    await apply(analytics_runtime, second)
    assert (await learner(analytics_runtime, s)).risk_level == "HIGH"
    [alert] = await alerts(analytics_runtime, s)
    assert (alert["user_id"], alert["level"], alert["previous_level"]) == (s.user_id, "HIGH", "MEDIUM")
    contributing = sorted(i["name"] for i in alert["indicators"] if i["contributes"])
    assert contributing == ["failed_quiz_attempts", "proficiency_score"]
    # Still HIGH on the next failure: no new alert.
    await apply(analytics_runtime, s.quiz(0, 4, False))
    assert len(await alerts(analytics_runtime, s)) == 1


async def test_the_sweep_raises_long_inactive_students_to_high_once(analytics_runtime):
    from subgraphs.analytics.ingest import sweep_risks

    s = Student()
    long_ago = utcnow() - timedelta(days=15)
    await apply(
        analytics_runtime, s.course(at=long_ago), s.enrollment("created", long_ago), s.lesson(50, long_ago)
    )
    assert (await learner(analytics_runtime, s)).risk_level == "LOW"  # as of its last event

    async def sweep_all() -> None:
        after = None
        while True:
            after, _ = await sweep_risks(
                analytics_runtime.sessionmaker,
                analytics_runtime.redis,
                LiveHub(analytics_runtime.redis),
                after=after,
                limit=50,
            )
            if after is None:
                return

    await sweep_all()
    assert (await learner(analytics_runtime, s)).risk_level == "HIGH"
    [alert] = await alerts(analytics_runtime, s)
    assert [i["name"] for i in alert["indicators"] if i["contributes"]][0] == "days_inactive"
    await sweep_all()
    assert len(await alerts(analytics_runtime, s)) == 1


def retrying_consumer(runtime, stream: str, **options) -> AnalyticsConsumer:
    """A consumer of `stream` that retries a failed event at once, dead-lettering it on a second failure."""
    return AnalyticsConsumer(
        runtime.redis,
        runtime.sessionmaker,
        streams=(stream,),
        name="c",
        block_ms=10,
        claim_idle_ms=0,
        max_attempts=2,
        **options,
    )


async def test_a_bad_event_in_a_batch_does_not_block_the_others(analytics_runtime):
    redis, stream = analytics_runtime.redis, private_stream()
    good, bad = Student(), Student()
    poison = bad.quiz(1, 4, True)
    poison.payload["score"] = "not a number"
    consumer = retrying_consumer(analytics_runtime, stream)
    await consumer.ensure_groups()
    for event in (good.lesson(10), poison, good.lesson(20)):
        await redis.xadd(stream, stream_fields(event))
    assert await consumer.consume_once(block_ms=10) == 2  # the batch failed; one by one, two went in
    row = await learner(analytics_runtime, good)
    assert (row.lessons_completed, row.progress_percent) == (2, 20)
    assert await learner(analytics_runtime, bad) is None
    await consumer.consume_once(block_ms=10)  # second failure: dead-lettered and acked
    assert await redis.xlen("deadletter.analytics") >= 1
    assert await redis.xpending_range(stream, consumer.group, min="-", max="+", count=10) == []
    await redis.delete(stream)


async def confirmed(runtime, *events: Event) -> set[uuid.UUID]:
    async with runtime.transaction() as session:
        found = await session.scalars(
            select(ConsumedEvent.event_id).where(
                ConsumedEvent.group_name == "analytics", ConsumedEvent.event_id.in_([e.id for e in events])
            )
        )
        return set(found)


async def test_the_ledger_confirms_a_batch_with_it_and_never_a_failed_one(analytics_runtime):
    """The batch's ledger rows are written in the batch's transaction: an event ignored by analytics is
    confirmed too, and a failed batch confirms nothing but what the one-by-one retry then applies."""
    redis, stream = analytics_runtime.redis, private_stream()
    consumer = retrying_consumer(
        analytics_runtime, stream, ledger=ConsumedLedger(analytics_runtime.sessionmaker)
    )
    await consumer.ensure_groups()
    s, bad = Student(), Student()
    ignored = Event(type="organizations.organization.updated", payload={})
    batch = [s.lesson(10), ignored, s.lesson(20)]
    for event in batch:
        await redis.xadd(stream, stream_fields(event))
    assert await consumer.consume_once(block_ms=10) == 3
    assert await confirmed(analytics_runtime, *batch) == {e.id for e in batch}
    assert (await learner(analytics_runtime, s)).lessons_completed == 2

    poison = bad.quiz(1, 4, True)
    poison.payload["score"] = "not a number"
    good = s.lesson(30)
    for event in (poison, good):
        await redis.xadd(stream, stream_fields(event))
    assert await consumer.consume_once(block_ms=10) == 1  # the batch failed; one by one, one went in
    assert await confirmed(analytics_runtime, poison, good) == {good.id}
    assert (await learner(analytics_runtime, s)).lessons_completed == 3
    await redis.delete(stream)


async def pending_events(runtime, stream: str, group: str) -> list[bytes]:
    pending = await runtime.redis.xpending_range(stream, group, min="-", max="+", count=100)
    return [p["message_id"] for p in pending]


async def test_a_pipelined_backlog_acks_each_batch_after_its_commit_and_never_a_failed_one(analytics_runtime):
    """`batch_size` 2: a backlog of three reads, applied in one `consume_once` with two batches in flight.
    The second batch fails in the database after its raw insert (a progress beyond PostgreSQL's integer):
    it is rolled back, neither confirmed nor acked; its good event gets in one by one, the bad one stays
    pending, and its redelivery is applied (or dead-lettered) once, the others never again."""
    redis, stream = analytics_runtime.redis, private_stream()
    consumer = retrying_consumer(
        analytics_runtime, stream, batch_size=2, ledger=ConsumedLedger(analytics_runtime.sessionmaker)
    )
    await consumer.ensure_groups()
    s, bad = Student(), Student()
    poison = bad.lesson(2**40)  # valid for its contract; PostgreSQL's integer column refuses it
    events = [s.lesson(10), s.lesson(20), poison, s.lesson(30), s.lesson(40)]
    ids = [await redis.xadd(stream, stream_fields(e)) for e in events]
    assert await consumer.consume_once(block_ms=10) == 4  # every read of the backlog, the bad one aside
    row = await learner(analytics_runtime, s)
    assert (row.lessons_completed, row.progress_percent, row.events) == (4, 40, 4)
    assert await learner(analytics_runtime, bad) is None
    assert await raw_count(analytics_runtime, poison.id) == 0
    assert await confirmed(analytics_runtime, *events) == {e.id for e in events if e is not poison}
    assert await pending_events(analytics_runtime, stream, consumer.group) == [ids[2]]

    await consumer.consume_once(block_ms=10)  # redelivered (claimed), fails again: dead-lettered, acked
    assert await pending_events(analytics_runtime, stream, consumer.group) == []
    assert (await learner(analytics_runtime, s)).lessons_completed == 4
    await redis.delete(stream)


async def test_an_event_in_two_batches_in_flight_counts_once(analytics_runtime):
    """Delivered twice, in two batches whose transactions overlap: the raw insert of the second waits for
    the first's key and then skips the event (the dedupe holds across the pipeline)."""
    redis, stream = analytics_runtime.redis, private_stream()
    consumer = retrying_consumer(analytics_runtime, stream, batch_size=2)
    await consumer.ensure_groups()
    s = Student()
    first, second, third = s.lesson(10), s.lesson(20), s.lesson(30)
    for event in (first, second, first, third, second):
        await redis.xadd(stream, stream_fields(event))
    assert await consumer.consume_once(block_ms=10) == 5
    row = await learner(analytics_runtime, s)
    assert (row.lessons_completed, row.progress_percent, row.events) == (3, 30, 3)
    assert [await raw_count(analytics_runtime, e.id) for e in (first, second, third)] == [1, 1, 1]
    assert await pending_events(analytics_runtime, stream, consumer.group) == []
    await redis.delete(stream)


async def test_active_students_are_counted_per_course_and_day_once_each(analytics_runtime):
    from subgraphs.analytics import caching

    redis, course, other = analytics_runtime.redis, uuid.uuid4(), uuid.uuid4()
    today, users = utcnow().date(), [uuid.uuid4() for _ in range(3)]
    active = {(course, today, u) for u in users} | {(other, today, users[0])}
    await caching.mark_active(redis, active)
    await caching.mark_active(redis, {(course, today, users[1])})  # again (a redelivery): no change
    keys = [caching.active_key(course, today), caching.active_key(other, today)]
    assert [await redis.pfcount(k) for k in keys] == [3, 1]
    assert 0 < await redis.ttl(keys[0]) <= caching.ACTIVE_TTL_SECONDS
    await redis.delete(*keys)


async def test_active_students_of_one_course_day_beyond_luas_unpack_limit_are_all_counted(analytics_runtime):
    from subgraphs.analytics import caching

    redis, course, today = analytics_runtime.redis, uuid.uuid4(), utcnow().date()
    await caching.mark_active(redis, {(course, today, uuid.uuid4()) for _ in range(10_000)})
    key = caching.active_key(course, today)
    assert abs(await redis.pfcount(key) - 10_000) < 200  # HyperLogLog: within its ~0.81 % standard error
    await redis.delete(key)
