"""Per-request DataLoaders of the generator subgraph."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strawberry.dataloader import DataLoader

from subgraphs.core.context import Context
from subgraphs.core.loaders import by_key_loader
from subgraphs.core.pages import Page, page_loader, time_id
from subgraphs.generator import jobs
from subgraphs.generator.models import GenerationJob


@dataclass
class Loaders:
    job_by_id: DataLoader[Any, GenerationJob | None]
    jobs_page_by_course_id: DataLoader[Any, Page]


def build_loaders(context: Context) -> Loaders:
    async def visible() -> Any:
        return await jobs.visible_clause(context.caller)

    return Loaders(
        job_by_id=by_key_loader(context, GenerationJob, GenerationJob.id),
        jobs_page_by_course_id=page_loader(
            context,
            GenerationJob,
            GenerationJob.course_id,
            (GenerationJob.created_at, GenerationJob.id),
            time_id,
            where=visible,
            descending=True,
        ),
    )
