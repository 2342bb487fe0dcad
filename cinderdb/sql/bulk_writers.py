"""How a bulk load's rows reach the database: one transaction, a batch at a time.

``open_writer(engine, dialect)`` gives a ``Writer`` whose ``insert(table, rows)``
writes one batch (every row with the same keys) and whose ``connection`` answers
the few reads a load needs; the transaction commits when the block ends and rolls
back on any error, translated as every backend call is (``translate_errors``).

- SQLite: executemany INSERTs on one connection.
- MySQL/MariaDB: ``LOAD DATA INFILE``, the fastest path the server has (no
  statement text to build or parse), one statement per table (``_LoadData``: why,
  and when each table is loaded), on a connection of its own with
  ``foreign_key_checks=0`` and ``unique_checks=0`` for that session, as mysqldump's
  output does. The server reads the files itself when it can (``server_reads``: a
  server on this host, allowed to read them); otherwise this process sends them
  (``LOCAL``, with ``local_infile`` on for this connection alone), which costs this
  process the CPU of sending every byte. ``LOCAL`` implies ``IGNORE`` (a duplicate
  key or a bad value would be skipped or cut, with a warning), so each statement's
  loaded row count and warnings are checked and any difference raises ``DBError``.
  No DDL: the schema stays as ``models`` declares it, and a failed load rolls back
  to the tables it began with.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import subprocess
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
    "LOAD DATA {local}INFILE %s INTO TABLE {table} CHARACTER SET utf8mb4 "
    "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' "
    "LINES TERMINATED BY '\\0' ({columns})"
)
#: Records end with a NUL, not a newline: a value may hold a newline (quoted, which
#: LOAD DATA reads as data), and ``sort -z`` must see one record per NUL.
_END = "\0"
#: Memory of one ``sort`` (its own process, spilling to the load's directory past it).
SORT_BUFFER = "256M"
_SORT = shutil.which("sort")


def _csv_rows(rows: Sequence[dict[str, Any]], first: int | None) -> Iterator[list[Any]]:
    """Each row's values for the csv module, the ``first``-th moved to the front."""
    for row in rows:
        values = [_NULL if value is None else int(value) if value.__class__ is bool else value
                  for value in row.values()]  # fmt: skip
        if first:
            values.insert(0, values.pop(first))
        yield values


def sort_key(table: sa.Table) -> str | None:
    """The column a table's file is sorted by before it loads: a primary key of one
    column that is not a number (a UUID, in random order), which the file then leads
    with. Loading a million volumes in key order took 13 s, against 89 s in random
    order (MariaDB 10.11, a 128 MiB buffer pool: the clustered index is built in the
    order it comes, so random order reads and writes pages all over it). None for an
    AUTO_INCREMENT key, which the server numbers in load order."""
    key = list(table.primary_key.columns)
    if len(key) != 1 or isinstance(key[0].type, sa.Integer):
        return None
    return key[0].name


class _Spool:
    """One table's rows so far, as CSV in a file of its own, with their count; the
    ``key`` column first when the file is to be sorted (``sort_key``)."""

    def __init__(self, table: str, path: str, columns: tuple[str, ...], key: str | None) -> None:
        self.table = table
        self.path = path
        self.fields = columns  # the rows' keys, in their order
        self.key = key if _SORT and key in columns else None
        self._first = columns.index(self.key) if self.key else None
        self.columns = (self.key, *(c for c in columns if c != self.key)) if self.key else columns
        self.rows = 0
        self.file = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        os.chmod(path, 0o644)  # the server's to read (``server_reads``)
        self.csv = csv.writer(self.file, quoting=csv.QUOTE_NONNUMERIC, lineterminator=_END)

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        self.csv.writerows(_csv_rows(rows, self._first))
        self.rows += len(rows)

    def close(self) -> None:
        self.file.close()

    def sort(self) -> None:
        """Sort the file's records by their leading key, with GNU ``sort`` (its own
        process; bytewise, which for the ASCII of UUIDs is the key's collation order).
        Left as written when a value holds a NUL (sorting would split its record): the
        order only makes the load faster."""
        if self.key is None or _records(self.path) != self.rows:
            return
        ordered = f"{self.path}.sorted"
        subprocess.run(
            [_SORT, "-z", "-S", SORT_BUFFER, "-T", os.path.dirname(self.path),
             "-o", ordered, self.path],
            env={**os.environ, "LC_ALL": "C"},
            check=True,
        )  # fmt: skip
        os.chmod(ordered, 0o644)
        os.replace(ordered, self.path)


def _records(path: str) -> int:
    """NUL-terminated records in a file."""
    count = 0
    with open(path, "rb") as file:
        while block := file.read(1 << 24):
            count += block.count(b"\0")
    return count


class _LoadData:
    """``LOAD DATA INFILE`` of one CSV file per table, sorted by key where the key is
    random (``sort_key``).

    One statement per table matters: InnoDB builds the indexes of a table empty in
    this transaction by sorting (with ``unique_checks`` and ``foreign_key_checks``
    off), for the first statement only; later statements insert row by row. The
    clustered index, though, takes the rows in the order they come, so a file in
    random UUID order touches pages all over a table that at a million volumes no
    longer fits a default buffer pool: hence the sort. Each table's batches go to one
    file, sorted and loaded by a thread of its own (the server loads while this
    process makes the next rows) once a part of the stream ends without writing to
    that table (or before the load reads, or when it ends). Rows arriving for a
    table already loaded go to a new file (still correct, only slower). The thread is
    the connection's only user while it loads. (Streaming a table through a named
    pipe, so the server parses it while the rows are made, was measured and left
    out on mixed figures: README, "Scale".)
    """

    def __init__(self, connection: Connection, directory: str, *, local: bool) -> None:
        self._connection = connection
        self.directory = directory
        self.local = local
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
        if spool is not None and spool.fields != columns:
            self._end(self.spools.pop(table.name))
            spool = None
        if spool is None:
            self.files += 1
            path = os.path.join(self.directory, f"{self.files}-{table.name}.csv")
            spool = _Spool(table.name, path, columns, sort_key(table))
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
            local="LOCAL " if self.local else "",
            table=self.quote(spool.table),
            columns=", ".join(self.quote(c) for c in spool.columns),
        )
        dialect = self._connection.dialect
        cursor = self._connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            spool.sort()
            try:
                loaded = cursor.execute(statement, (spool.path,))
            except dialect.loaded_dbapi.Error as error:  # wrapped, for translate_errors
                named = _naming(error, spool.table)
                raise sa.exc.DBAPIError.instance(
                    statement, None, named, dialect.loaded_dbapi.Error, dialect=dialect
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


def _naming(error: Exception, table: str) -> Exception:
    """The driver's error with the table named in its message (a refused row's message,
    such as a duplicate key's, does not say which file it was in); its class and
    error code kept, which is what ``translate_errors`` reads."""
    if len(error.args) != 2:
        return error
    code, message = error.args
    return type(error)(code, f"bulk load of {table}: {message}")


def server_reads(connection: Connection, directory: str) -> bool:
    """Whether the server can read the files this process writes in ``directory`` (a
    server on this host, with the FILE privilege and ``secure_file_priv`` allowing
    it): then it loads them itself. The directory and what is spooled to it are made
    readable by all for that (the server runs as a user of its own)."""
    os.chmod(directory, 0o755)
    probe = os.path.join(directory, "probe")
    token = os.urandom(8).hex()
    with open(probe, "w", encoding="ascii") as file:
        file.write(token)
    os.chmod(probe, 0o644)
    try:
        read = connection.exec_driver_sql("SELECT LOAD_FILE(%s)", (probe,)).scalar()
    finally:
        os.unlink(probe)
    return read is not None and bytes(read).decode("ascii", "replace") == token


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
            local = not server_reads(connection, directory)
            writer = _LoadData(connection, directory, local=local)
            try:
                yield writer
                writer.flush()
            finally:
                writer.close()
    finally:
        loader.dispose()
