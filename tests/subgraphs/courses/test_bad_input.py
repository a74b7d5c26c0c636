"""Issue 13 item 6 through the real apps over HTTP: the review's inputs that reached "Unexpected error."
(NUL bytes, a lone surrogate, forged cursors) are BAD_USER_INPUT naming the argument. Every argument of
every schema is covered generically in tests/core/test_inputs.py; these are the review's own cases, plus
a well-formed cursor of another list, which only the resolver can tell."""

from __future__ import annotations

import orjson

from subgraphs.core.pagination import encode_cursor
from tests.subgraphs.courses.test_connections import CONTENT, _course, _reps

CREATE = """mutation($input: CreateCourseInput!) { createCourse(input: $input) { __typename } }"""
SEARCH = """query($search: String) { courses(filter: {search: $search}) { nodes { id } } }"""


def refused(body: dict, argument: str, *, before_execution: bool = True) -> str:
    assert (body["data"] is None) == before_execution, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert list(error["extensions"]["fieldErrors"]) == [argument], error
    return error["extensions"]["fieldErrors"][argument]


async def test_nul_in_a_title_and_in_search_text(courses_gql, courses):
    school = await courses.school()
    body = await courses_gql(
        CREATE,
        {"input": {"organizationId": school.org, "title": "Py\x00thon", "slug": "python-nul"}},
        token=school.instructor.token,
    )
    assert "NUL" in refused(body, "input.title")
    literal = 'query { courses(filter: {search: "gra\\u0000ph"}) { nodes { id } } }'
    assert "NUL" in refused(await courses_gql(literal, token=school.student.token), "filter.search")


async def test_a_lone_surrogate_sent_as_json(courses_http, courses):
    school = await courses.school()
    # Written by hand: a JSON encoder would refuse to produce an unpaired surrogate.
    content = (
        '{"query": ' + orjson.dumps(SEARCH).decode() + ', "variables": {"search": "gra\\ud800ph"}}'
    ).encode()
    response = await courses_http.post(
        "/graphql",
        content=content,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {school.student.token}"},
    )
    assert "surrogate" in refused(response.json(), "filter.search")


async def test_forged_cursors_on_course_modules(courses_gql, courses):
    school = await courses.school()
    course = await _course(courses, school, 3)
    # A position out of the column's range (a 500 before): refused before execution.
    body = await courses_gql(
        CONTENT, {**_reps(course), "after": encode_cursor([2**40, course.id])}, token=school.instructor.token
    )
    assert refused(body, "after") == "Not a cursor from this list."
    # Well-formed, but of a list sorted by other types: the connection itself refuses it.
    other = encode_cursor(["2026-01-01T00:00:00+00:00", course.id])
    body = await courses_gql(CONTENT, {**_reps(course), "after": other}, token=school.instructor.token)
    assert refused(body, "after", before_execution=False) == "Not a cursor from this list."
    assert body["data"]["_entities"] == [None]
