"""`Course.modules`, `Module.lessons` and `Course.exercises` are Relay connections: keyset pages in order
(no repeats, no gaps), `first` bounded, one windowed statement for all parents (the same statements for 5
and for 50 children)."""

from __future__ import annotations

from subgraphs.courses.content import create_lesson, create_module
from subgraphs.courses.exercises import create_exercise
from tests.subgraphs.courses.queries import reps

CONTENT = """query($r: [_Any!]!, $first: Int, $after: String) { _entities(representations: $r) {
  ... on Course { modules(first: $first, after: $after) {
      edges { cursor node { title lessons(first: $first) { nodes { title } pageInfo { hasNextPage } } } }
      pageInfo { hasNextPage hasPreviousPage endCursor } }
    exercises(first: $first) { nodes { title } pageInfo { hasNextPage endCursor } } } } }"""


async def _course(courses, school, n: int):
    """A course with n modules (n lessons in the first) and n exercises, all made in order."""
    meta, runtime = school.instructor.meta, courses.runtime
    course = await courses.course(school, lessons=0, publish=False)
    first = None
    for i in range(n):
        module = await create_module(runtime, meta, course_id=course.id, title=f"M{i:02}")
        first = first or module
        await create_exercise(runtime, meta, course_id=course.id, title=f"E{i:02}")
    for i in range(n):
        await create_lesson(runtime, meta, module_id=first.id, title=f"L{i:02}", body="x")
    return course


async def test_modules_page_in_order_without_repeats(courses_gql, courses):
    school = await courses.school()
    course = await _course(courses, school, 7)
    modules, after, pages = [], None, 0
    while True:
        body = await courses_gql(
            CONTENT, {**_reps(course), "first": 3, "after": after}, token=school.instructor.token
        )
        assert "errors" not in body, body
        connection = body["data"]["_entities"][0]["modules"]
        modules += [e["node"]["title"] for e in connection["edges"]]
        assert connection["pageInfo"]["hasPreviousPage"] == (after is not None)
        pages += 1
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert modules == [f"M{i:02}" for i in range(7)] and pages == 3


def _reps(course) -> dict:
    return {"r": reps("Course", course.id)["representations"]}


async def test_each_connection_pages_with_its_own_cursor(courses_gql, courses):
    school = await courses.school()
    course = await _course(courses, school, 5)
    query = """query($r: [_Any!]!, $after: String, $lessonsAfter: String) { _entities(representations: $r) {
      ... on Course { exercises(first: 2, after: $after) { nodes { title }
        pageInfo { hasNextPage endCursor } }
        modules(first: 1) { nodes { lessons(first: 2, after: $lessonsAfter) { nodes { title }
          pageInfo { hasNextPage endCursor } } } } } } }"""
    exercises, lessons, after, lessons_after = [], [], None, None
    for _ in range(3):
        body = await courses_gql(
            query,
            {**_reps(course), "after": after, "lessonsAfter": lessons_after},
            token=school.instructor.token,
        )
        assert "errors" not in body, body
        page = body["data"]["_entities"][0]
        exercises += [n["title"] for n in page["exercises"]["nodes"]]
        lesson_page = page["modules"]["nodes"][0]["lessons"]
        lessons += [n["title"] for n in lesson_page["nodes"]]
        after, lessons_after = (
            page["exercises"]["pageInfo"]["endCursor"],
            lesson_page["pageInfo"]["endCursor"],
        )
        assert page["exercises"]["pageInfo"]["hasNextPage"] == (len(exercises) < 5)
        assert lesson_page["pageInfo"]["hasNextPage"] == (len(lessons) < 5)
    assert exercises == [f"E{i:02}" for i in range(5)]
    assert lessons == [f"L{i:02}" for i in range(5)]


async def test_first_is_bounded_and_cursor_checked(courses_gql, courses):
    school = await courses.school()
    course = await _course(courses, school, 1)
    body = await courses_gql(CONTENT, {**_reps(course), "first": 101}, token=school.instructor.token)
    assert any("first" in str(e) for e in body["errors"]), body
    forged = {**_reps(course), "after": "bm90LWEtY3Vyc29y"}
    body = await courses_gql(CONTENT, forged, token=school.instructor.token)
    assert any("after" in str(e) for e in body["errors"]), body


async def test_content_statements_do_not_grow_with_children(courses_gql, courses, courses_count_queries):
    school = await courses.school()
    counts, seen = {}, {}
    for n in (5, 50):
        made = [await _course(courses, school, n) for _ in range(2)]

        async def call(made=made, n=n) -> None:
            body = await courses_gql(
                CONTENT,
                {"r": reps("Course", *(c.id for c in made))["representations"], "first": 100},
                token=school.instructor.token,
            )
            assert "errors" not in body, body
            seen[n] = body["data"]["_entities"]

        with courses_count_queries() as counter:
            await call()
        counts[n] = counter.count
    for n in (5, 50):
        for course in seen[n]:
            assert len(course["modules"]["edges"]) == n and len(course["exercises"]["nodes"]) == n
            assert len(course["modules"]["edges"][0]["node"]["lessons"]["nodes"]) == n
    assert counts[5] >= 1 and counts[5] == counts[50], counts
