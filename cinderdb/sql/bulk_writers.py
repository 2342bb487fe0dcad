"""How a bulk load's rows reach the database: one transaction, a batch at a time.

``open_writer(engine, dialect)`` gives a ``Writer`` whose ``insert(table, rows)``
writes one batch (every row with the same keys) and whose ``connection`` answers
the few reads a load needs; the transaction commits when the block ends and rolls
back on any error, translated as every backend call is (``translate_errors``).

- SQLite: executemany INSERTs on one connection.
- MySQL/MariaDB: ``LOAD DATA LOCAL INFILE`` of a CSV file per batch, the fastest
  path the server has (no statement text to build or parse), on a connection of
  its own (``local_infile`` on for it alone) with ``foreign_key_checks=0`` and
  ``unique_checks=0`` for that session, as mysqldump's output does. ``LOCAL``
  implies ``IGNORE`` (a duplicate key or a bad value would be skipped or cut, with
  a warning), so each batch's loaded row count and warnings are checked and any
  difference raises ``DBError``.
"""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from cinderdb import exception
from cinderdb.sql.core import translate_errors


class Writer(Protocol):
    connection: Connection

    def insert(self, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None: ...


class _Statements:
    """executemany INSERTs."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def insert(self, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
        self.connection.execute(table.insert(), list(rows))


class _Null(int):
    """``NULL`` unquoted in the CSV: a number to the csv module, so it is not quoted,
    while every string is (``QUOTE_NONNUMERIC``), so the text 'NULL' stays text."""

    def __str__(self) -> str:
        return "NULL"


_NULL = _Null()

_LOAD = (
    "LOAD DATA LOCAL INFILE %s INTO TABLE {table} CHARACTER SET utf8mb4 "
    "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' "
    "LINES TERMINATED BY '\\n' ({columns})"
)


class _LoadData:
    """``LOAD DATA LOCAL INFILE`` of one CSV file per batch."""

    def __init__(self, connection: Connection, directory: str) -> None:
        self.connection = connection
        self.path = os.path.join(directory, "batch.csv")
        self.quote = connection.dialect.identifier_preparer.quote

    def insert(self, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
        columns = list(rows[0])
        with open(self.path, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
            writer.writerows(
                [
                    _NULL if value is None else int(value) if value.__class__ is bool else value
                    for value in row.values()
                ]
                for row in rows
            )
        statement = _LOAD.format(
            table=self.quote(table.name), columns=", ".join(self.quote(c) for c in columns)
        )
        cursor = self.connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            loaded = cursor.execute(statement, (self.path,))
            cursor.execute("SELECT @@warning_count")
            (warnings,) = cursor.fetchone()
            if loaded != len(rows) or warnings:
                cursor.execute("SHOW WARNINGS LIMIT 3")
                shown = "; ".join(str(row[2]) for row in cursor.fetchall())
                raise exception.DBError(
                    reason=f"bulk load of {table.name}: {loaded} of {len(rows)} rows loaded, "
                    f"{warnings} warning(s): {shown or 'none shown'}"
                )
        finally:
            cursor.close()


@contextlib.contextmanager
def open_writer(engine: Engine, dialect: str, url: sa.URL | str | None = None) -> Iterator[Writer]:
    """A writer in one transaction: committed when the block ends, rolled back on error
    (``url``: where a MySQL load connects, the engine's own by default; a Galera
    cluster's first live node)."""
    if dialect != "mysql":
        with translate_errors(), engine.begin() as connection:
            yield _Statements(connection)
        return
    loader = sa.create_engine(
        url or engine.url, poolclass=NullPool, connect_args={"local_infile": True}
    )
    try:
        with (
            tempfile.TemporaryDirectory(prefix="cinderdb-load-") as directory,
            translate_errors(),
            loader.begin() as connection,
        ):
            connection.exec_driver_sql("SET SESSION foreign_key_checks = 0, unique_checks = 0")
            yield _LoadData(connection, directory)
    finally:
        loader.dispose()
