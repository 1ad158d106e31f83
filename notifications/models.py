from django.db import models


class Notification(models.Model):
    """An entry in the Recent activity pane."""

    class Level(models.TextChoices):
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    level = models.CharField(max_length=16, choices=Level.choices)
    title = models.CharField(max_length=200)
    message = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    # What the notification is about ("courier-run:12"): a run's Running entry becomes its
    # Completed or Error entry instead of piling up a second one.
    subject = models.CharField(max_length=100, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_level_display()}: {self.title}"
