"""Demo data of the courses domain (`coursegraph seed`, run by `make run`): Demo Academy's courses, written
through the service functions as their instructors and students would, so every change emits its events
(analytics, labs and the quizzes projection follow once the worker runs). Idempotent: a course is found by
its slug, an existing enrollment is kept, a lesson completed twice counts once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.contracts.vocabulary import Difficulty, LabIde
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.db import utcnow
from subgraphs.core.seeding import DemoSeeding, ScaleSeeding, SeededCourse, copy_rows
from subgraphs.courses.catalog import create_course, publish_course
from subgraphs.courses.content import create_lesson, create_module
from subgraphs.courses.enrollment import complete_lesson, enroll
from subgraphs.courses.errors import AlreadyEnrolled
from subgraphs.courses.exercises import create_exercise
from subgraphs.courses.models import (
    Course,
    CourseStatus,
    Enrollment,
    EnrollmentStatus,
    Exercise,
    Lesson,
    Module,
    Visibility,
)

DEMO_COURSE_SLUG = "python-foundations"

FIZZBUZZ_STARTER = (
    "def fizzbuzz(n: int) -> str:\n"
    '    """"Fizz" for multiples of 3, "Buzz" for multiples of 5, "FizzBuzz" for both, else the number."""\n'
    "    ...\n"
)
FIZZBUZZ_TESTS = (
    "from fizzbuzz import fizzbuzz\n\n\n"
    "def test_multiples_of_three_and_five():\n"
    '    assert fizzbuzz(15) == "FizzBuzz"\n\n\n'
    "def test_plain_numbers():\n"
    '    assert fizzbuzz(7) == "7"\n'
)


@dataclass
class DemoCourse:
    slug: str
    title: str
    description: str
    category: str
    difficulty: Difficulty
    hours: int
    visibility: Visibility
    publish: bool
    # (module title, [(lesson title, Markdown body)])
    modules: list[tuple[str, list[tuple[str, str]]]]
    exercises: list[dict[str, Any]] = field(default_factory=list)


PYTHON_FOUNDATIONS = DemoCourse(
    slug=DEMO_COURSE_SLUG,
    title="Python Foundations",
    description="Variables, functions and tests: a first course in Python, with a lab and a checkpoint quiz.",
    category="programming",
    difficulty=Difficulty.BEGINNER,
    hours=6,
    visibility=Visibility.ORGANIZATION,
    publish=True,
    modules=[
        (
            "Getting started",
            [
                (
                    "Welcome",
                    "# Welcome to Python Foundations\n\nIn six hours you will:\n\n"
                    "- write and run Python programs,\n- structure code with **functions**,\n"
                    "- check it with **tests**.\n\n## How this course works\n\n"
                    "1. Read a lesson and mark it complete.\n2. Try the exercise in your own lab.\n"
                    "3. Take the checkpoint quiz.\n\n> Tip: your progress is saved as you go.\n",
                ),
                (
                    "Hello, Python",
                    '# Hello, Python\n\nEvery program starts somewhere:\n\n```python\nprint("hello")\n```\n\n'
                    '## Values and names\n\n```python\nlanguage = "Python"\nyear = 1991\n'
                    'print(f"{language} is from {year}")\n```\n\n'
                    "Names are bound with `=`; there is no declaration.\n",
                ),
            ],
        ),
        (
            "Functions",
            [
                (
                    "Defining functions",
                    "# Defining functions\n\nA function takes arguments and *returns* a value:\n\n"
                    "```python\ndef area(width: float, height: float) -> float:\n"
                    "    return width * height\n```\n\n## Why functions?\n\n- reuse\n- naming an idea\n"
                    "- testing one piece at a time\n",
                ),
                (
                    "Arguments and return values",
                    "# Arguments and return values\n\n| call | result |\n|---|---|\n| `area(2, 3)` | `6` |\n"
                    "| `area(width=1, height=4)` | `4` |\n\nKeyword arguments make calls readable. "
                    "A function without `return` returns `None`.\n",
                ),
            ],
        ),
        (
            "Testing your code",
            [
                (
                    "Why test?",
                    "# Why test?\n\nA test is a small program that checks another one.\n\n"
                    "## What a good test does\n\n1. arranges the input,\n2. acts (calls the code),\n"
                    "3. asserts the result.\n",
                ),
                (
                    "pytest in practice",
                    "# pytest in practice\n\n```python\nfrom shapes import area\n\n\ndef test_area():\n"
                    "    assert area(2, 3) == 6\n```\n\nRun it:\n\n```bash\npytest -q\n```\n",
                ),
            ],
        ),
    ],
    exercises=[
        {
            "title": "FizzBuzz",
            "instructions": "# FizzBuzz\n\nWrite `fizzbuzz(n)` in `fizzbuzz.py`:\n\n"
            '- multiples of 3: `"Fizz"`\n- multiples of 5: `"Buzz"`\n- multiples of both: `"FizzBuzz"`\n'
            "- anything else: the number as text\n\n"
            "Run `pytest` in the lab's terminal until the tests pass.\n",
            "language": "python",
            "starter_files": [
                {"path": "fizzbuzz.py", "content": FIZZBUZZ_STARTER},
                {"path": "README.md", "content": "# FizzBuzz\n\nEdit `fizzbuzz.py`, then run `pytest`.\n"},
            ],
            "tests": [{"path": "test_fizzbuzz.py", "content": FIZZBUZZ_TESTS}],
            "ide": LabIde.VSCODE,
        }
    ],
)

DATA_ANALYSIS = DemoCourse(
    slug="data-analysis-with-pandas",
    title="Data Analysis with pandas",
    description="Load, clean and summarize tabular data with pandas.",
    category="data",
    difficulty=Difficulty.INTERMEDIATE,
    hours=8,
    visibility=Visibility.PUBLIC,
    publish=True,
    modules=[
        (
            "DataFrames",
            [
                (
                    "Loading data",
                    '# Loading data\n\n```python\nimport pandas as pd\n\ndf = pd.read_csv("sales.csv")\n'
                    "df.head()\n```\n",
                ),
                (
                    "Selecting and filtering",
                    '# Selecting and filtering\n\n- `df["price"]`: one column\n'
                    "- `df[df.price > 10]`: rows by condition\n",
                ),
            ],
        ),
        ("Summaries", [("Group by", '# Group by\n\n```python\ndf.groupby("region").price.mean()\n```\n')]),
    ],
    exercises=[
        {
            "title": "Sales by region",
            "instructions": "Compute the mean price per region in a notebook.",
            "language": "python",
            "starter_files": [
                {"path": "sales.csv", "content": "region,price\nnorth,12\nsouth,8\nnorth,20\n"}
            ],
            "ide": LabIde.JUPYTER,
        }
    ],
)

WEB_APIS_DRAFT = DemoCourse(
    slug="web-apis-with-fastapi",
    title="Web APIs with FastAPI",
    description="A course in the making: HTTP APIs with FastAPI.",
    category="programming",
    difficulty=Difficulty.ADVANCED,
    hours=10,
    visibility=Visibility.ORGANIZATION,
    publish=False,
    modules=[("First endpoints", [("Hello, API", "# Hello, API\n\n*Draft: still being written.*\n")])],
)


@dataclass
class DemoCourses:
    """What the other domains' demo data needs to know of the courses (ids only)."""

    python_foundations: uuid.UUID
    data_analysis: uuid.UUID
    draft: uuid.UUID
    status: dict[uuid.UUID, str]  # each course's status now
    # (enrollment id, course id, user id, status) of every enrollment in the published demo courses
    enrollments: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, str]]


async def seed_demo_courses(
    runtime: Runtime,
    *,
    organization_id: uuid.UUID,
    instructor: RequestMeta,
    instructor2: RequestMeta,
    students: list[RequestMeta],
) -> DemoCourses:
    """The demo courses (each made by its instructor), and the demo students enrolled with some progress."""
    foundations = await _course(runtime, instructor, organization_id, PYTHON_FOUNDATIONS)
    data = await _course(runtime, instructor2, organization_id, DATA_ANALYSIS)
    draft = await _course(runtime, instructor, organization_id, WEB_APIS_DRAFT)
    # Lessons completed (in course order) per student and course: a varied picture for analytics.
    progress = [{foundations: 3, data: 1}, {foundations: 1}]
    for student, done in zip(students, progress, strict=False):
        for course_id, lessons in done.items():
            try:
                await enroll(runtime, student, course_id=course_id)
            except AlreadyEnrolled:
                pass
            for lesson_id in (await _lesson_ids(runtime, course_id))[:lessons]:
                await complete_lesson(runtime, student, lesson_id=lesson_id)  # idempotent
    async with runtime.transaction() as session:
        rows = (
            await session.execute(
                select(Enrollment.id, Enrollment.course_id, Enrollment.user_id, Enrollment.status).where(
                    Enrollment.course_id.in_([foundations, data]),
                    Enrollment.status != EnrollmentStatus.DROPPED.value,
                )
            )
        ).all()
        status = dict(
            (
                await session.execute(
                    select(Course.id, Course.status).where(Course.id.in_([foundations, data, draft]))
                )
            ).all()
        )
    enrollments = [(id, course, user, state) for id, course, user, state in rows]
    return DemoCourses(foundations, data, draft, status, enrollments)


async def _course(
    runtime: Runtime, meta: RequestMeta, organization_id: uuid.UUID, demo: DemoCourse
) -> uuid.UUID:
    async with runtime.transaction() as session:
        course = await session.scalar(
            select(Course).where(Course.organization_id == organization_id, Course.slug == demo.slug)
        )
    if course is None:
        course = await create_course(
            runtime,
            meta,
            organization_id=organization_id,
            title=demo.title,
            slug=demo.slug,
            description=demo.description,
            category=demo.category,
            difficulty=demo.difficulty,
            estimated_duration_hours=demo.hours,
            visibility=demo.visibility,
        )
        for module_title, lessons in demo.modules:
            module = await create_module(runtime, meta, course_id=course.id, title=module_title)
            for title, body in lessons:
                await create_lesson(runtime, meta, module_id=module.id, title=title, body=body)
        for exercise in demo.exercises:
            await create_exercise(runtime, meta, course_id=course.id, **exercise)
    if demo.publish and course.status == CourseStatus.DRAFT:
        await publish_course(runtime, meta, id=course.id)
    return course.id


async def _lesson_ids(runtime: Runtime, course_id: uuid.UUID) -> list[uuid.UUID]:
    async with runtime.transaction() as session:
        stmt = (
            select(Lesson.id)
            .join(Module, Module.id == Lesson.module_id)
            .where(Lesson.course_id == course_id)
            .order_by(Module.position, Lesson.position)
        )
        return list((await session.scalars(stmt)).all())


# --- `coursegraph seed --scale` ------------------------------------------------------------------


@dataclass
class ScaleCourses:
    course_ids: list[uuid.UUID]
    # (enrollment id, course id, user id)
    enrollments: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]


async def seed_scale_courses(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    instructor_ids: list[uuid.UUID],
    student_ids: list[uuid.UUID],
    courses: int,
    enrollments_per_student: int,
) -> ScaleCourses:
    """Published courses (a module of three lessons and an exercise each) and enrollments, by COPY."""
    now = utcnow()
    topics = (
        "Python",
        "Rust",
        "SQL",
        "Statistics",
        "Networks",
        "Security",
        "Design",
        "Graphs",
        "Cloud",
        "Testing",
    )
    course_rows, module_rows, lesson_rows, course_ids = [], [], [], []
    for i in range(courses):
        course_id, module_id = uuid.uuid4(), uuid.uuid4()
        topic = topics[i % len(topics)]
        course_ids.append(course_id)
        course_rows.append(
            (
                course_id,
                organization_id,
                instructor_ids[i % len(instructor_ids)],
                f"{topic} course {i + 1}",
                f"scale-{i + 1}",
                f"Everything about {topic.lower()}, part {i + 1}.",
                topic.lower(),
                (Difficulty.BEGINNER, Difficulty.INTERMEDIATE, Difficulty.ADVANCED)[i % 3].value,
                10,
                CourseStatus.PUBLISHED.value,
                Visibility.ORGANIZATION.value,
                now,
                now,
                now,
            )
        )
        module_rows.append((module_id, course_id, "Module 1", 1, now))
        for position in range(1, 4):
            lesson_rows.append(
                (
                    uuid.uuid4(),
                    module_id,
                    course_id,
                    f"Lesson {position}",
                    f"# Lesson {position}",
                    position,
                    now,
                )
            )
    await copy_rows(
        session,
        Course.__table__,
        [
            "id",
            "organization_id",
            "instructor_id",
            "title",
            "slug",
            "description",
            "category",
            "difficulty",
            "estimated_duration_hours",
            "status",
            "visibility",
            "published_at",
            "created_at",
            "updated_at",
        ],
        course_rows,
    )
    await copy_rows(
        session, Module.__table__, ["id", "course_id", "title", "position", "created_at"], module_rows
    )
    await copy_rows(
        session,
        Lesson.__table__,
        ["id", "module_id", "course_id", "title", "body", "position", "created_at"],
        lesson_rows,
    )
    session.add_all(
        Exercise(
            course_id=c,
            title="Exercise",
            instructions="Do it.",
            language="python",
            starter_files=[],
            tests=[],
            ide="VSCODE",
        )
        for c in course_ids
    )
    enrollments, enrollment_rows = [], []
    per = min(enrollments_per_student, courses)
    for s, student in enumerate(student_ids):
        for k in range(per):
            course_id = course_ids[(s * per + k) % courses]
            enrollment_id = uuid.uuid4()
            enrollments.append((enrollment_id, course_id, student))
            progress = (s + k) % 4 * 33
            enrollment_rows.append(
                (
                    enrollment_id,
                    course_id,
                    student,
                    organization_id,
                    EnrollmentStatus.ACTIVE.value,
                    progress,
                    now,
                    now,
                )
            )
    await copy_rows(
        session,
        Enrollment.__table__,
        [
            "id",
            "course_id",
            "user_id",
            "organization_id",
            "status",
            "progress_percent",
            "enrolled_at",
            "last_activity_at",
        ],
        enrollment_rows,
    )
    return ScaleCourses(course_ids, enrollments)


async def demo(seeding: DemoSeeding) -> None:
    """The seed hook (core/seeding.py): the demo courses; quizzes seeds into Python Foundations."""
    assert seeding.organization_id is not None, "the organizations hook runs first"
    courses = await seed_demo_courses(
        seeding.runtime,
        organization_id=seeding.organization_id,
        instructor=seeding.acting("instructor@coursegraph.dev"),
        instructor2=seeding.acting("instructor2@coursegraph.dev"),
        students=[seeding.acting("student@coursegraph.dev"), seeding.acting("student2@coursegraph.dev")],
    )
    foundations = courses.python_foundations
    seeding.course = SeededCourse(
        course_id=foundations,
        status=courses.status[foundations],
        enrollments=[(e, u, status) for e, c, u, status in courses.enrollments if c == foundations],
    )


async def scale(seeding: ScaleSeeding) -> None:
    """The seed hook of the benchmark data: published courses and enrollments, by COPY."""
    assert seeding.organization_id is not None, "the organizations hook runs first"
    made = await seed_scale_courses(
        seeding.session,
        organization_id=seeding.organization_id,
        instructor_ids=seeding.instructors,
        student_ids=seeding.learners,
        courses=seeding.courses,
        enrollments_per_student=seeding.enrollments_per_student,
    )
    seeding.course_instructors = {
        c: seeding.instructors[n % len(seeding.instructors)] for n, c in enumerate(made.course_ids)
    }
    seeding.enrollments = made.enrollments
    seeding.counts.update(courses=len(made.course_ids), enrollments=len(made.enrollments))
