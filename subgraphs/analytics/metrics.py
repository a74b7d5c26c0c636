"""The analytics metrics: pure functions of a student's aggregate state, every formula written out.

Inputs come from `analytics.learner` (one row per (course, student), kept by the consumer) and
`analytics.learner_day` (the days a student was active in a course). Nothing here reads the database,
the clock or Redis: callers pass `now`. README's analytics section repeats these formulas.

engagementScore (0-100, one decimal)
    = 0.40 * recency + 0.20 * frequency + 0.25 * completion + 0.15 * lab
    recency    = 100 when the last activity in the course is at most 1 day old, falling linearly to 0 at
                 14 days: 100 * clamp(1 - (days_since_last_activity - 1) / 13, 0, 1); 0 without activity
    frequency  = 100 * min(active_days_in_last_14_days / 7, 1)    (every other day is full marks)
    completion = progress_percent of the enrollment (0-100, from courses.lesson.completed)
    lab        = 100 * min(lab_hours / 2, 1)                       (two hours of lab time is full marks)

proficiencyScore (0-100, one decimal; null while there is no evidence: no submitted quiz, no ended lab)
    weighted mean of the components that have data, weights renormalized over those present:
    quiz_average (0.6) = mean of score / max_score * 100 over submitted quiz attempts
    pass_rate    (0.2) = 100 * passed attempts / submitted attempts
    lab_success  (0.2) = 100 * lab sessions ended without failure / lab sessions ended (stopped + failed)

riskLevel (LOW | MEDIUM | HIGH), explained by its indicators (each: value, threshold, contributes):
    days_inactive          contributes when >= 7      (days since the last activity in the course)
    engagement_score       contributes when < 40
    proficiency_score      contributes when < 50      (never while proficiency is null)
    failed_quiz_attempts   contributes when >= 2
    HIGH when two or more contribute, or days_inactive >= 14; MEDIUM when one contributes; LOW otherwise.
    A COMPLETED enrollment is LOW (nothing left to risk); a DROPPED one keeps its indicators but is LOW too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

ENGAGEMENT_WEIGHTS = {"recency": 0.40, "frequency": 0.20, "completion": 0.25, "lab": 0.15}
PROFICIENCY_WEIGHTS = {"quiz_average": 0.6, "pass_rate": 0.2, "lab_success": 0.2}
RECENCY_FULL_DAYS = 1.0
RECENCY_ZERO_DAYS = 14.0
FREQUENCY_WINDOW_DAYS = 14
FREQUENCY_TARGET_DAYS = 7
LAB_TARGET_HOURS = 2.0

INACTIVE_DAYS = 7.0
INACTIVE_DAYS_HIGH = 14.0
LOW_ENGAGEMENT = 40.0
LOW_PROFICIENCY = 50.0
FAILED_ATTEMPTS = 2


class RiskLevel(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


RECOMMENDATIONS: dict[RiskLevel, tuple[str, ...]] = {
    RiskLevel.LOW: (
        "On track: keep the current pace.",
        "Suggest the next lesson or an optional lab to stretch further.",
    ),
    RiskLevel.MEDIUM: (
        "Send a short check-in message this week.",
        "Point the student to the next unfinished lesson and its lab.",
        "Offer the quiz topics they missed for review.",
    ),
    RiskLevel.HIGH: (
        "Contact the student directly within two days.",
        "Offer a one-to-one review session of the failed quiz topics.",
        "Agree on a catch-up plan (deadlines, smaller weekly goals).",
        "Tell the organization's student support if there is no answer within a week.",
    ),
}


@dataclass(frozen=True)
class LearnerState:
    """What the metrics need of one student in one course."""

    status: str  # ACTIVE | COMPLETED | DROPPED
    last_activity_at: datetime | None
    active_days_14: int  # distinct UTC days with activity among the 14 days ending today
    progress_percent: int
    lab_seconds: float
    quiz_attempts: int  # submitted
    quiz_percent_sum: float  # sum over submitted attempts of score / max_score * 100
    quizzes_passed: int
    lab_sessions_ended: int  # stopped + failed
    lab_sessions_failed: int


@dataclass(frozen=True)
class Indicator:
    name: str
    value: float | None
    threshold: float
    contributes: bool


@dataclass(frozen=True)
class Assessment:
    engagement: float
    proficiency: float | None
    risk: RiskLevel
    indicators: tuple[Indicator, ...]

    @property
    def recommendations(self) -> tuple[str, ...]:
        return RECOMMENDATIONS[self.risk]


def _clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return max(low, min(high, value))


def days_since(last: datetime | None, now: datetime) -> float | None:
    return None if last is None else max(0.0, (now - last).total_seconds() / 86400)


def recency(last: datetime | None, now: datetime) -> float:
    days = days_since(last, now)
    if days is None:
        return 0.0
    span = RECENCY_ZERO_DAYS - RECENCY_FULL_DAYS
    return 100 * _clamp(1 - (days - RECENCY_FULL_DAYS) / span)


def frequency(active_days_14: int) -> float:
    return 100 * min(active_days_14 / FREQUENCY_TARGET_DAYS, 1.0)


def lab_component(lab_seconds: float) -> float:
    return 100 * min(lab_seconds / 3600 / LAB_TARGET_HOURS, 1.0)


def engagement_score(s: LearnerState, now: datetime) -> float:
    w = ENGAGEMENT_WEIGHTS
    score = (
        w["recency"] * recency(s.last_activity_at, now)
        + w["frequency"] * frequency(s.active_days_14)
        + w["completion"] * _clamp(s.progress_percent, 0, 100)
        + w["lab"] * lab_component(s.lab_seconds)
    )
    return round(score, 1)


def proficiency_score(s: LearnerState) -> float | None:
    parts: dict[str, float] = {}
    if s.quiz_attempts:
        parts["quiz_average"] = s.quiz_percent_sum / s.quiz_attempts
        parts["pass_rate"] = 100 * s.quizzes_passed / s.quiz_attempts
    if s.lab_sessions_ended:
        parts["lab_success"] = 100 * (s.lab_sessions_ended - s.lab_sessions_failed) / s.lab_sessions_ended
    if not parts:
        return None
    total = sum(PROFICIENCY_WEIGHTS[k] for k in parts)
    return round(sum(PROFICIENCY_WEIGHTS[k] * v for k, v in parts.items()) / total, 1)


def _signals(s: LearnerState, now: datetime) -> tuple[float, float | None, float | None, int]:
    """(engagement, proficiency, days inactive, failed quiz attempts): what the indicators read."""
    return (
        engagement_score(s, now),
        proficiency_score(s),
        days_since(s.last_activity_at, now),
        s.quiz_attempts - s.quizzes_passed,
    )


def _contributions(
    engagement: float, proficiency: float | None, inactive: float | None, failed: int
) -> tuple[bool, bool, bool, bool]:
    """Whether each indicator contributes: days inactive, engagement, proficiency, failed attempts."""
    return (
        inactive is not None and inactive >= INACTIVE_DAYS,
        engagement < LOW_ENGAGEMENT,
        proficiency is not None and proficiency < LOW_PROFICIENCY,
        failed >= FAILED_ATTEMPTS,
    )


def _level(status: str, contributing: int, inactive: float | None) -> RiskLevel:
    if status in ("COMPLETED", "DROPPED"):
        return RiskLevel.LOW
    if contributing >= 2 or (inactive is not None and inactive >= INACTIVE_DAYS_HIGH):
        return RiskLevel.HIGH
    if contributing == 1:
        return RiskLevel.MEDIUM
    return RiskLevel.LOW


def risk_level(s: LearnerState, now: datetime) -> RiskLevel:
    """`assess(s, now).risk` without building the indicators (the consumer re-evaluates every student a
    batch touches and needs the explanation only for an alert)."""
    if s.status in ("COMPLETED", "DROPPED"):
        return RiskLevel.LOW
    engagement, proficiency, inactive, failed = _signals(s, now)
    return _level(s.status, sum(_contributions(engagement, proficiency, inactive, failed)), inactive)


def assess(s: LearnerState, now: datetime) -> Assessment:
    engagement, proficiency, inactive, failed = _signals(s, now)
    contributes = _contributions(engagement, proficiency, inactive, failed)
    indicators = (
        Indicator(
            "days_inactive", None if inactive is None else round(inactive, 1), INACTIVE_DAYS, contributes[0]
        ),
        Indicator("engagement_score", engagement, LOW_ENGAGEMENT, contributes[1]),
        Indicator("proficiency_score", proficiency, LOW_PROFICIENCY, contributes[2]),
        Indicator("failed_quiz_attempts", float(failed), FAILED_ATTEMPTS, contributes[3]),
    )
    risk = _level(s.status, sum(contributes), inactive)
    return Assessment(engagement, proficiency, risk, indicators)
