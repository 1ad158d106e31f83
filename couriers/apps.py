from django.apps import AppConfig


class CouriersConfig(AppConfig):
    name = "couriers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Landed files are choosable as feed sample files (Add Feed), newest first.
        from feeds.samples import register_sample_source

        from .samples import list_landed_files, open_landed_file

        register_sample_source("landed", list_files=list_landed_files, open_file=open_landed_file)
