"""Fixtures shared by the loader's tests."""

import pytest

from amperity_sources.db import domain_connection


@pytest.fixture
def conn():
    """A raw autocommit connection to the domain tables' database, as the loader gets one."""
    with domain_connection(autocommit=True) as c:
        yield c
