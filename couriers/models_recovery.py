"""Records that let runs survive the infrastructure (imported by couriers.models).

RunDispatch is the outbox: a run request is committed together with its dispatch entry, and
whoever sees the entry first (the request's on_commit, or the beat dispatcher) sends the task,
so a broker outage delays a run and never strands it.

LoadLedger holds one row per committed feed load, written in the load's own transaction: after
a worker dies, it is the truth about what committed and what was rolled back.
"""

from django.db import models


class RunDispatch(models.Model):
    """A run waiting to be sent to the workers (the task queue), or sent already."""

    run = models.ForeignKey("couriers.CourierRun", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    due_at = models.DateTimeField()
    # A sender's lease: it expires, so a sender that died mid-send is taken over.
    claimed_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=models.Q(dispatched_at__isnull=True),
                name="run_dispatch_pending",
            )
        ]

    def __str__(self) -> str:
        return f"dispatch of run {self.run_id}"


class LoadLedger(models.Model):
    """A feed load that committed: written in the load's transaction, so it exists exactly
    when the domain table holds the load's rows."""

    run = models.ForeignKey("couriers.CourierRun", on_delete=models.CASCADE, related_name="+")
    feed = models.ForeignKey("feeds.Feed", on_delete=models.CASCADE, related_name="+")
    attempt = models.PositiveSmallIntegerField()
    truncate = models.BooleanField(default=False)
    files = models.JSONField(default=list)
    rows_read = models.BigIntegerField(default=0)
    inserted = models.BigIntegerField(default=0)
    updated = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0)
    committed_at = models.DateTimeField()

    class Meta:
        db_table = "couriers_load_ledger"
        ordering = ["committed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "feed", "attempt"], name="one_commit_per_feed_attempt"
            )
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} attempt {self.attempt} → {self.feed_id}"
