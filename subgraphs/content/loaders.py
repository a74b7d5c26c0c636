"""Per-request DataLoaders of the content subgraph."""

from __future__ import annotations

from dataclasses import dataclass

from subgraphs.content import exporting, service
from subgraphs.content.models import ContentItem, ContentVersion, CourseOwner, ExportJob, ImportJob
from subgraphs.core.context import Context
from subgraphs.core.loaders import RowLoader, by_key_loader
from subgraphs.core.pages import PageLoader, newest_first, oldest_first, page_loader


@dataclass
class Loaders:
    item_by_id: RowLoader[ContentItem]
    version_by_id: RowLoader[ContentVersion]
    course_owner_by_id: RowLoader[CourseOwner]
    items_page_by_course_id: PageLoader
    items_page_by_lesson_id: PageLoader
    versions_page_by_item_id: PageLoader
    export_by_id: RowLoader[ExportJob]
    exports_page_by_course_id: PageLoader
    import_by_id: RowLoader[ImportJob]


def build_loaders(context: Context) -> Loaders:
    return Loaders(
        item_by_id=by_key_loader(context, ContentItem, ContentItem.id),
        version_by_id=by_key_loader(context, ContentVersion, ContentVersion.id),
        course_owner_by_id=by_key_loader(context, CourseOwner, CourseOwner.course_id),
        items_page_by_course_id=oldest_first(context, ContentItem.course_id, where=service.visible_clause),
        items_page_by_lesson_id=oldest_first(context, ContentItem.lesson_id, where=service.visible_clause),
        # Versions are read only through an item the caller was allowed to see.
        versions_page_by_item_id=page_loader(
            context, ContentVersion.item_id, (ContentVersion.number, ContentVersion.id), descending=True
        ),
        export_by_id=by_key_loader(context, ExportJob, ExportJob.id),
        exports_page_by_course_id=newest_first(context, ExportJob.course_id, where=exporting.visible_clause),
        import_by_id=by_key_loader(context, ImportJob, ImportJob.id),
    )
