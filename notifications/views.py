from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from .models import Notification
from .services import notifications_mark_read
from .templatetags.activity import recent_activity

PANE_SIZE = 15


def pane(request):
    """The Recent activity pane; htmx refreshes it in place."""
    return render(request, "notifications/_pane.html", recent_activity(PANE_SIZE))


def index(request):
    return render(
        request,
        "notifications/index.html",
        {"notifications": Notification.objects.all()[:200]},
    )


@require_POST
def mark_all_read(request):
    notifications_mark_read()
    return pane(request) if request.htmx else redirect("notifications:index")


def open_notification(request, pk: int):
    notification = get_object_or_404(Notification, pk=pk)
    notifications_mark_read(ids=[notification.pk])
    return redirect(notification.url or "notifications:index")
