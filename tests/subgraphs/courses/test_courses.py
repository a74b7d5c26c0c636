"""Course lifecycle, content (modules, lessons, exercises), queries and full-text search."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from subgraphs.courses.models import Course, Lesson, Module
from tests.subgraphs.courses.queries import (
    ARCHIVE,
    COURSE,
    COURSES,
    CREATE_COURSE,
    CREATE_EXERCISE,
    CREATE_LESSON,
    CREATE_MODULE,
    DELETE_COURSE,
    DELETE_EXERCISE,
    DELETE_LESSON,
    DELETE_MODULE,
    ENROLL,
    PUBLISH,
    REORDER_LESSONS,
    REORDER_MODULES,
    UNPUBLISH,
    UPDATE_COURSE,
    UPDATE_EXERCISE,
    UPDATE_LESSON,
    UPDATE_MODULE,
    result,
)


async def course_count(runtime, org: str) -> int:
    async with runtime.transaction() as session:
        return await session.scalar(
            select(func.count()).select_from(Course).where(Course.organization_id == uuid.UUID(org))
        )


async def test_create_publish_lifecycle_with_events(courses_gql, courses):
    school = await courses.school()
    token = school.instructor.token
    created = result(
        await courses_gql(
            CREATE_COURSE,
            {
                "input": {
                    "organizationId": school.org,
                    "title": "  Data   Science 101 ",
                    "slug": "Data-Science-101",
                    "description": "Numbers.",
                    "category": "Data",
                    "difficulty": "INTERMEDIATE",
                    "estimatedDurationHours": 12,
                }
            },
            token=token,
        ),
        "createCourse",
    )
    assert created["__typename"] == "CourseSuccess", created
    course = created["course"]
    assert (course["title"], course["slug"], course["category"], course["status"]) == (
        "Data Science 101",
        "data-science-101",
        "data",
        "DRAFT",
    )
    assert course["instructor"]["id"] == school.instructor.id and course["organization"]["id"] == school.org

    refused = result(
        await courses_gql(PUBLISH, {"input": {"id": course["id"]}}, token=token), "publishCourse"
    )
    assert refused["code"] == "NOT_PUBLISHABLE", refused
    module = result(
        await courses_gql(
            CREATE_MODULE, {"input": {"courseId": course["id"], "title": "Intro"}}, token=token
        ),
        "createModule",
    )["module"]
    # A module without lessons is no content yet.
    assert (
        result(await courses_gql(PUBLISH, {"input": {"id": course["id"]}}, token=token), "publishCourse")[
            "code"
        ]
        == "NOT_PUBLISHABLE"
    )
    lesson = result(
        await courses_gql(
            CREATE_LESSON,
            {"input": {"moduleId": module["id"], "title": "Hello", "body": "# Hi\n*there*"}},
            token=token,
        ),
        "createLesson",
    )["lesson"]
    assert lesson["body"] == "# Hi\n*there*" and lesson["position"] == 1
    published = result(
        await courses_gql(PUBLISH, {"input": {"id": course["id"]}}, token=token), "publishCourse"
    )
    assert published["course"]["status"] == "PUBLISHED" and published["course"]["publishedAt"]
    again = result(await courses_gql(PUBLISH, {"input": {"id": course["id"]}}, token=token), "publishCourse")
    assert again["code"] == "INVALID_TRANSITION"
    assert (
        result(await courses_gql(UNPUBLISH, {"input": {"id": course["id"]}}, token=token), "unpublishCourse")[
            "course"
        ]["status"]
        == "DRAFT"
    )

    events = await courses.events(course_id=course["id"])
    types = [e["type"] for e in events]
    assert types[0] == "courses.course.created" and "courses.course.published" in types
    assert types[-1] == "courses.course.unpublished"
    payload = events[0]["payload"]
    assert payload == {
        "course_id": course["id"],
        "organization_id": school.org,
        "instructor_id": school.instructor.id,
        "status": "DRAFT",
        "title": "Data Science 101",
    }


async def test_create_course_bad_input_names_the_field_and_writes_nothing(
    courses_gql, courses, courses_runtime
):
    school = await courses.school()
    cases = [
        ({"slug": "Not a slug!"}, "input.slug"),
        ({"slug": "-dash"}, "input.slug"),
        ({"title": "   "}, "input.title"),
        ({"estimatedDurationHours": -3}, "input.estimatedDurationHours"),
        ({"enrollmentCap": 0}, "input.enrollmentCap"),
        ({"organizationId": "nope"}, "input.organizationId"),
    ]
    for change, field in cases:
        body = await courses_gql(
            CREATE_COURSE,
            {"input": {"organizationId": school.org, "title": "T", "slug": "fine-slug", **change}},
            token=school.instructor.token,
        )
        answer = result(body, "createCourse")
        assert answer["__typename"] == "ValidationError", (change, answer)
        assert [e["field"] for e in answer["fieldErrors"]] == [field]
    assert await course_count(courses_runtime, school.org) == 0
    assert [e for e in await courses.events() if e["organization_id"] == school.org] == []


async def test_slug_is_unique_per_organization(courses_gql, courses, courses_runtime):
    school, other = await courses.school(), await courses.school()
    variables = {"input": {"organizationId": school.org, "title": "A", "slug": "same-slug"}}
    assert (
        result(await courses_gql(CREATE_COURSE, variables, token=school.instructor.token), "createCourse")[
            "__typename"
        ]
        == "CourseSuccess"
    )
    taken = result(await courses_gql(CREATE_COURSE, variables, token=school.instructor.token), "createCourse")
    assert taken["code"] == "SLUG_TAKEN" and "slug" in taken["message"]
    elsewhere = {"input": {"organizationId": other.org, "title": "A", "slug": "same-slug"}}
    assert (
        result(await courses_gql(CREATE_COURSE, elsewhere, token=other.instructor.token), "createCourse")[
            "__typename"
        ]
        == "CourseSuccess"
    )
    assert await course_count(courses_runtime, school.org) == 1


async def test_update_and_archive_make_it_read_only(courses_gql, courses):
    school = await courses.school()
    course = await courses.course(school)
    token = school.instructor.token
    updated = result(
        await courses_gql(
            UPDATE_COURSE,
            {"input": {"id": str(course.id), "title": "New title", "enrollmentCap": 3}},
            token=token,
        ),
        "updateCourse",
    )
    assert updated["course"]["title"] == "New title" and updated["course"]["enrollmentCap"] == 3
    assert updated["course"]["slug"] == course.slug
    assert (
        result(await courses_gql(ARCHIVE, {"input": {"id": str(course.id)}}, token=token), "archiveCourse")[
            "course"
        ]["status"]
        == "ARCHIVED"
    )
    for query, field, variables in (
        (UPDATE_COURSE, "updateCourse", {"input": {"id": str(course.id), "title": "X"}}),
        (CREATE_MODULE, "createModule", {"input": {"courseId": str(course.id), "title": "M"}}),
        (PUBLISH, "publishCourse", {"input": {"id": str(course.id)}}),
    ):
        assert result(await courses_gql(query, variables, token=token), field)["code"] == "COURSE_ARCHIVED"
    enroll = result(
        await courses_gql(ENROLL, {"input": {"courseId": str(course.id)}}, token=school.student.token),
        "enroll",
    )
    assert enroll["code"] == "NOT_ENROLLABLE" and "archived" in enroll["message"]


async def test_delete_course_only_without_enrollments(courses_gql, courses, courses_runtime):
    school = await courses.school()
    course = await courses.course(school)
    empty = await courses.course(school)
    assert (
        result(
            await courses_gql(ENROLL, {"input": {"courseId": str(course.id)}}, token=school.student.token),
            "enroll",
        )["__typename"]
        == "EnrollmentSuccess"
    )
    refused = result(
        await courses_gql(DELETE_COURSE, {"input": {"id": str(course.id)}}, token=school.instructor.token),
        "deleteCourse",
    )
    assert refused["code"] == "HAS_ENROLLMENTS"
    deleted = result(
        await courses_gql(DELETE_COURSE, {"input": {"id": str(empty.id)}}, token=school.instructor.token),
        "deleteCourse",
    )
    assert deleted == {"__typename": "DeleteSuccess", "id": str(empty.id)}
    async with courses_runtime.transaction() as session:
        assert await session.get(Course, empty.id) is None
        assert (
            await session.scalar(select(func.count()).select_from(Module).where(Module.course_id == empty.id))
            == 0
        )
    assert [e["type"] for e in await courses.events(course_id=str(empty.id))][-1] == "courses.course.deleted"


async def test_modules_and_lessons_crud_and_reorder(courses_gql, courses, courses_runtime):
    school = await courses.school()
    course = await courses.course(school, publish=False, lessons=0)
    token = school.instructor.token
    modules = []
    for title in ("One", "Two", "Three"):
        answer = result(
            await courses_gql(
                CREATE_MODULE, {"input": {"courseId": str(course.id), "title": title}}, token=token
            ),
            "createModule",
        )
        modules.append(answer["module"])
    assert [m["position"] for m in modules] == [1, 2, 3]
    order = [modules[2]["id"], modules[0]["id"], modules[1]["id"]]
    reordered = result(
        await courses_gql(
            REORDER_MODULES, {"input": {"courseId": str(course.id), "moduleIds": order}}, token=token
        ),
        "reorderModules",
    )
    assert [m["title"] for m in reordered["course"]["modules"]["nodes"]] == ["Three", "One", "Two"]
    # Not a permutation: a missing, a repeated or a foreign module is refused, the order unchanged.
    for bad in (order[:2], [order[0], order[0], order[1]], [*order[:2], str(uuid.uuid4())]):
        answer = result(
            await courses_gql(
                REORDER_MODULES, {"input": {"courseId": str(course.id), "moduleIds": bad}}, token=token
            ),
            "reorderModules",
        )
        assert answer["fieldErrors"][0]["field"] == "input.moduleIds", answer
    lessons = []
    for title in ("a", "b"):
        lessons.append(
            result(
                await courses_gql(
                    CREATE_LESSON, {"input": {"moduleId": order[0], "title": title}}, token=token
                ),
                "createLesson",
            )["lesson"]
        )
    swapped = result(
        await courses_gql(
            REORDER_LESSONS,
            {"input": {"moduleId": order[0], "lessonIds": [lessons[1]["id"], lessons[0]["id"]]}},
            token=token,
        ),
        "reorderLessons",
    )
    assert [x["title"] for x in swapped["module"]["lessons"]["nodes"]] == ["b", "a"]
    edited = result(
        await courses_gql(UPDATE_LESSON, {"input": {"id": lessons[0]["id"], "body": "## New"}}, token=token),
        "updateLesson",
    )
    assert edited["lesson"] == {"id": lessons[0]["id"], "title": "a", "body": "## New"}
    renamed = result(
        await courses_gql(UPDATE_MODULE, {"input": {"id": order[1], "title": "Uno"}}, token=token),
        "updateModule",
    )
    assert renamed["module"]["title"] == "Uno"
    assert (
        result(
            await courses_gql(DELETE_LESSON, {"input": {"id": lessons[1]["id"]}}, token=token), "deleteLesson"
        )["id"]
        == lessons[1]["id"]
    )
    assert (
        result(await courses_gql(DELETE_MODULE, {"input": {"id": order[0]}}, token=token), "deleteModule")[
            "id"
        ]
        == order[0]
    )
    async with courses_runtime.transaction() as session:
        assert (
            await session.scalar(
                select(func.count()).select_from(Lesson).where(Lesson.course_id == course.id)
            )
            == 0
        )
    missing = result(
        await courses_gql(UPDATE_MODULE, {"input": {"id": str(uuid.uuid4()), "title": "x"}}, token=token),
        "updateModule",
    )
    assert missing["code"] == "NOT_FOUND"


async def test_exercise_crud_and_tests_hidden_from_students(courses_gql, courses):
    school = await courses.school()
    course = await courses.course(school)
    token = school.instructor.token
    created = result(
        await courses_gql(
            CREATE_EXERCISE,
            {
                "input": {
                    "courseId": str(course.id),
                    "title": "FizzBuzz",
                    "instructions": "Write it.",
                    "language": "Python",
                    "starterFiles": [{"path": "main.py", "content": "print()"}],
                    "tests": [{"path": "test_main.py", "content": "assert True"}],
                    "labIde": "JUPYTER",
                }
            },
            token=token,
        ),
        "createExercise",
    )["exercise"]
    assert created["language"] == "python" and created["labIde"] == "JUPYTER"
    assert created["tests"] == [{"path": "test_main.py", "content": "assert True"}]
    bad = result(
        await courses_gql(
            UPDATE_EXERCISE,
            {"input": {"id": created["id"], "starterFiles": [{"path": "../etc/passwd"}]}},
            token=token,
        ),
        "updateExercise",
    )
    assert bad["fieldErrors"][0]["field"] == "input.starterFiles.0.path"
    updated = result(
        await courses_gql(
            UPDATE_EXERCISE, {"input": {"id": created["id"], "title": "FizzBuzz 2"}}, token=token
        ),
        "updateExercise",
    )["exercise"]
    assert updated["title"] == "FizzBuzz 2" and updated["starterFiles"] == [
        {"path": "main.py", "content": "print()"}
    ]
    seen = result(await courses_gql(COURSE, {"id": str(course.id)}, token=school.student.token), "course")
    assert (
        seen["exercises"]["nodes"][0]["title"] == "FizzBuzz 2"
        and seen["exercises"]["nodes"][0]["tests"] is None
    )
    assert (
        result(
            await courses_gql(DELETE_EXERCISE, {"input": {"id": created["id"]}}, token=token),
            "deleteExercise",
        )["id"]
        == created["id"]
    )
    assert (
        result(await courses_gql(COURSE, {"id": str(course.id)}, token=token), "course")["exercises"]["nodes"]
        == []
    )


async def test_course_by_slug_and_visibility_of_drafts(courses_gql, courses):
    school = await courses.school()
    draft = await courses.course(school, publish=False)
    published = await courses.course(school)
    by_slug = result(
        await courses_gql(COURSE, {"slug": published.slug, "org": school.org}, token=school.student.token),
        "course",
    )
    assert (
        by_slug["id"] == str(published.id)
        and by_slug["modules"]["nodes"][0]["lessons"]["nodes"][0]["body"] == "# Lesson 1"
    )
    assert (
        result(await courses_gql(COURSE, {"id": str(draft.id)}, token=school.student.token), "course") is None
    )
    assert result(await courses_gql(COURSE, {"id": str(draft.id)}, token=school.instructor.token), "course")[
        "id"
    ] == str(draft.id)
    no_org = await courses_gql(COURSE, {"slug": published.slug}, token=school.student.token)
    assert list(no_org["errors"][0]["extensions"]["fieldErrors"]) == ["organizationId"]


async def test_courses_filter_search_order_and_pages(courses_gql, courses):
    school = await courses.school()
    titles = ["Zebra statistics", "Advanced Rust ownership", "Baking bread", "Rust for beginners"]
    made = {}
    for title in titles:
        made[title] = await courses.course(school, title=title, description=f"All about {title.lower()}.")
    draft = await courses.course(school, publish=False, title="Rust drafts")
    org_filter = {"organizationId": school.org}

    async def titles_of(token, **variables):
        body = await courses_gql(COURSES, {"filter": org_filter, **variables}, token=token)
        return [e["node"]["title"] for e in result(body, "courses")["edges"]]

    assert await titles_of(school.student.token, orderBy="TITLE") == sorted(titles)
    assert await titles_of(school.instructor.token, orderBy="TITLE") == sorted([*titles, "Rust drafts"])
    assert set(await titles_of(school.student.token, filter={**org_filter, "search": "rust"})) == {
        "Advanced Rust ownership",
        "Rust for beginners",
    }
    assert await titles_of(school.student.token, filter={**org_filter, "search": "bread -rust"}) == [
        "Baking bread"
    ]
    assert await titles_of(school.instructor.token, filter={**org_filter, "status": "DRAFT"}) == [draft.title]
    newest = await titles_of(school.student.token, orderBy="NEWEST")
    assert newest == list(reversed(titles))
    # Keyset pages: three pages of two in title order, no gaps or repeats.
    seen, after = [], None
    while True:
        body = await courses_gql(
            COURSES,
            {"filter": org_filter, "orderBy": "TITLE", "first": 2, "after": after},
            token=school.instructor.token,
        )
        page = result(body, "courses")
        seen += [e["node"]["title"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == sorted([*titles, "Rust drafts"])
    too_big = await courses_gql(COURSES, {"first": 101}, token=school.student.token)
    assert too_big["errors"][0]["extensions"]["fieldErrors"] == {"first": "Must be between 1 and 100."}
    bad_cursor = await courses_gql(COURSES, {"after": "garbage"}, token=school.student.token)
    assert bad_cursor["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "fieldErrors": {"after": "Not a cursor from this list."},
    }


async def test_search_ordered_by_relevance_pages_without_repeats(courses_gql, courses):
    school = await courses.school()
    org_filter = {"organizationId": school.org, "search": "graph"}
    made = [
        ("Cooking pasta", "Draw a graph of your recipes."),  # description only: ranks last
        ("Graph databases", "Storing connected data."),
        ("Knitting", "Nothing to see."),  # no match
        ("Graph theory", "Every graph, every graph algorithm, graph colouring."),  # title and description
    ]
    # Ties (the same title and description) so the id decides: pages must neither repeat nor skip.
    made += [("Graph basics", "Intro.")] * 4
    for title, description in made:
        await courses.course(school, title=title, description=description)

    async def page(first: int, after: str | None = None) -> dict:
        body = await courses_gql(
            COURSES,
            {"filter": org_filter, "orderBy": "RELEVANCE", "first": first, "after": after},
            token=school.student.token,
        )
        return result(body, "courses")

    everything = [(e["node"]["title"], e["node"]["id"]) for e in (await page(100))["edges"]]
    titles = [t for t, _ in everything]
    assert titles[0] == "Graph theory" and titles[-1] == "Cooking pasta" and "Knitting" not in titles
    assert set(titles[1:-1]) == {"Graph databases", "Graph basics"} and len(titles) == 7
    paged, after = [], None
    while True:
        connection = await page(2, after)
        paged += [(e["node"]["title"], e["node"]["id"]) for e in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert paged == everything

    body = await courses_gql(
        COURSES,
        {"filter": {"organizationId": school.org}, "orderBy": "RELEVANCE"},
        token=school.student.token,
    )
    assert list(body["errors"][0]["extensions"]["fieldErrors"]) == ["orderBy"]
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
