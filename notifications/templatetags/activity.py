from django import template

from ..models import Notification

register = template.Library()


@register.inclusion_tag("notifications/_pane.html")
def recent_activity(limit: int = 15):
    return {
        "notifications": Notification.objects.all()[:limit],
        "unread": Notification.objects.filter(read_at__isnull=True).count(),
    }
