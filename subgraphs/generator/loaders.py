"""Per-request DataLoaders of the generator subgraph."""

from __future__ import annotations

from dataclasses import dataclass

from subgraphs.core.context import Context
from subgraphs.core.loaders import RowLoader, by_key_loader
from subgraphs.core.pages import PageLoader, newest_first
from subgraphs.generator import jobs
from subgraphs.generator.models import GenerationJob


@dataclass
class Loaders:
    job_by_id: RowLoader[GenerationJob]
    jobs_page_by_course_id: PageLoader


def build_loaders(context: Context) -> Loaders:
    return Loaders(
        job_by_id=by_key_loader(context, GenerationJob, GenerationJob.id),
        jobs_page_by_course_id=newest_first(context, GenerationJob.course_id, where=jobs.visible_clause),
    )
