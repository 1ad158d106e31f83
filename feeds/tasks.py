"""Celery tasks: thin wrappers that take ids and call services. The only feeds module that
imports Celery (the readers and the loader never do)."""

from celery import shared_task

from .services.indexes import sort_index_build


@shared_task(name="feeds.build_sort_index", acks_late=True)
def build_sort_index(build_id: int) -> None:
    sort_index_build(build_id=build_id)
