"""Contract rules of issue 14, through the real router: archived courses are read-only in quizzes and labs
(14.3), correct answers never show while the student can still answer (14.4), Markdown is stored as
written (14.5), applied generated content arrives as drafts students do not see until published (14.6),
and a question without an explanation has none (14.8)."""

from __future__ import annotations

import uuid

import pytest

from subgraphs.courses.content import create_module
from subgraphs.courses.enrollment import enroll
from subgraphs.courses.exercises import create_exercise
from tests.e2e.test_generation_applied_through_router import follow_to_success
from tests.e2e.test_generation_through_router import APPLY
from tests.fakes.anthropic_server import FakeAnthropic, syllabus_for
from tests.subgraphs.courses.conftest import courses, courses_app, courses_runtime  # noqa: F401 - fixtures
from tests.subgraphs.courses.queries import ARCHIVE, CREATE_LESSON
from tests.subgraphs.organizations.conftest import minter, organizations_app  # noqa: F401 - fixtures
from tests.subgraphs.quizzes.queries import (
    CREATE_QUESTION,
    CREATE_QUIZ,
    PUBLISH_QUIZ,
    START,
    SUBMIT,
    UPDATE_QUIZ,
    mutation,
)
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

START_LAB = mutation("startLab", "StartLabInput", "LabSessionSuccess { session { id } }")
STOP_LAB = "mutation($id: ID!) { stopLab(input: {sessionId: $id}) { __typename } }"
SET_SHOWING = mutation("updateQuiz", "UpdateQuizInput", "QuizSuccess { quiz { id showCorrectAnswers } }")
ANSWERS = """query($id: ID!) { quiz(id: $id) { showCorrectAnswers
  questions { nodes { correctAnswer { boolean } explanation } } } }"""
GENERATE = mutation("generateSyllabus", "GenerateSyllabusInput", "GenerationJobSuccess { job { id } }")
GENERATE_ANY = """mutation($input: GenerateSyllabusInput!) { generateSyllabus(input: $input) {
  __typename ... on Error { code } } }"""
APPLY_ANY = """mutation($id: ID!) { applyGenerationResult(input: {jobId: $id}) {
  __typename ... on Error { code } } }"""
PUBLISH_MODULE = mutation("publishModule", "PublishContentInput", "ModuleSuccess { module { id published } }")
MODULES = """query($id: ID!) { course(id: $id) {
  modules(first: 100) { nodes { id title published lessons { nodes { title published } } } } } }"""
LESSON_BODY = (
    """query($id: ID!) { course(id: $id) { modules { nodes { lessons { nodes { title body } } } } } }"""
)


async def generate_syllabus(router_gql, values: dict, token: str) -> dict:
    """The job of a `generateSyllabus`, once the generator knows the course: it learns of courses from
    `events.courses`, so right after `createCourse` it answers NotFoundError for a moment."""

    async def job() -> dict | None:
        return data(await router_gql(GENERATE, {"input": values}, token=token), "generateSyllabus").get("job")

    return await eventually(job, timeout=30, what="the generator knowing the course")


def data(body: dict, field: str) -> dict:
    assert "errors" not in body, body
    return body["data"][field]


async def test_an_archived_course_is_read_only_in_quizzes_labs_and_generation(
    platform,
    router_gql,
    courses,  # noqa: F811
    courses_runtime,  # noqa: F811
    fake_anthropic: FakeAnthropic,
):
    school = await courses.school()
    course = await courses.course(school)
    exercise = await create_exercise(
        courses_runtime, school.instructor.meta, course_id=course.id, title="Lab", ide="VSCODE"
    )
    await enroll(courses_runtime, school.student.meta, course_id=course.id)
    instructor = school.instructor.token

    async def quiz_created():  # the quizzes domain learns of the course through its events
        made = data(
            await router_gql(
                CREATE_QUIZ, {"input": {"courseId": str(course.id), "title": "Before"}}, token=instructor
            ),
            "createQuiz",
        )
        return made if made["__typename"] == "QuizSuccess" else None

    quiz = (await eventually(quiz_created, timeout=30, what="createQuiz accepted"))["quiz"]
    fake_anthropic.default = lambda body: syllabus_for(body)
    syllabus = {
        "organizationId": school.org,
        "courseId": str(course.id),
        "title": f"Archived {uuid.uuid4().hex[:8]}",
        "audience": "all",
        "durationWeeks": 1,
    }
    job = await generate_syllabus(router_gql, syllabus, instructor)
    await follow_to_success(platform, instructor, job["id"])
    archived = data(
        await router_gql(ARCHIVE, {"input": {"id": str(course.id)}}, token=instructor), "archiveCourse"
    )
    assert archived["course"]["status"] == "ARCHIVED", archived

    async def refused():  # ... and of its archiving the same way
        again = data(
            await router_gql(
                CREATE_QUIZ, {"input": {"courseId": str(course.id), "title": "After"}}, token=instructor
            ),
            "createQuiz",
        )
        return again if again["__typename"] != "QuizSuccess" else None

    assert (await eventually(refused, timeout=30, what="createQuiz refused"))["code"] == "COURSE_ARCHIVED"
    question = {"type": "TRUE_FALSE", "prompt": "Archived?", "correctBoolean": True, "points": 1}
    for document, field, values in (
        (UPDATE_QUIZ, "updateQuiz", {"id": quiz["id"], "title": "Renamed"}),
        (CREATE_QUESTION, "createQuestion", {"quizId": quiz["id"], "question": question}),
        (PUBLISH_QUIZ, "publishQuiz", {"id": quiz["id"]}),
    ):
        answer = data(await router_gql(document, {"input": values}, token=instructor), field)
        assert (answer["__typename"], answer["code"]) == ("ConflictError", "COURSE_ARCHIVED"), answer

    async def lab_refused():  # the labs domain learns it through the same events
        body = await router_gql(
            START_LAB, {"input": {"exerciseId": str(exercise.id)}}, token=school.student.token
        )
        answer = data(body, "startLab")
        if answer["__typename"] == "LabSessionSuccess":  # not projected yet: stop what was started
            await router_gql(STOP_LAB, {"id": answer["session"]["id"]}, token=school.student.token)
            return None
        return answer

    refused_lab = await eventually(lab_refused, timeout=30, what="startLab refused")
    assert (refused_lab["__typename"], refused_lab["code"]) == ("ConflictError", "COURSE_ARCHIVED")

    async def generation_refused():  # and the generator too
        syllabus["title"] = f"Archived {uuid.uuid4().hex[:8]}"
        answer = data(
            await router_gql(GENERATE_ANY, {"input": syllabus}, token=instructor), "generateSyllabus"
        )
        return answer if answer["__typename"] != "GenerationJobSuccess" else None

    refused_job = await eventually(generation_refused, timeout=30, what="generateSyllabus refused")
    assert (refused_job["__typename"], refused_job["code"]) == ("ConflictError", "COURSE_ARCHIVED")
    applied = data(await router_gql(APPLY_ANY, {"id": job["id"]}, token=instructor), "applyGenerationResult")
    assert (applied["__typename"], applied["code"]) == ("ConflictError", "COURSE_ARCHIVED"), applied


async def test_correct_answers_never_show_while_the_student_can_still_answer(
    platform,
    router_gql,
    courses,  # noqa: F811
    courses_runtime,  # noqa: F811
):
    school = await courses.school()
    course = await courses.course(school)
    await enroll(courses_runtime, school.student.meta, course_id=course.id)
    instructor, student = school.instructor.token, school.student.token

    async def quiz_created():
        values = {"courseId": str(course.id), "title": "Retakes", "attemptsAllowed": 3}
        made = data(await router_gql(CREATE_QUIZ, {"input": values}, token=instructor), "createQuiz")
        return made if made["__typename"] == "QuizSuccess" else None

    quiz_id = (await eventually(quiz_created, timeout=30, what="createQuiz accepted"))["quiz"]["id"]
    question = {"type": "TRUE_FALSE", "prompt": "Retakes are allowed.", "correctBoolean": True, "points": 1}
    made = await router_gql(
        CREATE_QUESTION, {"input": {"quizId": quiz_id, "question": question}}, token=instructor
    )
    assert data(made, "createQuestion")["__typename"] == "QuestionSuccess", made
    assert (
        data(await router_gql(PUBLISH_QUIZ, {"input": {"id": quiz_id}}, token=instructor), "publishQuiz")[
            "quiz"
        ]["status"]
        == "PUBLISHED"
    )

    async def shown() -> list:
        quiz = data(await router_gql(ANSWERS, {"id": quiz_id}, token=student), "quiz")
        return [q["correctAnswer"] for q in quiz["questions"]["nodes"]]

    async def attempt() -> str:
        started = data(
            await router_gql(START, {"input": {"quizId": quiz_id}}, token=student), "startQuizAttempt"
        )
        assert started["__typename"] == "QuizAttemptSuccess", started
        return started["attempt"]["id"]

    async def submit(attempt_id: str) -> None:
        done = await router_gql(SUBMIT, {"input": {"attemptId": attempt_id}}, token=student)
        assert data(done, "submitQuizAttempt")["__typename"] == "QuizAttemptSuccess", done

    async def show(rule: str) -> None:
        changed = await router_gql(
            SET_SHOWING, {"input": {"id": quiz_id, "showCorrectAnswers": rule}}, token=instructor
        )
        assert data(changed, "updateQuiz")["quiz"]["showCorrectAnswers"] == rule, changed

    default = data(await router_gql(ANSWERS, {"id": quiz_id}, token=student), "quiz")
    assert default["showCorrectAnswers"] == "AFTER_LAST_ATTEMPT"
    await submit(await attempt())
    second = await attempt()
    assert await shown() == [None], "attempt 2 is open: no answer key"
    await show("AFTER_EACH_ATTEMPT")
    assert await shown() == [None], "AFTER_EACH_ATTEMPT still hides them while an attempt is open"
    await submit(second)
    assert await shown() == [{"boolean": True}], "AFTER_EACH_ATTEMPT: shown between attempts"
    # No explanation was written: null, not "".
    quiz = data(await router_gql(ANSWERS, {"id": quiz_id}, token=student), "quiz")
    assert quiz["questions"]["nodes"][0]["explanation"] is None
    await show("NEVER")
    assert await shown() == [None]
    await show("AFTER_LAST_ATTEMPT")
    assert await shown() == [None], "one attempt is left"
    await submit(await attempt())
    assert await shown() == [{"boolean": True}], "no attempt left: the answers show"


async def test_markdown_is_stored_exactly_as_written(
    platform,
    router_gql,
    courses,  # noqa: F811
):
    school = await courses.school()
    course = await courses.course(school)
    module = await create_module(courses.runtime, school.instructor.meta, course_id=course.id, title="Setup")
    body = "    $ pip install coursegraph\n\nThen run it.\n"
    made = await router_gql(
        CREATE_LESSON,
        {"input": {"moduleId": str(module.id), "title": "Install", "body": body}},
        token=school.instructor.token,
    )
    assert data(made, "createLesson")["__typename"] == "LessonSuccess", made
    seen = data(await router_gql(LESSON_BODY, {"id": str(course.id)}, token=school.student.token), "course")
    [lesson] = [x for m in seen["modules"]["nodes"] for x in m["lessons"]["nodes"] if x["title"] == "Install"]
    assert lesson["body"] == body, "the indented code block keeps its indentation"


async def test_applied_content_is_a_draft_students_see_once_published(
    platform,
    router_gql,
    courses,  # noqa: F811
    courses_runtime,  # noqa: F811
    fake_anthropic: FakeAnthropic,
):
    school = await courses.school()
    course = await courses.course(school)  # published, with the module "Basics"
    await enroll(courses_runtime, school.student.meta, course_id=course.id)
    instructor, student = school.instructor.token, school.student.token
    fake_anthropic.default = lambda body: syllabus_for(body)
    values = {
        "organizationId": school.org,
        "courseId": str(course.id),
        "title": f"Drafts {uuid.uuid4().hex[:8]}",
        "audience": "students",
        "durationWeeks": 1,
    }
    job = await generate_syllabus(router_gql, values, instructor)
    await follow_to_success(platform, instructor, job["id"])
    assert data(await router_gql(APPLY, {"id": job["id"]}, token=instructor), "applyGenerationResult")["job"]

    async def modules(token: str, count: int):
        seen = data(await router_gql(MODULES, {"id": str(course.id)}, token=token), "course")
        nodes = seen["modules"]["nodes"]
        return nodes if len(nodes) == count else None

    editing = await eventually(lambda: modules(instructor, 2), timeout=60, what="the applied module")
    assert [(m["title"], m["published"]) for m in editing] == [("Basics", True), ("Week 1", False)]
    assert [m["title"] for m in await modules(student, 1)] == ["Basics"], "students never see drafts"

    published = await router_gql(PUBLISH_MODULE, {"input": {"id": editing[1]["id"]}}, token=instructor)
    assert data(published, "publishModule")["module"]["published"] is True, published
    seen = await modules(student, 2)
    assert seen is not None and seen[1]["title"] == "Week 1"
    assert [(x["title"], x["published"]) for x in seen[1]["lessons"]["nodes"]] == [
        ("Topic 1.1", True),
        ("Topic 1.2", True),
    ]


BUDGET_GENERATE = """mutation($input: GenerateSyllabusInput!) { generateSyllabus(input: $input) {
  __typename ... on GenerationJobSuccess { job { id } }
  ... on BudgetExceededError { code dailyTokenBudget tokensUsedToday } ... on Error { code } } }"""
SET_BUDGET = mutation(
    "updateOrganization", "UpdateOrganizationInput", "OrganizationSuccess { organization { id } }"
)
COURSE = "query($id: ID!) { course(id: $id) { id status } }"
DROP = mutation("dropEnrollment", "DropEnrollmentInput", "EnrollmentSuccess { enrollment { status } }")
STATS = "query($id: ID!) { course(id: $id) { stats { averageQuizScore } } }"
REPORT = "query($id: ID!) { courseReport(courseId: $id) { csvUrl dailyCsvUrl } }"
SEEN = """query($id: ID!) { quiz(id: $id) { questions(first: 100) { nodes { id } } } }"""
SAVE_ANSWER = mutation("saveAnswer", "SaveAnswerInput", "SaveAnswerSuccess { answer { questionId } }")
SUBMITTED = mutation(
    "submitQuizAttempt",
    "SubmitQuizAttemptInput",
    "QuizAttemptSuccess { attempt { score answers(first: 100) { nodes { questionId } } } }",
)


async def test_every_provider_counts_against_the_daily_budget(
    platform,
    router_gql,
    courses,  # noqa: F811
    fake_anthropic: FakeAnthropic,
):
    school = await courses.school()
    fake_anthropic.default = lambda body: syllabus_for(body)
    values = {
        "organizationId": school.org,
        "title": f"Budget {uuid.uuid4().hex[:8]}",
        "audience": "all",
        "durationWeeks": 1,
    }

    async def generate() -> dict:
        values["title"] = f"Budget {uuid.uuid4().hex[:8]}"  # never answered from the cache (free)
        body = await router_gql(BUDGET_GENERATE, {"input": values}, token=school.instructor.token)
        return data(body, "generateSyllabus")

    first = await generate()
    assert first["__typename"] == "GenerationJobSuccess", first
    await follow_to_success(platform, school.instructor.token, first["job"]["id"])
    budget = {"id": school.org, "settings": {"generationDailyTokenBudget": 1}}
    changed = await router_gql(SET_BUDGET, {"input": budget}, token=school.admin.token)
    assert data(changed, "updateOrganization")["__typename"] == "OrganizationSuccess", changed

    async def refused():  # the generator learns the setting through the organizations events
        answer = await generate()
        if answer["__typename"] == "GenerationJobSuccess":
            return None
        return answer

    answer = await eventually(refused, timeout=30, what="BudgetExceededError")
    assert answer["__typename"] == "BudgetExceededError", answer
    assert answer["dailyTokenBudget"] == 1 and answer["tokensUsedToday"] > 1


async def test_an_enrolled_student_keeps_reading_an_archived_course(
    platform,
    router_gql,
    courses,  # noqa: F811
    courses_runtime,  # noqa: F811
):
    school = await courses.school()
    course = await courses.course(school)
    await enroll(courses_runtime, school.student.meta, course_id=course.id)
    archived = await router_gql(ARCHIVE, {"input": {"id": str(course.id)}}, token=school.instructor.token)
    assert data(archived, "archiveCourse")["course"]["status"] == "ARCHIVED"
    seen = data(await router_gql(COURSE, {"id": str(course.id)}, token=school.student.token), "course")
    assert seen == {"id": str(course.id), "status": "ARCHIVED"}
    other = await courses.minter.member(school.org, "student")  # a member who never enrolled
    assert data(await router_gql(COURSE, {"id": str(course.id)}, token=other.token), "course") is None


async def test_attempt_answers_come_in_the_order_the_student_saw(
    platform,
    router_gql,
    courses,  # noqa: F811
    courses_runtime,  # noqa: F811
):
    school = await courses.school()
    course = await courses.course(school)
    await enroll(courses_runtime, school.student.meta, course_id=course.id)
    instructor, student = school.instructor.token, school.student.token

    async def quiz_created():
        values = {"courseId": str(course.id), "title": "Shuffled", "shuffleQuestions": True}
        made = data(await router_gql(CREATE_QUIZ, {"input": values}, token=instructor), "createQuiz")
        return made if made["__typename"] == "QuizSuccess" else None

    quiz_id = (await eventually(quiz_created, timeout=30, what="createQuiz accepted"))["quiz"]["id"]
    authored = []
    for n in range(8):  # 8! orders: the shuffled one is not the authored one by chance
        question = {"type": "TRUE_FALSE", "prompt": f"Statement {n}", "correctBoolean": True, "points": 1}
        made = await router_gql(
            CREATE_QUESTION, {"input": {"quizId": quiz_id, "question": question}}, token=instructor
        )
        authored.append(data(made, "createQuestion")["question"]["id"])
    assert data(await router_gql(PUBLISH_QUIZ, {"input": {"id": quiz_id}}, token=instructor), "publishQuiz")
    started = data(await router_gql(START, {"input": {"quizId": quiz_id}}, token=student), "startQuizAttempt")
    attempt_id = started["attempt"]["id"]
    seen = [
        q["id"]
        for q in data(await router_gql(SEEN, {"id": quiz_id}, token=student), "quiz")["questions"]["nodes"]
    ]
    assert sorted(seen) == sorted(authored) and seen != authored, "the student sees a shuffled order"
    for question_id in authored:  # answered in any order
        values = {"attemptId": attempt_id, "questionId": question_id, "answer": {"boolean": True}}
        assert data(await router_gql(SAVE_ANSWER, {"input": values}, token=student), "saveAnswer")
    done = data(
        await router_gql(SUBMITTED, {"input": {"attemptId": attempt_id}}, token=student), "submitQuizAttempt"
    )
    assert [a["questionId"] for a in done["attempt"]["answers"]["nodes"]] == seen
    # The instructor reviewing the attempt sees the student's order too.
    review = """query($q: ID!) { quizAttempts(quizId: $q) {
      nodes { answers(first: 100) { nodes { questionId } } } } }"""
    [reviewed] = data(await router_gql(review, {"q": quiz_id}, token=instructor), "quizAttempts")["nodes"]
    assert [a["questionId"] for a in reviewed["answers"]["nodes"]] == seen


async def test_a_dropped_students_attempts_leave_the_average_quiz_score(
    platform,
    router_gql,
    courses,  # noqa: F811
    courses_runtime,  # noqa: F811
):
    school = await courses.school()
    course = await courses.course(school)
    second = await courses.minter.member(school.org, "student")
    enrollments = {}
    for who in (school.student, second):
        enrollments[who.id] = await enroll(courses_runtime, who.meta, course_id=course.id)
    instructor = school.instructor.token

    async def quiz_created():
        values = {"courseId": str(course.id), "title": "Average"}
        made = data(await router_gql(CREATE_QUIZ, {"input": values}, token=instructor), "createQuiz")
        return made if made["__typename"] == "QuizSuccess" else None

    quiz_id = (await eventually(quiz_created, timeout=30, what="createQuiz accepted"))["quiz"]["id"]
    question = {"type": "TRUE_FALSE", "prompt": "True?", "correctBoolean": True, "points": 1}
    made = await router_gql(
        CREATE_QUESTION, {"input": {"quizId": quiz_id, "question": question}}, token=instructor
    )
    question_id = data(made, "createQuestion")["question"]["id"]
    assert data(await router_gql(PUBLISH_QUIZ, {"input": {"id": quiz_id}}, token=instructor), "publishQuiz")

    async def take(token: str, answer: bool) -> None:
        async def started():
            body = await router_gql(START, {"input": {"quizId": quiz_id}}, token=token)
            attempt = data(body, "startQuizAttempt")
            return attempt if attempt["__typename"] == "QuizAttemptSuccess" else None

        attempt_id = (await eventually(started, timeout=30, what="attempt started"))["attempt"]["id"]
        values = {"attemptId": attempt_id, "questionId": question_id, "answer": {"boolean": answer}}
        assert data(await router_gql(SAVE_ANSWER, {"input": values}, token=token), "saveAnswer")
        assert data(
            await router_gql(SUBMIT, {"input": {"attemptId": attempt_id}}, token=token), "submitQuizAttempt"
        )

    await take(school.student.token, True)
    await take(second.token, False)

    async def average(expected: float):
        stats = data(await router_gql(STATS, {"id": str(course.id)}, token=instructor), "course")["stats"]
        return stats["averageQuizScore"] == expected or None

    await eventually(lambda: average(50.0), timeout=30, what="both attempts counted")
    dropped = await router_gql(
        DROP, {"input": {"enrollmentId": str(enrollments[second.id].id)}}, token=second.token
    )
    assert data(dropped, "dropEnrollment")["enrollment"]["status"] == "DROPPED", dropped
    await eventually(
        lambda: average(100.0), timeout=30, what="the dropped student's attempt left the average"
    )


async def test_report_csvs_are_linked_on_the_routers_origin(
    platform,
    router_gql,
    router_http,
    courses,  # noqa: F811
):
    from subgraphs.core.settings import get_settings

    school = await courses.school()
    course = await courses.course(school)

    async def report_of():  # analytics learns of the course through its events
        body = await router_gql(REPORT, {"id": str(course.id)}, token=school.instructor.token)
        return None if body.get("errors") else body["data"]["courseReport"]

    report = await eventually(report_of, timeout=30, what="the course report")
    router = get_settings().router
    origin = f"http://{router.host}:{router.port}"
    assert report["csvUrl"].startswith(f"{origin}/reports/course/{course.id}.csv")
    assert report["dailyCsvUrl"].startswith(f"{origin}/reports/course/{course.id}/daily.csv")
    # This platform's router listens elsewhere: follow the links' paths on it.
    for link, header in ((report["csvUrl"], "user_id,"), (report["dailyCsvUrl"], "day,active_students")):
        path = link.removeprefix(origin)
        ok = await router_http.get(path, headers={"Authorization": f"Bearer {school.instructor.token}"})
        assert ok.status_code == 200 and ok.text.startswith(header), (path, ok.status_code, ok.text[:200])
        refused = await router_http.get(path, headers={"Authorization": f"Bearer {school.student.token}"})
        assert refused.status_code == 403
