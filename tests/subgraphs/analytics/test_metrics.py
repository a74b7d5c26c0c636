"""The metrics' formulas (subgraphs/analytics/metrics.py), with expected values worked out by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from subgraphs.analytics.metrics import (
    RECOMMENDATIONS,
    LearnerState,
    RiskLevel,
    assess,
    engagement_score,
    proficiency_score,
    risk_level,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def state(**changes) -> LearnerState:
    base = LearnerState(
        status="ACTIVE",
        last_activity_at=NOW,
        active_days_14=1,
        progress_percent=0,
        lab_seconds=0.0,
        quiz_attempts=0,
        quiz_percent_sum=0.0,
        quizzes_passed=0,
        lab_sessions_ended=0,
        lab_sessions_failed=0,
    )
    return replace(base, **changes)


def test_engagement_weighs_recency_frequency_completion_and_lab_time():
    s = state(
        last_activity_at=NOW - timedelta(days=3), active_days_14=4, progress_percent=50, lab_seconds=3600
    )
    # recency 100 * (1 - 2/13) = 84.615; frequency 100 * 4/7 = 57.143; completion 50; lab 100 * 1h/2h = 50
    # 0.40 * 84.615 + 0.20 * 57.143 + 0.25 * 50 + 0.15 * 50 = 33.846 + 11.429 + 12.5 + 7.5 = 65.275
    assert engagement_score(s, NOW) == 65.3


def test_engagement_of_a_student_who_just_enrolled():
    # recency 100 (within a day), frequency 100/7, nothing completed: 40 + 2.857 = 42.857
    assert engagement_score(state(), NOW) == 42.9


def test_engagement_caps_each_component():
    s = state(
        last_activity_at=NOW - timedelta(days=30), active_days_14=14, progress_percent=100, lab_seconds=99999
    )
    # recency 0 (past 14 days), frequency capped at 100, completion 100, lab capped at 100
    assert engagement_score(s, NOW) == 0.2 * 100 + 0.25 * 100 + 0.15 * 100


def test_proficiency_renormalizes_over_the_evidence_there_is():
    assert proficiency_score(state()) is None
    # one quiz at 40 %, failed: (0.6 * 40 + 0.2 * 0) / 0.8 = 30
    assert proficiency_score(state(quiz_attempts=1, quiz_percent_sum=40)) == 30.0
    # quizzes 75 % average, half passed, half the labs failed: 0.6 * 75 + 0.2 * 50 + 0.2 * 50 = 65
    full = state(
        quiz_attempts=2, quiz_percent_sum=150, quizzes_passed=1, lab_sessions_ended=2, lab_sessions_failed=1
    )
    assert proficiency_score(full) == 65.0
    # labs only: 100 * 3/4 = 75
    assert proficiency_score(state(lab_sessions_ended=4, lab_sessions_failed=1)) == 75.0


def indicators(a) -> dict:
    return {i.name: (i.value, i.threshold, i.contributes) for i in a.indicators}


def test_low_risk_when_nothing_contributes():
    s = state(
        last_activity_at=NOW - timedelta(days=3),
        active_days_14=4,
        progress_percent=50,
        lab_seconds=3600,
        quiz_attempts=2,
        quiz_percent_sum=150,
        quizzes_passed=1,
    )
    a = assess(s, NOW)
    assert a.risk is RiskLevel.LOW
    assert indicators(a) == {
        "days_inactive": (3.0, 7.0, False),
        "engagement_score": (65.3, 40.0, False),
        # no lab evidence: (0.6 * 75 + 0.2 * 50) / 0.8 = 68.75
        "proficiency_score": (68.8, 50.0, False),
        "failed_quiz_attempts": (1.0, 2, False),
    }
    assert a.recommendations == RECOMMENDATIONS[RiskLevel.LOW]


def test_medium_risk_with_one_indicator():
    a = assess(state(quiz_attempts=1, quiz_percent_sum=40), NOW)
    assert a.engagement == 42.9 and a.proficiency == 30.0
    assert [i.name for i in a.indicators if i.contributes] == ["proficiency_score"]
    assert a.risk is RiskLevel.MEDIUM


def test_high_risk_with_two_or_more_indicators():
    s = state(
        last_activity_at=NOW - timedelta(days=8),
        active_days_14=1,
        progress_percent=10,
        quiz_attempts=2,
        quiz_percent_sum=60,
    )
    a = assess(s, NOW)
    # recency 100 * (1 - 7/13) = 46.154 -> 18.462 + 2.857 + 2.5 = 23.8; proficiency (0.6 * 30) / 0.8 = 22.5
    assert indicators(a) == {
        "days_inactive": (8.0, 7.0, True),
        "engagement_score": (23.8, 40.0, True),
        "proficiency_score": (22.5, 50.0, True),
        "failed_quiz_attempts": (2.0, 2, True),
    }
    assert a.risk is RiskLevel.HIGH
    assert a.recommendations == RECOMMENDATIONS[RiskLevel.HIGH]


def test_two_weeks_of_inactivity_alone_is_high():
    s = state(
        last_activity_at=NOW - timedelta(days=15), active_days_14=0, progress_percent=100, lab_seconds=7200
    )
    a = assess(s, NOW)
    assert a.engagement == 40.0  # 0.25 * 100 + 0.15 * 100: not below the threshold
    assert [i.name for i in a.indicators if i.contributes] == ["days_inactive"]
    assert a.risk is RiskLevel.HIGH


@pytest.mark.parametrize("status", ["COMPLETED", "DROPPED"])
def test_finished_or_dropped_enrollments_are_low(status):
    s = state(status=status, last_activity_at=NOW - timedelta(days=20), quiz_attempts=3, quiz_percent_sum=0)
    assert assess(s, NOW).risk is RiskLevel.LOW


@pytest.mark.parametrize("status", ["ACTIVE", "COMPLETED", "DROPPED"])
@pytest.mark.parametrize("days_ago", [None, 0.5, 6.9, 7.0, 8.0, 13.9, 14.0, 20.0])
@pytest.mark.parametrize("attempts", [(0, 0.0, 0), (1, 40.0, 0), (2, 150.0, 1), (3, 60.0, 0)])
@pytest.mark.parametrize("labs", [(0, 0, 0.0), (2, 2, 600.0), (4, 1, 7200.0)])
def test_the_consumers_risk_level_is_the_assessments(status, days_ago, attempts, labs):
    quiz_attempts, quiz_percent_sum, quizzes_passed = attempts
    ended, failed, seconds = labs
    s = state(
        status=status,
        last_activity_at=None if days_ago is None else NOW - timedelta(days=days_ago),
        active_days_14=3,
        progress_percent=30,
        lab_seconds=seconds,
        quiz_attempts=quiz_attempts,
        quiz_percent_sum=quiz_percent_sum,
        quizzes_passed=quizzes_passed,
        lab_sessions_ended=ended,
        lab_sessions_failed=failed,
    )
    assert risk_level(s, NOW) is assess(s, NOW).risk
