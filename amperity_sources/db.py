"""Raw psycopg connections for domain-table work (the loader, the Data Explorer).

Django's own connection stays for the ORM; domain tables get a dedicated connection so a
load's transaction is explicit and never mixed with ORM autocommit.
"""

import psycopg
from django.conf import settings


def conninfo() -> str:
    db = settings.DATABASES["default"]
    parts = {
        "dbname": db["NAME"],
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
    }
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in parts.items() if v})


def domain_connection(**kwargs) -> psycopg.Connection:
    return psycopg.connect(conninfo(), **kwargs)
