"""Per-request DataLoaders of the content subgraph."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strawberry.dataloader import DataLoader

from subgraphs.content import exporting, service
from subgraphs.content.models import ContentItem, ContentVersion, CourseOwner, ExportJob, ImportJob
from subgraphs.core.context import Context
from subgraphs.core.loaders import by_key_loader
from subgraphs.core.pages import Page, int_id, page_loader, time_id


@dataclass
class Loaders:
    item_by_id: DataLoader[Any, ContentItem | None]
    version_by_id: DataLoader[Any, ContentVersion | None]
    course_owner_by_id: DataLoader[Any, CourseOwner | None]
    items_page_by_course_id: DataLoader[Any, Page]
    items_page_by_lesson_id: DataLoader[Any, Page]
    versions_page_by_item_id: DataLoader[Any, Page]
    export_by_id: DataLoader[Any, ExportJob | None]
    exports_page_by_course_id: DataLoader[Any, Page]
    import_by_id: DataLoader[Any, ImportJob | None]


def build_loaders(context: Context) -> Loaders:
    async def visible() -> Any:
        return await service.visible_clause(context.caller)

    async def visible_exports() -> Any:
        return await exporting.visible_clause(context.caller)

    def items_by(column: Any) -> DataLoader[Any, Page]:
        return page_loader(
            context,
            ContentItem,
            column,
            (ContentItem.created_at, ContentItem.id),
            time_id,
            where=visible,
        )

    return Loaders(
        item_by_id=by_key_loader(context, ContentItem, ContentItem.id),
        version_by_id=by_key_loader(context, ContentVersion, ContentVersion.id),
        course_owner_by_id=by_key_loader(context, CourseOwner, CourseOwner.course_id),
        items_page_by_course_id=items_by(ContentItem.course_id),
        items_page_by_lesson_id=items_by(ContentItem.lesson_id),
        # Versions are read only through an item the caller was allowed to see.
        versions_page_by_item_id=page_loader(
            context,
            ContentVersion,
            ContentVersion.item_id,
            (ContentVersion.number, ContentVersion.id),
            int_id,
            descending=True,
        ),
        export_by_id=by_key_loader(context, ExportJob, ExportJob.id),
        exports_page_by_course_id=page_loader(
            context,
            ExportJob,
            ExportJob.course_id,
            (ExportJob.created_at, ExportJob.id),
            time_id,
            where=visible_exports,
            descending=True,
        ),
        import_by_id=by_key_loader(context, ImportJob, ImportJob.id),
    )
