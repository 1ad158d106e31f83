from .models import Feed


def feeds_for_sources_page():
    return Feed.objects.select_related("data_source").prefetch_related("fields")


def domain_tables_for_sources_page():
    return Feed.objects.filter(status=Feed.Status.ACTIVE).select_related("data_source")
