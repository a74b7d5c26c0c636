"""GraphQL documents of the quizzes subgraph tests."""

ERR = "... on Error { code message } ... on ValidationError { fieldErrors { field message } }"
QUESTION_FIELDS = (
    "id type prompt options points position explanation "
    "correctAnswer { choices boolean acceptedAnswers number tolerance }"
)
ATTEMPT_FIELDS = (
    "id number startedAt deadlineAt submittedAt score maxScore passed late user { id } "
    "answers { nodes { questionId choices boolean text number correct pointsAwarded timeSpentSeconds } }"
)


def mutation(name: str, input_type: str, success: str) -> str:
    return f"""mutation($input: {input_type}!) {{ {name}(input: $input) {{
  __typename ... on {success} {ERR} }} }}"""


CREATE_QUIZ = mutation(
    "createQuiz", "CreateQuizInput", "QuizSuccess { quiz { id title status course { id } } }"
)
UPDATE_QUIZ = mutation("updateQuiz", "UpdateQuizInput", "QuizSuccess { quiz { id title timeLimitSeconds } }")
PUBLISH_QUIZ = mutation("publishQuiz", "QuizIdInput", "QuizSuccess { quiz { id status } }")
CREATE_QUESTION = mutation(
    "createQuestion", "CreateQuestionInput", f"QuestionSuccess {{ question {{ {QUESTION_FIELDS} }} }}"
)
START = mutation(
    "startQuizAttempt", "StartQuizAttemptInput", f"QuizAttemptSuccess {{ attempt {{ {ATTEMPT_FIELDS} }} }}"
)
SAVE = mutation(
    "saveAnswer",
    "SaveAnswerInput",
    "SaveAnswerSuccess { answer { questionId choices boolean text number correct } }",
)
SUBMIT = mutation(
    "submitQuizAttempt", "SubmitQuizAttemptInput", f"QuizAttemptSuccess {{ attempt {{ {ATTEMPT_FIELDS} }} }}"
)
QUIZ = f"""query($id: ID!) {{ quiz(id: $id) {{ id title status course {{ id }}
  questions {{ nodes {{ {QUESTION_FIELDS} }} }} myAttempts {{ nodes {{ id score passed }} }} }} }}"""
ATTEMPTS = f"""query($quiz: ID!, $filter: AttemptFilter, $first: Int, $after: String) {{
  quizAttempts(quizId: $quiz, filter: $filter, first: $first, after: $after) {{
    edges {{ node {{ {ATTEMPT_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
ENTITIES = """query($representations: [_Any!]!) { _entities(representations: $representations) {
  __typename
  ... on Quiz { id title questions { nodes { id correctAnswer { choices } } } }
  ... on QuizAttempt { id score user { id } }
  ... on Course { id quizzes { nodes { id title myAttempts { nodes { id } } questions { nodes { id } } } } }
  ... on User { id quizAttempts(first: 100) { edges { node { id score quiz { id title } } } } } } }"""


def reps(typename: str, *ids) -> dict:
    return {"representations": [{"__typename": typename, "id": str(i)} for i in ids]}


def result(body: dict, field: str) -> dict:
    assert "errors" not in body, body
    return body["data"][field]
