import secrets
import string

from django.db import models

FEED_ID_ALPHABET = string.ascii_letters + string.digits


def new_feed_id() -> str:
    return "df-" + "".join(secrets.choice(FEED_ID_ALPHABET) for _ in range(8))


class DataSource(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Feed(models.Model):
    """The schema of one kind of file; writes the domain table "<Data source>:<Feed name>"."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"

    id = models.CharField(primary_key=True, max_length=20, default=new_feed_id, editable=False)
    data_source = models.ForeignKey(DataSource, on_delete=models.PROTECT, related_name="feeds")
    name = models.CharField(max_length=100)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    primary_key = models.JSONField(default=list, blank=True)  # resulting field names
    # A datetime or integer field; blank means "Generate an updated field" (_updated).
    last_updated_field = models.CharField(max_length=100, blank=True)
    stitch = models.BooleanField("Make available to Stitch", default=False)
    error_threshold = models.FloatField(default=1.0)  # percent of rows that may be rejected
    # Reader settings of the sample file (content type, delimiter, ...); see feeds.readers.
    file_settings = models.JSONField(default=dict, blank=True)
    # Where the sample came from: {"kind": "landed", "landed_file": id, "key": ...},
    # {"kind": "upload", "path": ...} or {}.
    sample = models.JSONField(default=dict, blank=True)
    load_sample_on_activation = models.BooleanField(default=False)
    # The primary key the domain table was built with: a change purges the table.
    table_primary_key = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    last_loaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["data_source__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["data_source", "name"], name="feed_unique_name")
        ]

    def __str__(self) -> str:
        return self.table_name

    @property
    def table_name(self) -> str:
        return f"{self.data_source.name}:{self.name}"


class FeedField(models.Model):
    class Type(models.TextChoices):
        BOOLEAN = "boolean", "Boolean"
        BYTES = "bytes", "Bytes"
        DATE = "date", "Date"
        DATETIME = "datetime", "Datetime"
        DECIMAL = "decimal", "Decimal"
        FLOAT = "float", "Float"
        INTEGER = "integer", "Integer"
        JSON = "json", "JSON"
        STRING = "string", "String"
        TIME = "time", "Time"
        TIMESTAMP = "timestamp", "Timestamp (no zone)"

    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, related_name="fields")
    position = models.PositiveIntegerField(default=0)
    incoming = models.CharField("incoming field", max_length=200)
    name = models.CharField("rename to", max_length=200)
    type = models.CharField(max_length=16, choices=Type.choices, default=Type.STRING)
    precision = models.PositiveSmallIntegerField(null=True, blank=True)
    scale = models.PositiveSmallIntegerField(null=True, blank=True)
    semantic_tag = models.CharField(max_length=100, blank=True)
    required = models.BooleanField(default=False)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    def as_row(self) -> dict:
        """The field as feed_update_fields takes it (and the Feed Editor shows it)."""
        return {
            "incoming": self.incoming,
            "name": self.name,
            "type": self.type,
            "precision": self.precision,
            "scale": self.scale,
            "semantic_tag": self.semantic_tag,
            "required": self.required,
        }


class SortIndexBuild(models.Model):
    """A Data Explorer sort index asked for on a column: built on the worker, not in a request."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        BUILDING = "building", "Building"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    ACTIVE = (Status.QUEUED, Status.BUILDING)

    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, related_name="sort_index_builds")
    column = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["feed", "column"],
                condition=models.Q(status__in=["queued", "building"]),
                name="one_active_sort_index_build",
            )
        ]

    def __str__(self) -> str:
        return f"sort index on {self.feed_id}.{self.column}: {self.status}"
