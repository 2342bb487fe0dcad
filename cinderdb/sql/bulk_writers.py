"""How a bulk load's rows reach the database: one transaction, a batch at a time.

``open_writer(engine, dialect)`` gives a ``Writer`` whose ``insert(table, rows)``
writes one batch (every row with the same keys) and whose ``connection`` answers
the few reads a load needs; the transaction commits when the block ends and rolls
back on any error, translated as every backend call is (``translate_errors``).

- SQLite: executemany INSERTs on one connection.
- MySQL/MariaDB: ``LOAD DATA LOCAL INFILE``, the fastest path the server has (no
  statement text to build or parse), one statement per table (``_LoadData``: why,
  and when each table is loaded), on a connection of its own (``local_infile`` on
  for it alone) with ``foreign_key_checks=0`` and ``unique_checks=0`` for that
  session, as mysqldump's output does. ``LOCAL`` implies ``IGNORE`` (a duplicate
  key or a bad value would be skipped or cut, with a warning), so each statement's
  loaded row count and warnings are checked and any difference raises ``DBError``.
  No DDL: the schema stays as ``models`` declares it, and a failed load rolls back
  to the tables it began with.
"""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from cinderdb import exception
from cinderdb.sql.core import translate_errors


class Writer(Protocol):
    @property
    def connection(self) -> Connection: ...

    def insert(self, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None: ...

    def end_part(self) -> None: ...


class _Statements:
    """executemany INSERTs."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def insert(self, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
        self.connection.execute(table.insert(), list(rows))

    def end_part(self) -> None:
        """Nothing waits for a part's end: each batch was written as it came."""


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


def _csv_rows(rows: Sequence[dict[str, Any]]) -> Iterator[list[Any]]:
    return (
        [_NULL if value is None else int(value) if value.__class__ is bool else value
         for value in row.values()]
        for row in rows
    )  # fmt: skip


class _Spool:
    """One table's rows so far, as CSV in a file of its own, with their count."""

    def __init__(self, table: str, path: str, columns: tuple[str, ...]) -> None:
        self.table = table
        self.path = path
        self.columns = columns
        self.rows = 0
        self.file = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self.csv = csv.writer(self.file, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        self.csv.writerows(_csv_rows(rows))
        self.rows += len(rows)

    def close(self) -> None:
        self.file.close()


class _LoadData:
    """``LOAD DATA LOCAL INFILE`` of one CSV file per table.

    One statement per table matters: InnoDB builds the indexes of a table empty in
    this transaction by sorting (with ``unique_checks`` and ``foreign_key_checks``
    off), for the first statement only; later statements insert row by row, in
    random key order for UUID keys, which at a million volumes no longer fits a
    default buffer pool. So each table's batches go to one file, loaded by a
    thread of its own (the server loads while this process makes the next rows)
    once a part of the stream ends without writing to that table (or before the
    load reads, or when it ends). Rows arriving for a table already loaded go to a
    new file (still correct, only slower). The thread is the connection's only
    user while it loads. (Streaming a table through a named pipe, so the server
    parses it while the rows are made, was measured and left out on mixed
    figures: README, "Scale".)
    """

    def __init__(self, connection: Connection, directory: str) -> None:
        self._connection = connection
        self.directory = directory
        self.spools: dict[str, _Spool] = {}
        self.written: set[str] = set()
        self.files = 0
        self.quote = connection.dialect.identifier_preparer.quote
        self.loader = ThreadPoolExecutor(1, thread_name_prefix="load-data")
        self.pending: list[Future[None]] = []

    @property
    def connection(self) -> Connection:
        """The load's connection, every spooled row loaded first (so reads see them)."""
        self.flush()
        return self._connection

    def insert(self, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
        columns = tuple(rows[0])
        spool = self.spools.get(table.name)
        if spool is not None and spool.columns != columns:
            self._end(self.spools.pop(table.name))
            spool = None
        if spool is None:
            self.files += 1
            path = os.path.join(self.directory, f"{self.files}-{table.name}.csv")
            spool = _Spool(table.name, path, columns)
            self.spools[table.name] = spool
        spool.write(rows)
        self.written.add(table.name)

    def end_part(self) -> None:
        """A part of the stream is written: load the tables it did not write to."""
        self._check()
        for name in [name for name in self.spools if name not in self.written]:
            self._end(self.spools.pop(name))
        self.written.clear()

    def flush(self) -> None:
        """Load every spooled table and wait for every load (raising its error)."""
        for name in list(self.spools):
            self._end(self.spools.pop(name))
        self.wait()

    def wait(self) -> None:
        """Wait for every load submitted; raise the first error."""
        for future in self.pending:
            future.exception()
        pending, self.pending = self.pending, []
        for future in pending:
            future.result()

    def close(self) -> None:
        """Stop (after waiting for any load running) and close the files."""
        for spool in self.spools.values():
            spool.close()
        self.loader.shutdown(wait=True, cancel_futures=True)

    def _check(self) -> None:
        """Raise now the error of a load already finished."""
        for future in self.pending:
            if future.done() and future.exception() is not None:
                self.wait()

    def _end(self, spool: _Spool) -> None:
        """No more rows for this spool: load its file."""
        spool.close()
        self._submit(spool)

    def _submit(self, spool: _Spool) -> None:
        self.pending.append(self.loader.submit(self._load, spool))

    def _load(self, spool: _Spool) -> None:
        statement = _LOAD.format(
            table=self.quote(spool.table),
            columns=", ".join(self.quote(c) for c in spool.columns),
        )
        dialect = self._connection.dialect
        cursor = self._connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            try:
                loaded = cursor.execute(statement, (spool.path,))
            except dialect.loaded_dbapi.Error as error:  # wrapped, for translate_errors
                raise sa.exc.DBAPIError.instance(
                    statement, None, error, dialect.loaded_dbapi.Error, dialect=dialect
                ) from error
            cursor.execute("SELECT @@warning_count")
            (warnings,) = cursor.fetchone()
            if loaded != spool.rows or warnings:
                cursor.execute("SHOW WARNINGS LIMIT 3")
                shown = "; ".join(str(row[2]) for row in cursor.fetchall())
                raise exception.DBError(
                    reason=f"bulk load of {spool.table}: {loaded} of {spool.rows} rows "
                    f"loaded, {warnings} warning(s): {shown or 'none shown'}"
                )
        finally:
            cursor.close()
            os.unlink(spool.path)


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
            writer = _LoadData(connection, directory)
            try:
                yield writer
                writer.flush()
            finally:
                writer.close()
    finally:
        loader.dispose()
