"""The events of the labs domain (`events.labs`): a session's lifecycle (docs/domains/labs.md, "Events").

Every type carries the same snapshot of the session. `running_seconds` is the running time since the last
event that reported it (set on paused, stopped and failed), so summing it over events gives the total.
"""

from __future__ import annotations

import uuid

from subgraphs.contracts.base import EventPayload
from subgraphs.contracts.vocabulary import LabIde


class LabSessionSnapshot(EventPayload):
    session_id: uuid.UUID
    user_id: uuid.UUID
    organization_id: uuid.UUID
    exercise_id: uuid.UUID
    course_id: uuid.UUID
    ide: LabIde
    status: str  # the session's status after the change (labs.states.LabStatus)
    running_seconds: float = 0.0
    reason: str | None = None  # why it stopped or failed ("idle", "admin", an error...)


class LabSessionRequested(LabSessionSnapshot):
    TYPE = "labs.session.requested"


class LabSessionStarted(LabSessionSnapshot):
    TYPE = "labs.session.started"


class LabSessionPaused(LabSessionSnapshot):
    TYPE = "labs.session.paused"


class LabSessionResumed(LabSessionSnapshot):
    TYPE = "labs.session.resumed"


class LabSessionStopped(LabSessionSnapshot):
    TYPE = "labs.session.stopped"


class LabSessionFailed(LabSessionSnapshot):
    TYPE = "labs.session.failed"


# The intents the labs worker acts on (not part of the lifecycle other domains follow).
class LabSessionPauseRequested(LabSessionSnapshot):
    TYPE = "labs.session.pause_requested"


class LabSessionResumeRequested(LabSessionSnapshot):
    TYPE = "labs.session.resume_requested"


class LabSessionStopRequested(LabSessionSnapshot):
    TYPE = "labs.session.stop_requested"
