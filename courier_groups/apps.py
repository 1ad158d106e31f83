from django.apps import AppConfig


class CourierGroupsConfig(AppConfig):
    name = "courier_groups"
    default_auto_field = "django.db.models.BigAutoField"
