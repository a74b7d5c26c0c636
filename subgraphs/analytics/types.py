"""GraphQL types of the analytics subgraph."""

from __future__ import annotations

import urllib.parse
from datetime import date, datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from subgraphs.analytics import metrics, service
from subgraphs.analytics.metrics import RiskLevel
from subgraphs.analytics.service import ActivityType
from subgraphs.core.errors import ForbiddenError, RateLimitedError, ValidationError
from subgraphs.core.federation import COURSE, Stub, load_reference, stub
from subgraphs.core.federation import UserStub as User
from subgraphs.core.ids import to_id
from subgraphs.core.pagination import list_size

# The router's cost estimate of a report's student lists: the course size reports are measured at (README).
REPORT_STUDENTS = 2000

# GraphQL enums: strawberry.enum registers each Python enum class itself (and returns it): fields name it.
strawberry.enum(RiskLevel, name="RiskLevel", description="LOW | MEDIUM | HIGH (see RiskIndicator).")
strawberry.enum(ActivityType, name="ActivityType")


def csv_url(info: strawberry.Info, path: str, **query: Any) -> str:
    """A report's download link on the router's origin (the router forwards /reports/* here)."""
    settings = info.context.settings
    base = (settings.analytics.public_url or f"http://{settings.router.host}:{settings.router.port}").rstrip(
        "/"
    )
    params = {k: str(v) for k, v in query.items() if v is not None}
    return f"{base}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")


@strawberry.type(description="One input of the risk level: its value, the threshold, and whether it counts.")
class RiskIndicator:
    name: str = strawberry.field(
        description="days_inactive | engagement_score | proficiency_score | failed_quiz_attempts"
    )
    value: float | None
    threshold: float
    contributes: bool


def _indicators(raw: list[dict[str, Any]]) -> list[RiskIndicator]:
    return [RiskIndicator(**i) for i in raw]


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@strawberry.type(description="How one student is doing in one course. Formulas: README (Analytics).")
class Engagement:
    engagement_score: float = strawberry.field(description="0-100: recency, frequency, completion, lab time.")
    proficiency_score: float | None = strawberry.field(
        description="0-100 from quiz scores, pass rate and lab outcomes; null without any evidence yet."
    )
    risk_level: RiskLevel
    indicators: list[RiskIndicator] = strawberry.field(directives=[list_size(10)])
    recommendations: list[str]
    last_activity_at: datetime | None

    @classmethod
    def from_metrics(cls, m: dict[str, Any]) -> Engagement:
        level = RiskLevel(m["risk_level"])
        return cls(
            engagement_score=m["engagement_score"],
            proficiency_score=m["proficiency_score"],
            risk_level=level,
            indicators=_indicators(m["indicators"]),
            recommendations=list(metrics.RECOMMENDATIONS[level]),
            last_activity_at=_dt(m["last_activity_at"]),
        )


@strawberry.type(description="A course's numbers (cached up to an hour, dropped on the course's next event).")
class CourseStats:
    enrollments: int = strawberry.field(description="Students not dropped.")
    active_students: int = strawberry.field(description="Enrolled students active in the last 7 days.")
    active_today: int = strawberry.field(description="Distinct students active today (UTC), live.")
    completion_rate: float = strawberry.field(description="Percent of enrollments COMPLETED.")
    average_quiz_score: float | None = strawberry.field(
        description="Mean percent of every submitted attempt of the enrollments (dropped students' "
        "attempts do not count)."
    )
    average_progress: float = strawberry.field(description="Mean progress percent of enrollments.")
    lab_hours: float
    at_risk_count: int = strawberry.field(description="Enrollments whose risk level is HIGH.")
    computed_at: datetime

    @classmethod
    def from_stats(cls, s: dict[str, Any], active_today: int) -> CourseStats:
        return cls(
            enrollments=s["enrollments"],
            active_students=s["active_students"],
            active_today=active_today,
            completion_rate=s["completion_rate"],
            average_quiz_score=s["average_quiz_score"],
            average_progress=s["average_progress"],
            lab_hours=s["lab_hours"],
            at_risk_count=s["at_risk_count"],
            computed_at=datetime.fromisoformat(s["computed_at"]),
        )


@stub(COURSE)
class Course(Stub):
    @strawberry.federation.field(
        authenticated=True,
        description="The course's numbers: for its instructor, the organization's admins and site admins "
        "(null for anyone else).",
    )
    async def stats(self, info: strawberry.Info) -> CourseStats | None:
        loaders = info.context.loaders
        course = await load_reference(info, loaders.course_by_id, self.id)
        if course is None or not await loaders.can_view_course(course):
            return None
        stats = await loaders.stats_by_course_id.load(course.course_id)
        return CourseStats.from_stats(stats, await loaders.active_today_by_course_id.load(course.course_id))


@stub("An enrollment (the courses subgraph owns it).")
class Enrollment(Stub):
    @strawberry.federation.field(
        authenticated=True,
        description="Engagement, proficiency and risk of this student in this course: the student, the "
        "course's instructor, the organization's admins (null for others, and until the first event of "
        "the enrollment is ingested). Cached up to 5 minutes, dropped on the student's next event.",
    )
    async def engagement(self, info: strawberry.Info) -> Engagement | None:
        loaders = info.context.loaders
        learner = await load_reference(info, loaders.learner_by_enrollment_id, self.id)
        if learner is None:
            return None
        if info.context.principal.user_id != learner.user_id:
            course = await loaders.course_by_id.load(learner.course_id)
            if not await loaders.can_view_course(course):
                return None
        m = await loaders.metrics_by_learner.load((learner.course_id, learner.user_id))
        return Engagement.from_metrics(m) if m else None


@strawberry.type(description="One UTC day of a course (or of an organization's courses, summed).")
class DailyPoint:
    day: date
    active_students: int
    submissions: int = strawberry.field(description="Quiz attempts submitted.")
    lab_hours: float
    lesson_completions: int


def points(series: list[dict[str, Any]]) -> list[DailyPoint]:
    return [DailyPoint(**p) for p in series]


@strawberry.type(description="One student's line in a course report.")
class StudentSummary:
    user: User
    enrollment_id: strawberry.ID | None
    status: str
    progress_percent: int
    lessons_completed: int
    quiz_attempts: int
    average_quiz_score: float | None
    lab_hours: float
    engagement: Engagement

    @classmethod
    def from_metrics(cls, m: dict[str, Any]) -> StudentSummary:
        return cls(
            user=User(id=to_id(m["user_id"])),
            enrollment_id=to_id(m["enrollment_id"]) if m["enrollment_id"] else None,
            status=m["status"],
            progress_percent=m["progress_percent"],
            lessons_completed=m["lessons_completed"],
            quiz_attempts=m["quiz_attempts"],
            average_quiz_score=m["average_quiz_score"],
            lab_hours=m["lab_hours"],
            engagement=Engagement.from_metrics(m),
        )


@strawberry.type(description="A student in a course: metrics, counters, the days they were active.")
class StudentReport:
    user: User
    course: Course
    summary: StudentSummary
    last_login_at: datetime | None
    active_days: list[date]
    csv_url: str


@strawberry.type(description="A course over a date range: stats, daily series for charts, every student.")
class CourseReport:
    course: Course
    title: str
    since: date
    until: date
    stats: CourseStats
    series: list[DailyPoint] = strawberry.field(directives=[list_size(service.MAX_RANGE_DAYS)])
    at_risk_students: list[StudentSummary] = strawberry.field(
        directives=[list_size(REPORT_STUDENTS)], description="HIGH risk, least engaged first."
    )
    students: list[StudentSummary] = strawberry.field(
        directives=[list_size(REPORT_STUDENTS)], description="Every student, least engaged first."
    )
    csv_url: str = strawberry.field(description="The students as CSV (same token).")
    daily_csv_url: str = strawberry.field(description="The daily `series` as CSV (same token).")


@strawberry.type
class CourseStatsLine:
    course: Course
    title: str
    stats: CourseStats


@strawberry.type(description="An organization's courses over a date range.")
class OrganizationReport:
    organization_id: strawberry.ID
    since: date
    until: date
    enrollments: int
    active_students: int
    at_risk_count: int
    lab_hours: float
    generation_jobs: int = strawberry.field(description="AI generation jobs requested in the range.")
    courses: list[CourseStatsLine] = strawberry.field(directives=[list_size(500)])
    series: list[DailyPoint] = strawberry.field(directives=[list_size(service.MAX_RANGE_DAYS)])
    csv_url: str


@strawberry.type(description="A student's risk level rose to HIGH (course instructors and admins).")
class RiskAlert:
    seq: int
    at: datetime
    course: Course
    user: User
    enrollment_id: strawberry.ID | None
    level: RiskLevel
    previous_level: RiskLevel
    engagement_score: float
    proficiency_score: float | None
    indicators: list[RiskIndicator] = strawberry.field(directives=[list_size(10)])
    recommendations: list[str]

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> RiskAlert:
        d = message["data"]
        return cls(
            seq=message["seq"],
            at=datetime.fromisoformat(message["at"]),
            course=Course(id=to_id(d["course_id"])),
            user=User(id=to_id(d["user_id"])),
            enrollment_id=to_id(d["enrollment_id"]) if d.get("enrollment_id") else None,
            level=RiskLevel(d["level"]),
            previous_level=RiskLevel(d["previous_level"]),
            engagement_score=d["engagement_score"],
            proficiency_score=d["proficiency_score"],
            indicators=_indicators(d["indicators"]),
            recommendations=list(d["recommendations"]),
        )


@strawberry.input
class TrackActivityInput:
    type: ActivityType
    course_id: strawberry.ID
    payload: JSON | None = strawberry.field(
        default=None, description=f"A small JSON object (at most {service.PAYLOAD_MAX_BYTES} bytes)."
    )


@strawberry.type
class TrackActivitySuccess:
    event_id: strawberry.ID


TrackActivityResult = Annotated[
    TrackActivitySuccess | ValidationError | RateLimitedError | ForbiddenError,
    strawberry.union("TrackActivityResult"),
]
