"""An archive member gets its own field on LandedFile and LoadedObject.

Before, a landed member was recorded as key "<archive key>#<member>", which made legal S3 keys
holding "#" unloadable. Rows are split only where landing recorded the member in
file_settings["archive_member"] and the key ends with "#<that member>"; a key that merely
contains "#" is a real key and stays as it is. LoadedObject rows with the same old key and
ETag are split alike.
"""

from django.db import migrations, models

OLD_SEPARATOR = "#"


def _recorded_members(LandedFile):
    """(landed file, archive key, member) for each row recorded the old way."""
    rows = LandedFile.objects.filter(member="", file_settings__has_key="archive_member")
    for landed in rows.iterator():
        member = (landed.file_settings or {}).get("archive_member")
        suffix = f"{OLD_SEPARATOR}{member}"
        if isinstance(member, str) and member and landed.key.endswith(suffix):
            yield landed, landed.key[: -len(suffix)], member


def split_members(apps, schema_editor):
    LandedFile = apps.get_model("couriers", "LandedFile")
    LoadedObject = apps.get_model("couriers", "LoadedObject")
    for landed, key, member in list(_recorded_members(LandedFile)):
        LoadedObject.objects.filter(key=landed.key, etag=landed.etag, member="").update(
            key=key, member=member
        )
        settings = {k: v for k, v in landed.file_settings.items() if k != "archive_member"}
        LandedFile.objects.filter(pk=landed.pk).update(
            key=key, member=member, file_settings=settings
        )


def join_members(apps, schema_editor):
    LandedFile = apps.get_model("couriers", "LandedFile")
    LoadedObject = apps.get_model("couriers", "LoadedObject")
    for model in (LandedFile, LoadedObject):
        for row in model.objects.exclude(member="").iterator():
            changes = {"key": f"{row.key}{OLD_SEPARATOR}{row.member}", "member": ""}
            if model is LandedFile:
                changes["file_settings"] = {
                    **(row.file_settings or {}),
                    "archive_member": row.member,
                }
            model.objects.filter(pk=row.pk).update(**changes)


class Migration(migrations.Migration):
    dependencies = [
        ("couriers", "0004_run_any_day"),
    ]

    operations = [
        # The old constraints would see two members of one archive as one row mid-split.
        migrations.RemoveConstraint(model_name="landedfile", name="landed_once"),
        migrations.RemoveConstraint(model_name="loadedobject", name="loaded_once"),
        migrations.AddField(
            model_name="landedfile",
            name="member",
            field=models.CharField(blank=True, default="", max_length=1024),
        ),
        migrations.AddField(
            model_name="loadedobject",
            name="member",
            field=models.CharField(blank=True, default="", max_length=1024),
        ),
        migrations.RunPython(split_members, join_members),
        migrations.AddConstraint(
            model_name="landedfile",
            constraint=models.UniqueConstraint(
                fields=("courier", "key", "member", "etag"), name="landed_once"
            ),
        ),
        migrations.AddConstraint(
            model_name="loadedobject",
            constraint=models.UniqueConstraint(
                fields=("feed", "key", "member", "etag"), name="loaded_once"
            ),
        ),
    ]
