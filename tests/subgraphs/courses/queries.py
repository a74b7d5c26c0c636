"""GraphQL documents of the courses subgraph tests."""

ERR = "... on Error { code message } ... on ValidationError { fieldErrors { field message } }"
COURSE_FIELDS = (
    "id title slug description category difficulty estimatedDurationHours status visibility enrollmentCap "
    "createdAt updatedAt publishedAt instructor { id } organization { id }"
)


def mutation(name: str, input_type: str, success: str) -> str:
    return f"""mutation($input: {input_type}!) {{ {name}(input: $input) {{
  __typename ... on {success} {ERR} }} }}"""


CREATE_COURSE = mutation(
    "createCourse", "CreateCourseInput", f"CourseSuccess {{ course {{ {COURSE_FIELDS} }} }}"
)
UPDATE_COURSE = mutation(
    "updateCourse", "UpdateCourseInput", f"CourseSuccess {{ course {{ {COURSE_FIELDS} }} }}"
)
PUBLISH = mutation("publishCourse", "CourseIdInput", "CourseSuccess { course { id status publishedAt } }")
UNPUBLISH = mutation("unpublishCourse", "CourseIdInput", "CourseSuccess { course { id status } }")
ARCHIVE = mutation("archiveCourse", "CourseIdInput", "CourseSuccess { course { id status } }")
DELETE_COURSE = mutation("deleteCourse", "CourseIdInput", "DeleteSuccess { id }")
CREATE_MODULE = mutation(
    "createModule", "CreateModuleInput", "ModuleSuccess { module { id title position } }"
)
UPDATE_MODULE = mutation("updateModule", "UpdateModuleInput", "ModuleSuccess { module { id title } }")
DELETE_MODULE = mutation("deleteModule", "DeleteInput", "DeleteSuccess { id }")
REORDER_MODULES = mutation(
    "reorderModules",
    "ReorderModulesInput",
    "CourseSuccess { course { modules { nodes { id title position } } } }",
)
CREATE_LESSON = mutation(
    "createLesson", "CreateLessonInput", "LessonSuccess { lesson { id title body position moduleId } }"
)
UPDATE_LESSON = mutation("updateLesson", "UpdateLessonInput", "LessonSuccess { lesson { id title body } }")
DELETE_LESSON = mutation("deleteLesson", "DeleteInput", "DeleteSuccess { id }")
REORDER_LESSONS = mutation(
    "reorderLessons",
    "ReorderLessonsInput",
    "ModuleSuccess { module { lessons { nodes { id title position } } } }",
)
EXERCISE_FIELDS = "id title instructions language starterFiles { path content } tests { path content } labIde"
CREATE_EXERCISE = mutation(
    "createExercise", "CreateExerciseInput", f"ExerciseSuccess {{ exercise {{ {EXERCISE_FIELDS} }} }}"
)
UPDATE_EXERCISE = mutation(
    "updateExercise", "UpdateExerciseInput", f"ExerciseSuccess {{ exercise {{ {EXERCISE_FIELDS} }} }}"
)
DELETE_EXERCISE = mutation("deleteExercise", "DeleteInput", "DeleteSuccess { id }")
ENROLLMENT_FIELDS = (
    "id status progressPercent enrolledAt completedAt lastActivityAt user { id } course { id title }"
)
ENROLL = mutation("enroll", "EnrollInput", f"EnrollmentSuccess {{ enrollment {{ {ENROLLMENT_FIELDS} }} }}")
DROP = mutation(
    "dropEnrollment", "DropEnrollmentInput", f"EnrollmentSuccess {{ enrollment {{ {ENROLLMENT_FIELDS} }} }}"
)
COMPLETE = mutation(
    "completeLesson",
    "CompleteLessonInput",
    f"EnrollmentSuccess {{ enrollment {{ {ENROLLMENT_FIELDS} completedLessonIds }} }}",
)
FEEDBACK = mutation(
    "submitFeedback",
    "SubmitFeedbackInput",
    "FeedbackSuccess { feedback { id rating comment author { id } } }",
)
COURSE = f"""query($id: ID, $slug: String, $org: ID) {{ course(id: $id, slug: $slug, organizationId: $org) {{
  {COURSE_FIELDS}
  modules {{ nodes {{ id title position lessons {{ nodes {{ id title body position completed }} }} }} }}
  exercises {{ nodes {{ {EXERCISE_FIELDS} }} }} viewerEnrollment {{ id status progressPercent }}
  enrollments(first: 10) {{ edges {{ node {{ id user {{ id }} }} }} }}
  feedback(first: 10) {{ edges {{ node {{ rating comment author {{ id }} }} }} }} }} }}"""
COURSES = """query($filter: CourseFilter, $orderBy: CourseOrder, $first: Int, $after: String) {
  courses(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    edges { cursor node { id title status } } pageInfo { hasNextPage endCursor } } }"""
ENTITIES = """query($representations: [_Any!]!) { _entities(representations: $representations) {
  __typename
  ... on Course { id title status modules { nodes { id lessons { nodes { id } } } } }
  ... on Enrollment { id enrollmentStatus: status progressPercent course { id } }
  ... on Exercise { id title tests { path } }
  ... on User { id enrollments(first: 100) { edges { node { id course { id title } } } }
                taughtCourses(first: 100) { edges { node { id } } } }
  ... on Organization { id courses(first: 100) { edges { node { id title } } } } } }"""
DASHBOARD = """query($representations: [_Any!]!) { _entities(representations: $representations) {
  ... on User { enrollments(first: 100) { edges { node { id status progressPercent
    course { id title instructor { id } organization { id }
      modules(first: 100) { nodes { id title lessons(first: 100) { nodes { id title completed } } } }
      exercises(first: 100) { nodes { id title } } } } } } } } }"""


def reps(typename: str, *ids: str) -> dict:
    return {"representations": [{"__typename": typename, "id": str(i)} for i in ids]}


def result(body: dict, field: str) -> dict:
    assert "errors" not in body, body
    return body["data"][field]
