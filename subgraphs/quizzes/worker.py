"""The quizzes domain's background tasks: its projection of the courses it needs for authorization, and
applying generated quiz drafts, and creating imported quizzes."""

from __future__ import annotations

from subgraphs.core.domains import WorkerDeps
from subgraphs.quizzes.generated import GeneratedQuizConsumer
from subgraphs.quizzes.imported import ImportedQuizConsumer
from subgraphs.quizzes.projection import CoursesProjectionConsumer


def worker_tasks(deps: WorkerDeps) -> list:
    return [
        CoursesProjectionConsumer(deps.redis, deps.sessionmaker, **deps.consumer_options),
        GeneratedQuizConsumer(deps.redis, deps.sessionmaker, **deps.consumer_options),
        ImportedQuizConsumer(deps.redis, deps.sessionmaker, **deps.consumer_options),
    ]
