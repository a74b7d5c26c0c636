"""No N+1: Course.contentItems with each item's current version and versions costs the same statements
for 2 items as for 6."""

from __future__ import annotations

import os

from tests.subgraphs.content.helpers import upload

QUERY = """
query($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Course { contentItems(first: 50) { nodes { id name size mimeType downloadUrl
      currentVersion { number } versions { nodes { number } } } } }
  }
}"""


async def _count(content_gql, content_count_queries, token, course) -> tuple[int, int]:
    with content_count_queries() as counter:
        result = await content_gql(
            QUERY, {"representations": [{"__typename": "Course", "id": course}]}, token=token
        )
    return len(result["data"]["_entities"][0]["contentItems"]["nodes"]), counter.count


async def test_course_content_items_are_batched(content_gql, content_http, content_count_queries, school):
    for _ in range(2):
        data = b"%PDF-1.4\n" + os.urandom(64)
        await upload(content_gql, content_http, school.instructor.token, data, course=school.course)
    few, few_statements = await _count(
        content_gql, content_count_queries, school.student.token, school.course
    )
    for _ in range(4):
        data = b"%PDF-1.4\n" + os.urandom(64)
        await upload(content_gql, content_http, school.instructor.token, data, course=school.course)
    many, many_statements = await _count(
        content_gql, content_count_queries, school.student.token, school.course
    )
    assert (few, many) == (2, 6)
    assert many_statements == few_statements <= 4
