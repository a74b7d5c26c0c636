"""GraphQL documents of the analytics subgraph tests."""

ENGAGEMENT = """engagementScore proficiencyScore riskLevel lastActivityAt recommendations
  indicators { name value threshold contributes }"""
STATS = """enrollments activeStudents activeToday completionRate averageQuizScore averageProgress labHours
  atRiskCount computedAt"""
ENTITIES = f"""query($representations: [_Any!]!) {{ _entities(representations: $representations) {{
  ... on Course {{ id stats {{ {STATS} }} }}
  ... on Enrollment {{ id engagement {{ {ENGAGEMENT} }} }} }} }}"""
COURSE_REPORT = f"""query($c: ID!, $since: Date, $until: Date) {{
  courseReport(courseId: $c, since: $since, until: $until) {{
  title since until csvUrl stats {{ {STATS} }}
  series {{ day activeStudents submissions labHours lessonCompletions }}
  students {{ user {{ id }} status progressPercent lessonsCompleted quizAttempts averageQuizScore labHours
    engagement {{ engagementScore riskLevel }} }}
  atRiskStudents {{ user {{ id }} }} }} }}"""
STUDENT_REPORT = f"""query($u: ID!, $c: ID!) {{ studentReport(userId: $u, courseId: $c) {{
  csvUrl lastLoginAt activeDays summary {{ status progressPercent lessonsCompleted quizAttempts
    averageQuizScore labHours engagement {{ {ENGAGEMENT} }} }} }} }}"""
ORG_REPORT = f"""query($o: ID!) {{ organizationReport(organizationId: $o) {{ enrollments activeStudents
  atRiskCount labHours generationJobs csvUrl courses {{ title course {{ id }} stats {{ {STATS} }} }}
  series {{ day activeStudents submissions }} }} }}"""
TRACK = """mutation($input: TrackActivityInput!) { trackActivity(input: $input) { __typename
  ... on TrackActivitySuccess { eventId } ... on Error { code message }
  ... on ValidationError { fieldErrors { field message } }
  ... on RateLimitedError { retryAfterSeconds } } }"""


def reps(typename: str, *ids) -> dict:
    return {"representations": [{"__typename": typename, "id": str(i)} for i in ids]}
