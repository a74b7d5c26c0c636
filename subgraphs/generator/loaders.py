"""Per-request DataLoaders of the generator subgraph."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from subgraphs.core.context import Context
from subgraphs.core.loaders import by_key_loader
from subgraphs.generator import service
from subgraphs.generator.models import GenerationJob

JOBS_PER_COURSE = 50


@dataclass
class Loaders:
    job_by_id: DataLoader[Any, GenerationJob | None]
    visible_jobs_by_course_id: DataLoader[Any, list[GenerationJob]]


def build_loaders(context: Context) -> Loaders:
    async def jobs_by_course(course_ids: Sequence[Any]) -> list[list[GenerationJob]]:
        visible = await service.visible_clause(context, context.meta)
        async with context.transaction() as session:
            rows = (
                await session.scalars(
                    select(GenerationJob)
                    .where(GenerationJob.course_id.in_(course_ids), visible)
                    .order_by(GenerationJob.created_at.desc(), GenerationJob.id.desc())
                )
            ).all()
        grouped: dict[Any, list[GenerationJob]] = defaultdict(list)
        for row in rows:
            if len(grouped[row.course_id]) < JOBS_PER_COURSE:
                grouped[row.course_id].append(row)
        return [grouped.get(c, []) for c in course_ids]

    return Loaders(
        job_by_id=by_key_loader(context, GenerationJob, GenerationJob.id),
        visible_jobs_by_course_id=DataLoader(load_fn=jobs_by_course),
    )
