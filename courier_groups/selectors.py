from .models import CourierGroup


def groups_for_sources_page():
    return CourierGroup.objects.prefetch_related("members__courier")
