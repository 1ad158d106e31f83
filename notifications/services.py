"""Post to the Recent activity pane. Anyone may call this; it imports no other app."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from .models import Notification

logger = logging.getLogger(__name__)


STATUS_WORDS: dict[str, str] = {
    Notification.Level.RUNNING: "is running",
    Notification.Level.COMPLETED: "completed",
    Notification.Level.WARNING: "finished with warnings",
    Notification.Level.ERROR: "failed",
}


def status_title(what: str, level: str) -> str:
    """ "Courier Heap completed", "Courier group Nightly failed", ..."""
    return f"{what} {STATUS_WORDS[level]}"


def notification_status_post(*, what: str, level: str, message: str, url: str, subject: str):
    """The one notification a run keeps (by ``subject``), titled by its state:
    "Courier Heap is running" → "Courier Heap completed" / "... failed"."""
    return notification_post(
        level=level, title=status_title(what, level), message=message, url=url, subject=subject
    )


def notification_post(
    *, level: str, title: str, message: str = "", url: str = "", subject: str = ""
) -> Notification:
    """Create a notification, or move the one about the same subject to its new state."""
    notification = None
    if subject:
        notification = Notification.objects.filter(subject=subject).first()
    if notification is None:
        notification = Notification(subject=subject)
    notification.level = level
    notification.title = title
    notification.message = message
    notification.url = url
    notification.read_at = None
    notification.save()
    if level in (
        Notification.Level.ERROR,
        Notification.Level.WARNING,
        Notification.Level.COMPLETED,
    ):
        _email(notification)
    return notification


def notifications_mark_read(*, ids: list[int] | None = None) -> int:
    unread = Notification.objects.filter(read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


def _email(notification: Notification) -> None:
    recipients = settings.SOURCES_NOTIFY_EMAILS
    if not recipients:
        return
    try:
        send_mail(
            f"[Sources] {notification.title}",  # "Courier Heap completed" / "... failed"
            notification.message,
            None,
            recipients,
        )
    except Exception:  # e-mail is a courtesy; a mail outage must not fail a run
        logger.exception("could not e-mail notification %s", notification.pk)


def notifications_prune(*, before) -> int:
    """Delete notifications last changed before ``before`` (a retention limit); a running
    one is kept whatever its age (its run is still going, or the watchdog will end it)."""
    old = Notification.objects.filter(updated_at__lt=before).exclude(
        level=Notification.Level.RUNNING
    )
    return old.delete()[0]
