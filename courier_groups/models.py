from django.db import models


class CourierGroup(models.Model):
    """Couriers that run together on a cron schedule, in a time zone."""

    name = models.CharField(max_length=120, unique=True)
    cron = models.CharField("schedule", max_length=100)
    timezone = models.CharField(max_length=64, default="UTC")
    use_timezone_for_dates = models.BooleanField(
        "use this time zone for file date ranges", default=True
    )
    active = models.BooleanField(default=True)
    alert_after_minutes = models.PositiveIntegerField(
        "alert when runtime exceeds (minutes)", null=True, blank=True
    )
    # Scheduled times up to this moment are not "missed": set when the group is created,
    # activated or its schedule changes, so the scheduler never back-fills those times.
    schedule_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class GroupMember(models.Model):
    group = models.ForeignKey(CourierGroup, on_delete=models.CASCADE, related_name="members")
    courier = models.ForeignKey(
        "couriers.Courier", on_delete=models.CASCADE, related_name="group_memberships"
    )
    position = models.PositiveIntegerField(default=0)
    wait_minutes = models.PositiveIntegerField(default=0)  # keep looking for late files
    offset_minutes = models.PositiveIntegerField(default=0)  # accept older date stamps
    notify_when_missing = models.BooleanField(default=True)
    stop_when_missing = models.BooleanField(default=False)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.courier} in {self.group}"


class GroupConstraint(models.Model):
    """Run `group` only after `requires` has succeeded for the same schedule window."""

    group = models.ForeignKey(CourierGroup, on_delete=models.CASCADE, related_name="constraints")
    requires = models.ForeignKey(CourierGroup, on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"{self.group} after {self.requires}"


class GroupRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        WAITING = "waiting", "Waiting"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    group = models.ForeignKey(CourierGroup, on_delete=models.CASCADE, related_name="runs")
    # The cron time this run is for (UTC); null for a manual run. Unique per group:
    # the database makes each scheduled time run exactly once.
    scheduled_for = models.DateTimeField(null=True, blank=True)
    trigger = models.CharField(max_length=20, default="schedule")  # schedule | manual
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    message = models.TextField(blank=True)
    started_by = models.CharField(max_length=200, blank=True)
    # A manual run's dates (mode day/period/all); a scheduled run derives them from offsets.
    mode = models.CharField(max_length=16, blank=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)  # exclusive
    slow_alerted = models.BooleanField(default=False)  # the runtime Warning is posted once
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "scheduled_for"], name="group_run_once_per_time"
            )
        ]
        indexes = [
            # The tick advances every unfinished run: keep that lookup off a full scan.
            models.Index(
                fields=["status"],
                name="group_run_unfinished",
                condition=models.Q(status__in=["queued", "waiting", "running"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.group} run {self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED, self.Status.SKIPPED)


class GroupRunCourier(models.Model):
    """One member courier's part in a group run."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        WAITING = "waiting", "Waiting for source data"
        SUCCEEDED = "succeeded", "Succeeded"
        MISSING = "missing", "Missing files"
        FAILED = "failed", "Failed"
        STOPPED = "stopped", "Stopped"
        SKIPPED = "skipped", "Not started"

    FINAL = (Status.SUCCEEDED, Status.MISSING, Status.FAILED, Status.STOPPED, Status.SKIPPED)

    group_run = models.ForeignKey(GroupRun, on_delete=models.CASCADE, related_name="couriers")
    member = models.ForeignKey(GroupMember, null=True, on_delete=models.SET_NULL)
    courier = models.ForeignKey("couriers.Courier", on_delete=models.CASCADE, related_name="+")
    courier_run = models.ForeignKey(
        "couriers.CourierRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    waiting_until = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.courier} in {self.group_run}"
