"""The `_entities` contract of the courses subgraph and N+1 guards: statements per request do not grow
with the number of items on any list or relation."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from subgraphs.courses.catalog import archive_course
from subgraphs.courses.content import publish_lesson
from subgraphs.courses.enrollment import enroll
from subgraphs.courses.exercises import create_exercise
from tests.subgraphs.courses.queries import COURSES, DASHBOARD, ENTITIES, reps, result

# How the exported SDL sizes a connection for the router's cost estimate (core/pagination.py).
SIZED = (
    '@listSize(slicingArguments: ["first"], sizedFields: ["edges", "nodes"], requireOneSlicingArgument: true)'
)


async def statements(counting, call) -> int:
    with counting() as counter:
        await call()
    return counter.count


async def test_sdl_declares_entities_contributed_fields_and_policies(courses_gql):
    sdl = (await courses_gql("{ _service { sdl } }"))["data"]["_service"]["sdl"]
    for entity in ("Course", "Enrollment", "Exercise", "User", "Organization", "GenerationJob"):
        assert re.search(rf'type {entity} @key\(fields: "id"\)', sdl), entity
    flat = " ".join(sdl.split())
    assert re.search(
        r"enrollments\(first: Int! = 20, after: String = null\): EnrollmentConnection! "
        + re.escape(SIZED)
        + " @authenticated",
        flat,
    )
    organization = re.search(r'type Organization @key\(fields: "id"\) \{(.*?)\}', flat)
    assert (
        organization
        and "courses(first: Int! = 20, after: String = null): CourseConnection!" in organization.group(1)
    )
    assert "taughtCourses(first: Int! = 20, after: String = null): CourseConnection!" in flat
    assert "appliedCourse: Course @authenticated" in flat
    for field in ("modules", "exercises"):
        assert f"{field}(first: Int! = 20, after: String = null): " in flat, field

    def directives(field: str) -> str:
        match = re.search(
            rf"\b{field}\([^)]*\): \w+! (?:@listSize\(.*?\) )?(@authenticated @policy\(policies: \[.*?\]\))",
            flat,
        )
        assert match, field
        return match.group(1)

    assert "scope:" not in directives("createCourse")  # users only: an instructor is a person
    assert '["scope:update_courses"]' in directives("updateCourse")


async def test_entities_answer_one_per_representation_in_order(courses_gql, courses):
    school = await courses.school()
    first, second = await courses.course(school, title="First"), await courses.course(school, title="Second")
    body = await courses_gql(
        ENTITIES,
        {
            "representations": [
                {"__typename": "Course", "id": str(second.id)},
                {"__typename": "Course", "id": str(uuid.uuid4())},
                {"__typename": "Course", "id": "not-a-uuid"},
                {"__typename": "Course", "id": str(first.id)},
            ]
        },
        token=school.student.token,
    )
    assert [e and e["title"] for e in body["data"]["_entities"]] == ["Second", None, None, "First"]


async def test_enrolled_student_keeps_seeing_an_archived_course(courses_gql, courses, courses_runtime):
    school = await courses.school()
    course = await courses.course(school)
    await enroll(courses_runtime, school.student.meta, course_id=course.id)
    await archive_course(courses_runtime, school.instructor.meta, id=course.id)
    other = await courses.minter.member(school.org, "student")
    body = await courses_gql(ENTITIES, reps("Course", course.id), token=school.student.token)
    assert body["data"]["_entities"][0]["status"] == "ARCHIVED"
    body = await courses_gql(ENTITIES, reps("Course", course.id), token=other.token)
    assert body["data"]["_entities"] == [None]


async def _dashboard_world(courses, courses_runtime, n: int):
    school = await courses.school()
    for i in range(n):
        course = await courses.course(school, title=f"Course {i}", lessons=2)
        await create_exercise(courses_runtime, school.instructor.meta, course_id=course.id, title="Ex")
        await enroll(courses_runtime, school.student.meta, course_id=course.id)
    return school


async def test_student_dashboard_statements_do_not_grow_with_enrollments(
    courses_gql, courses, courses_runtime, courses_count_queries
):
    results, counts = {}, {}
    for n in (5, 50):
        school = await _dashboard_world(courses, courses_runtime, n)

        async def dashboard(school=school, n=n) -> None:
            body = await courses_gql(DASHBOARD, reps("User", school.student.id), token=school.student.token)
            assert "errors" not in body, body
            results[n] = body["data"]["_entities"][0]["enrollments"]["edges"]

        counts[n] = await statements(courses_count_queries, dashboard)
    assert [len(results[n]) for n in (5, 50)] == [5, 50]
    course = results[50][0]["node"]["course"]
    assert (
        len(course["modules"]["nodes"][0]["lessons"]["nodes"]) == 2
        and course["exercises"]["nodes"][0]["title"] == "Ex"
    )
    assert course["instructor"]["id"] and course["organization"]["id"]
    assert counts[5] >= 1 and counts[5] == counts[50], counts


async def test_course_lists_and_relations_statements_do_not_grow(
    courses_gql, courses, courses_runtime, courses_count_queries
):
    schools = [await courses.school() for _ in range(10)]
    made = [str((await courses.course(school)).id) for school in schools for _ in range(2)]
    site_admin = await courses.minter.user("site_admin")

    async def orgs(n: int) -> None:
        body = await courses_gql(
            ENTITIES, reps("Organization", *(s.org for s in schools[:n])), token=site_admin.token
        )
        assert [len(o["courses"]["edges"]) for o in body["data"]["_entities"]] == [2] * n

    async def teachers(n: int) -> None:
        body = await courses_gql(
            ENTITIES, reps("User", *(s.instructor.id for s in schools[:n])), token=site_admin.token
        )
        assert [len(u["taughtCourses"]["edges"]) for u in body["data"]["_entities"]] == [2] * n

    async def courses_list(first: int) -> None:
        body = await courses_gql(COURSES, {"first": first}, token=site_admin.token)
        assert len(result(body, "courses")["edges"]) == first

    async def course_entities(n: int) -> None:
        body = await courses_gql(ENTITIES, reps("Course", *made[:n]), token=site_admin.token)
        assert [len(c["modules"]["nodes"][0]["lessons"]["nodes"]) for c in body["data"]["_entities"]] == [
            1
        ] * n

    for call in (orgs, teachers, course_entities):
        one = await statements(courses_count_queries, lambda call=call: call(1))
        ten = await statements(courses_count_queries, lambda call=call: call(10))
        assert one >= 1 and one == ten, call.__name__
    assert await statements(courses_count_queries, lambda: courses_list(5)) == await statements(
        courses_count_queries, lambda: courses_list(20)
    )


async def test_connections_page_per_parent(courses_gql, courses, courses_runtime):
    school = await courses.school()
    made = [await courses.course(school, title=f"C{i}") for i in range(5)]
    for course in made:
        await enroll(courses_runtime, school.student.meta, course_id=course.id)
    query = """query($r: [_Any!]!, $after: String) { _entities(representations: $r) {
      ... on User { enrollments(first: 2, after: $after) { edges { node { course { title } } }
        pageInfo { hasNextPage endCursor } } } } }"""
    titles, after = [], None
    while True:
        body = await courses_gql(
            query,
            {"r": reps("User", school.student.id)["representations"], "after": after},
            token=school.student.token,
        )
        page = body["data"]["_entities"][0]["enrollments"]
        titles += [e["node"]["course"]["title"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert titles == [f"C{i}" for i in range(5)]


LESSONS = """query($representations: [_Any!]!) { _entities(representations: $representations) {
  ... on Lesson { id title published } } }"""


async def test_lessons_resolve_as_entities_for_those_who_see_them(courses_gql, courses, courses_runtime):
    """Issue 18: the content subgraph adds `Lesson.attachments`, so a Lesson is an entity; `_entities`
    answers it like the course (members of a published course) and drafts only to its editors."""
    from subgraphs.courses.models import Lesson

    school = await courses.school()
    course = await courses.course(school, lessons=2)
    async with courses_runtime.transaction() as session:
        first, second = (
            await session.scalars(
                select(Lesson.id).where(Lesson.course_id == course.id).order_by(Lesson.position)
            )
        ).all()
    await publish_lesson(courses_runtime, school.instructor.meta, id=second, published=False)
    other = await courses.school()
    representations = reps("Lesson", first, second, uuid.uuid4())
    seen = (await courses_gql(LESSONS, representations, token=school.student.token))["data"]["_entities"]
    assert [e and e["title"] for e in seen] == ["Lesson 1", None, None]
    edited = (await courses_gql(LESSONS, representations, token=school.instructor.token))["data"]["_entities"]
    assert [e and e["title"] for e in edited] == ["Lesson 1", "Lesson 2", None]
    outsider = (await courses_gql(LESSONS, representations, token=other.admin.token))["data"]["_entities"]
    assert outsider == [None, None, None]
