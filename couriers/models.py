from django.conf import settings
from django.db import models


class Courier(models.Model):
    """Pulls files from one S3 location per its entities list; applies its load operations."""

    class Kind(models.TextChoices):
        S3 = "s3", "Amazon S3"
        HEAP = "heap", "Heap"

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.S3)
    credential = models.ForeignKey(
        "credentials.Credential", on_delete=models.PROTECT, related_name="couriers"
    )
    bucket = models.CharField(max_length=63)
    prefix = models.CharField(max_length=500, blank=True)
    entities = models.JSONField("entities list", default=list, blank=True)
    load_operations = models.JSONField(default=dict, blank=True)
    pgp_credential = models.ForeignKey(
        "credentials.Credential",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="pgp_couriers",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CourierRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        STOPPING = "stopping", "Stopping"
        STOPPED = "stopped", "Stopped"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING, Status.STOPPING)

    class Mode(models.TextChoices):
        DAY = "day", "Load data from a specific day"
        PERIOD = "period", "Load data from a specific time period"
        ALL = "all", "Load all available data"

    courier = models.ForeignKey(Courier, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    started_by = models.CharField(
        max_length=200, blank=True
    )  # "alice", "courier group Heap", "shell"
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.DAY)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)  # exclusive
    ingest_only = models.BooleanField(default=False)
    skip_missing = models.BooleanField(default=False)
    reload = models.BooleanField(default=False)  # load files even if already loaded
    # Keep looking for missing required files until then (a courier group's wait).
    wait_until = models.DateTimeField(null=True, blank=True)
    # A courier group's offset: a file dated on any day of the range satisfies an entity.
    any_day = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    files_total = models.PositiveIntegerField(default=0)
    files_done = models.PositiveIntegerField(default=0)
    rows_done = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One active run per courier: the database refuses a second one.
            models.UniqueConstraint(
                fields=["courier"],
                condition=models.Q(status__in=["queued", "running", "stopping"]),
                name="one_active_run_per_courier",
            )
        ]

    def __str__(self) -> str:
        return f"{self.courier} run {self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES


class RunEvent(models.Model):
    """A status line of a run, in plain words ("Loading data")."""

    class Level(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    run = models.ForeignKey(CourierRun, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    level = models.CharField(max_length=16, choices=Level.choices, default=Level.INFO)
    message = models.TextField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return self.message


class LandedFile(models.Model):
    """An S3 object a courier found and recorded; choosable as a feed's sample file."""

    courier = models.ForeignKey(Courier, on_delete=models.CASCADE, related_name="landed_files")
    run = models.ForeignKey(
        CourierRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="landed_files"
    )
    key = models.CharField(max_length=1024)  # the S3 key, exactly
    # The file inside an archive object this record is about ("" for a plain object). Kept
    # apart from the key: any separator could be part of a legal S3 key.
    member = models.CharField(max_length=1024, blank=True, default="")
    size = models.BigIntegerField(default=0)
    etag = models.CharField(max_length=200, blank=True)
    last_modified = models.DateTimeField(null=True, blank=True)
    tag = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    file_settings = models.JSONField(default=dict, blank=True)  # from the entity's land-as
    file_date = models.DateField(null=True, blank=True)  # the date stamped in its name
    landed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-landed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["courier", "key", "member", "etag"], name="landed_once")
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """How messages and lists name it: the key, and the archive member if any."""
        return f"{self.key} (member {self.member})" if self.member else self.key

    @property
    def file_name(self) -> str:
        """The name a reader sees: the member, or the key's last part."""
        return (self.member or self.key).rsplit("/", 1)[-1]


class RunLoad(models.Model):
    """What one run did to one feed."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        LOADING = "loading", "Loading"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Nothing new"
        # Every row is in and the load is committing: too late to stop it.
        COMMITTING = "committing", "Committing"
        # Its worker died mid-load: the load was rolled back (the ledger says so).
        INTERRUPTED = "interrupted", "Interrupted"

    run = models.ForeignKey(CourierRun, on_delete=models.CASCADE, related_name="loads")
    feed = models.ForeignKey("feeds.Feed", on_delete=models.CASCADE, related_name="run_loads")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    truncate = models.BooleanField(default=False)
    files = models.JSONField(default=list, blank=True)  # keys, in load order
    rows_read = models.BigIntegerField(default=0)
    inserted = models.BigIntegerField(default=0)
    updated = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"run {self.run_id} → {self.feed_id}"


class LoadedObject(models.Model):
    """A file (key + ETag) already loaded into a feed: not loaded again unless asked."""

    feed = models.ForeignKey("feeds.Feed", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=1024)
    member = models.CharField(max_length=1024, blank=True, default="")  # as LandedFile.member
    etag = models.CharField(max_length=200)
    run = models.ForeignKey(CourierRun, null=True, on_delete=models.SET_NULL, related_name="+")
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["feed", "key", "member", "etag"], name="loaded_once")
        ]

    def __str__(self) -> str:
        member = f" (member {self.member})" if self.member else ""
        return f"{self.key}{member} → {self.feed_id}"


class RunReject(models.Model):
    """A row a load rejected, for the run's downloadable error log."""

    run = models.ForeignKey(CourierRun, on_delete=models.CASCADE, related_name="rejects")
    feed = models.ForeignKey("feeds.Feed", on_delete=models.CASCADE, related_name="+")
    file = models.CharField(max_length=1024)
    row = models.BigIntegerField()
    field = models.CharField(max_length=200)
    value = models.TextField(blank=True)
    reason = models.TextField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.file} row {self.row}, field {self.field}: {self.reason}"


class HeapDump(models.Model):
    """A Heap Connect dump (one manifest) a Heap courier has loaded: each is loaded once."""

    courier = models.ForeignKey(Courier, on_delete=models.CASCADE, related_name="heap_dumps")
    dump_id = models.BigIntegerField()
    manifest_key = models.CharField(max_length=1024)
    run = models.ForeignKey(
        CourierRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="heap_dumps"
    )
    # {table: {"columns": [...], "incremental": bool, "files": n}} as the manifest said.
    tables = models.JSONField(default=dict, blank=True)
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-dump_id"]
        constraints = [
            models.UniqueConstraint(fields=["courier", "dump_id"], name="heap_dump_once")
        ]

    def __str__(self) -> str:
        return f"{self.courier} dump {self.dump_id}"


# The outbox and the load ledger live in their own module (see it for why).
from .models_recovery import LoadLedger, RunDispatch  # noqa: E402, F401
