"""Every ValidationError's field paths name the GraphQL input field at its real path (issue 14.2).

Generic over the schema: for every mutation whose result can be a `ValidationError`, each input leaf is
sent with bad values (empty and over-long strings, negative and huge numbers, malformed ids) while the
other leaves carry plausible values and real ids of one organization's course, module, lesson, exercise,
quiz and question. Every field path that comes back must resolve through the mutation's argument types,
camelCase and nesting included (`input.question.points`, `input.settings.labIdleTimeoutSeconds`).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLUnionType,
    build_schema,
    get_named_type,
)

from subgraphs.courses.content import create_lesson, create_module
from subgraphs.courses.exercises import create_exercise
from tests.conftest import TEST_PASSWORD
from tests.subgraphs.courses.conftest import courses, courses_app, courses_runtime  # noqa: F401 - fixtures
from tests.subgraphs.organizations.conftest import minter, organizations_app  # noqa: F401 - fixtures
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

SUPERGRAPH = Path(__file__).parents[2] / "schema" / "supergraph.graphql"
CREATE_QUIZ = """mutation($input: CreateQuizInput!) { createQuiz(input: $input) {
  __typename ... on QuizSuccess { quiz { id } } ... on Error { code message } } }"""
CREATE_QUESTION = """mutation($input: CreateQuestionInput!) { createQuestion(input: $input) {
  __typename ... on QuestionSuccess { question { id } } ... on Error { code message } } }"""
# Mutations that end what later ones use run last.
LAST = ("delete", "archive", "remove", "revoke", "deactivate", "logout", "change")
BAD_VALUES: dict[str, list[Any]] = {
    "String": ["", "x" * 20_001],
    "Int": [-1, 2_000_000_000],
    "Float": [-1.0, 1e12],
    "ID": ["not-an-id"],
}


def _unwrap(type_: Any) -> Any:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def resolves(args: dict[str, Any], path: str) -> bool:
    """Whether `path` (`input.question.options.0`) names a real input field of the mutation."""
    head, *rest = path.split(".")
    if head not in args:
        return False
    type_ = _unwrap(args[head].type)
    for part in rest:
        if isinstance(type_, GraphQLList):
            if not part.isdigit():
                return False
            type_ = _unwrap(type_.of_type)
        elif isinstance(type_, GraphQLInputObjectType) and part in type_.fields:
            type_ = _unwrap(type_.fields[part].type)
        else:
            return False
    return True


class Inputs:
    """Plausible values for each leaf, and variants with one leaf made bad."""

    def __init__(self, ids: dict[str, str], noun: str) -> None:
        self.ids, self.noun = ids, noun

    def good(self, name: str, type_: GraphQLInputType) -> Any:
        type_ = _unwrap(type_)
        if isinstance(type_, GraphQLList):
            return [self.good(name.removesuffix("s"), type_.of_type)]
        if isinstance(type_, GraphQLInputObjectType):
            return {field: self.good(field, f.type) for field, f in type_.fields.items()}
        if isinstance(type_, GraphQLEnumType):
            return next(iter(type_.values))
        kind = type_.name
        if kind == "ID":
            key = self.noun if name == "id" else name.removesuffix("Id")
            return self.ids.get(key, str(uuid.uuid4()))
        if kind == "String":
            return {
                "email": f"paths-{uuid.uuid4().hex[:10]}@learners.coursegraph.dev",
                "slug": f"paths-{uuid.uuid4().hex[:10]}",
                "password": TEST_PASSWORD,
                "newPassword": TEST_PASSWORD + "!",
                "currentPassword": TEST_PASSWORD,
                "language": "python",
                "path": "main.py",
            }.get(name, "A plausible value")
        return {"Int": 1, "Float": 1.0, "Boolean": True, "JSON": {}}.get(kind, "2026-01-01T00:00:00Z")

    def variants(self, name: str, type_: GraphQLInputType) -> list[Any]:
        """The value of this argument with one leaf (anywhere inside) bad, for every leaf and bad value."""
        type_ = _unwrap(type_)
        if isinstance(type_, GraphQLList):
            return [[bad] for bad in self.variants(name.removesuffix("s"), type_.of_type)]
        if isinstance(type_, GraphQLInputObjectType):
            good = self.good(name, type_)
            out = []
            for field, f in type_.fields.items():
                out += [{**good, field: bad} for bad in self.variants(field, f.type)]
            return out
        return list(BAD_VALUES.get(getattr(type_, "name", ""), []))


def _selection() -> str:
    return "{ __typename ... on ValidationError { code fieldErrors { field message } } }"


async def test_every_validation_error_names_real_graphql_input_paths(
    platform,
    router_gql,
    courses,  # noqa: F811
    courses_runtime,  # noqa: F811
    minter,  # noqa: F811
):
    school = await courses.school()
    course = await courses.course(school, publish=False)
    meta = school.instructor.meta
    module = await create_module(courses_runtime, meta, course_id=course.id, title="M")
    lesson = await create_lesson(courses_runtime, meta, module_id=module.id, title="L", body="# L")
    exercise = await create_exercise(courses_runtime, meta, course_id=course.id, title="E", ide="VSCODE")
    instructor = school.instructor.token

    async def made_quiz():  # the quizzes projection learns of the course through events
        body = await router_gql(
            CREATE_QUIZ, {"input": {"courseId": str(course.id), "title": "Q"}}, token=instructor
        )
        return body["data"]["createQuiz"].get("quiz")

    quiz = await eventually(made_quiz, timeout=30, what="createQuiz accepted")
    question_input = {"type": "TRUE_FALSE", "prompt": "Yes?", "correctBoolean": True, "points": 1}
    made = await router_gql(
        CREATE_QUESTION, {"input": {"quizId": quiz["id"], "question": question_input}}, token=instructor
    )
    question = made["data"]["createQuestion"]["question"]
    ids = {
        "organization": school.org,
        "course": str(course.id),
        "module": str(module.id),
        "lesson": str(lesson.id),
        "exercise": str(exercise.id),
        "quiz": quiz["id"],
        "question": question["id"],
        "user": school.student.id,
    }

    schema = build_schema(SUPERGRAPH.read_text(), assume_valid=True)
    mutation_type = schema.mutation_type
    assert isinstance(mutation_type, GraphQLObjectType)
    validating = {
        name: field
        for name, field in mutation_type.fields.items()
        if isinstance(result := get_named_type(field.type), GraphQLUnionType)
        and any(t.name == "ValidationError" for t in result.types)
    }
    order = sorted(validating, key=lambda name: name.startswith(LAST))
    wrong: list[str] = []
    answered: set[str] = set()
    for name in order:
        field = validating[name]
        noun = next((n for n in ids if name.lower().endswith(n)), "")
        inputs = Inputs(ids, noun)
        declared = ", ".join(f"${arg}: {a.type}" for arg, a in field.args.items())
        passed = ", ".join(f"{arg}: ${arg}" for arg in field.args)
        document = f"mutation({declared}) {{ {name}({passed}) {_selection()} }}"
        good = {arg: inputs.good(arg, a.type) for arg, a in field.args.items()}
        caller = await minter.user("site_admin")
        for arg, a in field.args.items():
            for bad in inputs.variants(arg, a.type):
                body = await router_gql(document, {**good, arg: bad}, token=caller.token)
                result = (body.get("data") or {}).get(name) or {}
                for error in result.get("fieldErrors") or []:
                    answered.add(name)
                    if not resolves(field.args, error["field"]):
                        wrong.append(f"{name}: {error['field']} ({error['message']})")
    assert not wrong, "field paths that are not GraphQL input paths:\n" + "\n".join(sorted(set(wrong)))
    # The walk reached the validations the issue names (and far more): it cannot pass by seeing nothing.
    for name in ("createQuestion", "generateSyllabus", "generateQuiz", "updateOrganization", "createCourse"):
        assert name in answered, f"{name} never answered a ValidationError"
    assert len(answered) >= 30, sorted(answered)


async def test_every_query_answers_bad_arguments_with_field_errors(
    platform,
    router_gql,
    courses,  # noqa: F811
    minter,  # noqa: F811
):
    """The rule for queries (README "Bad input"): a GraphQL error with `extensions.code` BAD_USER_INPUT
    and `extensions.fieldErrors` naming the argument — for every paged root field (`first: 101`, a
    forged `after`) and every date range (`since` after `until`)."""
    school = await courses.school()
    course = await courses.course(school)

    async def made_quiz():  # the quizzes projection learns of the course through events
        body = await router_gql(
            CREATE_QUIZ, {"input": {"courseId": str(course.id), "title": "Q"}}, token=school.instructor.token
        )
        return body["data"]["createQuiz"].get("quiz")

    quiz = await eventually(made_quiz, timeout=30, what="createQuiz accepted")
    ids = {"organizationId": school.org, "courseId": str(course.id), "quizId": quiz["id"]}
    schema = build_schema(SUPERGRAPH.read_text(), assume_valid=True)
    query_type = schema.query_type
    assert query_type is not None
    admin = await minter.user("site_admin")
    checked = []
    for name, field in query_type.fields.items():
        bad_values: list[dict[str, Any]] = []
        if "first" in field.args:
            bad_values += [{"first": 101}, {"after": "bm90IGEgY3Vyc29y"}]
        if "since" in field.args and "until" in field.args:
            bad_values.append({"since": "2026-03-02", "until": "2026-03-01"})
        if not bad_values:
            continue
        required = {
            arg: ids.get(arg, "CREATED_AT")
            for arg, a in field.args.items()
            # build_schema keeps SDL defaults on the AST only (default_value stays Undefined)
            if isinstance(a.type, GraphQLNonNull) and (a.ast_node is None or a.ast_node.default_value is None)
        }
        for bad in bad_values:
            values = {**required, **bad}
            passed = ", ".join(f"{arg}: {_literal(value)}" for arg, value in values.items())
            body = await router_gql(f"{{ {name}({passed}) {{ __typename }} }}", token=admin.token)
            errors = body.get("errors") or []
            named = next(iter(bad))
            assert errors and errors[0]["extensions"]["code"] == "BAD_USER_INPUT", (name, bad, body)
            assert named in errors[0]["extensions"]["fieldErrors"], (name, bad, errors[0])
            checked.append(name)
    assert {"courses", "users", "quizAttempts", "courseReport", "members"} <= set(checked)


def _literal(value: Any) -> str:
    if isinstance(value, str) and value.isupper():
        return value  # an enum value
    return json.dumps(value)
