"""Per-request DataLoaders of the analytics subgraph: `Course.stats`, `Enrollment.engagement` and every
`resolve_reference` batch many parents into one query (plus one Redis round trip for the caches)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from strawberry.dataloader import DataLoader

from subgraphs.analytics import service
from subgraphs.analytics.models import Course, Learner
from subgraphs.core.context import Context
from subgraphs.core.loaders import RowLoader, by_key_loader, memberships_loader, warm_memberships


@dataclass
class Loaders:
    context: Context
    course_by_id: RowLoader[Course]
    learner_by_enrollment_id: RowLoader[Learner]
    metrics_by_learner: DataLoader[Any, dict | None]
    stats_by_course_id: DataLoader[Any, dict]
    active_today_by_course_id: DataLoader[Any, int]
    # One shared read of the viewer's memberships per request (see core.loaders.warm_memberships).
    memberships_by_user_id: DataLoader[Any, Any]

    async def can_view_course(self, course: Course | None) -> bool:
        if course is None:
            return False
        await warm_memberships(self.context)
        return await service.can_view_course(self.context.caller, course)


def build_loaders(context: Context) -> Loaders:
    runtime = context.runtime

    async def metrics(keys: Sequence[Any]) -> list[dict | None]:
        found = await service.metrics_by_learner(runtime, list(keys))
        return [found.get(k) for k in keys]

    async def stats(course_ids: Sequence[Any]) -> list[dict]:
        found = await service.stats_by_course(runtime, list(course_ids))
        return [found[c] for c in course_ids]

    async def today(course_ids: Sequence[Any]) -> list[int]:
        found = await service.active_today(runtime, list(course_ids))
        return [found[c] for c in course_ids]

    return Loaders(
        context=context,
        course_by_id=by_key_loader(context, Course, Course.course_id),
        learner_by_enrollment_id=by_key_loader(context, Learner, Learner.enrollment_id),
        metrics_by_learner=DataLoader(load_fn=metrics),
        stats_by_course_id=DataLoader(load_fn=stats),
        active_today_by_course_id=DataLoader(load_fn=today),
        memberships_by_user_id=memberships_loader(context),
    )
