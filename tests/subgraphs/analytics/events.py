"""Event envelopes as the producing domains emit them (payload fields as in their services)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from subgraphs.core.db import utcnow
from subgraphs.core.events import Event


@dataclass
class Student:
    course_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    user_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    organization_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    enrollment_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    instructor_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def _event(self, type_: str, at: datetime | None = None, **payload: Any) -> Event:
        return Event(
            type=type_,
            occurred_at=at or utcnow(),
            actor_id=self.user_id,
            organization_id=self.organization_id,
            subject_ids={"user_id": self.user_id, "course_id": self.course_id},
            payload={"user_id": self.user_id, "course_id": self.course_id, **payload},
        )

    def course(self, verb: str = "published", at: datetime | None = None, title: str = "Graphs") -> Event:
        return Event(
            type=f"courses.course.{verb}",
            occurred_at=at or utcnow(),
            organization_id=self.organization_id,
            subject_ids={"course_id": self.course_id},
            payload={
                "course_id": self.course_id,
                "organization_id": self.organization_id,
                "instructor_id": self.instructor_id,
                "status": "PUBLISHED",
                "title": title,
            },
        )

    def enrollment(self, verb: str, at: datetime | None = None) -> Event:
        status = {"created": "ACTIVE", "dropped": "DROPPED", "completed": "COMPLETED"}[verb]
        return self._event(
            f"courses.enrollment.{verb}",
            at,
            enrollment_id=self.enrollment_id,
            organization_id=self.organization_id,
            status=status,
        )

    def lesson(self, progress: int, at: datetime | None = None) -> Event:
        return self._event(
            "courses.lesson.completed",
            at,
            lesson_id=str(uuid.uuid4()),
            enrollment_id=self.enrollment_id,
            progress_percent=progress,
        )

    def quiz(self, score: float, max_score: float, passed: bool, at: datetime | None = None) -> Event:
        return self._event(
            "quizzes.attempt.submitted",
            at,
            attempt_id=str(uuid.uuid4()),
            quiz_id=str(uuid.uuid4()),
            score=score,
            max_score=max_score,
            passed=passed,
            late=False,
        )

    def lab(
        self,
        verb: str,
        running_seconds: float = 0.0,
        session_id: str | None = None,
        at: datetime | None = None,
    ) -> Event:
        """README "Labs → Events": labs.session.<verb> with running_seconds on paused/stopped/failed."""
        return Event(
            type=f"labs.session.{verb}",
            occurred_at=at or utcnow(),
            actor_id=self.user_id,
            organization_id=self.organization_id,
            subject_ids={"session_id": session_id or "s", "user_id": self.user_id},
            payload={
                "session_id": session_id or str(uuid.uuid4()),
                "user_id": self.user_id,
                "organization_id": self.organization_id,
                "exercise_id": str(uuid.uuid4()),
                "course_id": self.course_id,
                "ide": "VSCODE",
                "status": {
                    "started": "RUNNING",
                    "resumed": "RUNNING",
                    "paused": "PAUSED",
                    "stopped": "STOPPED",
                    "failed": "FAILED",
                }.get(verb, "REQUESTED"),
                "running_seconds": running_seconds,
                "reason": "user" if verb in ("paused", "stopped") else None,
            },
        )
