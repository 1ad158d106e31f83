"""Courier-group fixtures: couriers pointing at the test S3 endpoint, and a group factory."""

import pytest

from courier_groups.services.groups import MemberSpec, group_create
from couriers.models import Courier


@pytest.fixture
def make_courier(s3_credential, bucket):
    def make(name="Users", pattern="'users-'yyyy-MM-dd'.csv'", optional=False, **extra):
        entity = {
            "object/type": "file",
            "object/file-pattern": pattern,
            "object/land-as": {"file/tag": name.lower(), "file/content-type": "text/csv"},
        }
        if optional:
            entity["object/optional"] = True
        return Courier.objects.create(
            name=name,
            credential=s3_credential,
            bucket=bucket,
            entities=[entity],
            load_operations={},
            **extra,
        )

    return make


@pytest.fixture
def make_group():
    def make(name="Nightly", cron="30 8 * * *", tz="UTC", couriers=(), **extra):
        members = [c if isinstance(c, MemberSpec) else MemberSpec(courier=c) for c in couriers]
        return group_create(name=name, cron=cron, timezone_name=tz, members=members, **extra)

    return make
