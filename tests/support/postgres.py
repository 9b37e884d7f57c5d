"""The PostgreSQL server of this machine kind (127.0.0.1:5432, trust auth), for tests of the
production instance: a database of their own, dropped afterwards with any connection left."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


@contextmanager
def fresh_database() -> Iterator[str]:
    name = f"osmose_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(dbname="postgres", **PG)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
