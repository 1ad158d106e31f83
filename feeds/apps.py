from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "feeds"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import samples  # noqa: F401  (registers the "upload" sample source)
        from .readers.limits import set_limits_provider

        set_limits_provider(limits_from_settings)


def limits_from_settings():
    """The readers' limits, read from the settings each time (tests may change them)."""
    from django.conf import settings

    from .readers.limits import Limits

    return Limits(
        max_decompressed_bytes=settings.SOURCES_MAX_DECOMPRESSED_BYTES,
        max_compression_ratio=settings.SOURCES_MAX_COMPRESSION_RATIO,
        ratio_after_bytes=settings.SOURCES_COMPRESSION_RATIO_AFTER_BYTES,
        max_archive_members=settings.SOURCES_MAX_ARCHIVE_MEMBERS,
    )
