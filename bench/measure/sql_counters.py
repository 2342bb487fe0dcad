"""What a block of code sends to a SQLAlchemy engine: statements, JOINs, EXISTS, tables, rows.

In the style of SQLAlchemy's ``testing/assertsql.assert_engine``: listeners on
``before_cursor_execute``/``after_cursor_execute`` (and ``commit``/``rollback``)
are attached to one engine and removed in ``finally``::

    with count_sql(backend.engine) as counts:
        backend.volume_get(ctx, volume_id)
    counts.statements, counts.joins, counts.rows

For per-operation counters (the measurement layer) attach once and open a
cheap ``measure()`` block per operation; listeners are shared by every thread::

    counter = SQLCounter(backend.engine)
    with counter.attached():
        ...
        with counter.measure() as counts:   # in any thread
            backend.volume_get(ctx, volume_id)

**Attribution.** SQLAlchemy runs cursor events on the thread that executes the
statement, so each thread keeps its own stack of open measurements
(``threading.local``); a statement counts towards every measurement open in the
thread that issued it, and nothing else. A ``SQLCounts`` is only ever touched
by its own thread, so no lock is needed.

**What is counted.**

- ``statements``: every cursor execution, by kind (SELECT, INSERT, UPDATE,
  DELETE, BEGIN, other). On file SQLite the backend's ``BEGIN IMMEDIATE`` is a
  statement; MySQL begins transactions implicitly (no round trip).
- ``commits``/``rollbacks``: connection-level COMMIT/ROLLBACK (one round trip each).
- An ``executemany`` with N parameter sets counts as N statements (what
  Liberty's ORM flush issues and §10 of the brief counts: "4x UPDATE"); its
  round trips are N too, except an INSERT on MySQL, which PyMySQL rewrites into
  one multi-row INSERT (``batched_round_trips_saved`` records the difference).
  ``round_trips`` = statements + commits + rollbacks - batched_round_trips_saved.
- ``joins_left_outer``/``joins_inner``, ``exists``: parsed from the SQL text
  SQLAlchemy emitted (values are bound parameters, so literals cannot fool it).
- ``tables``: distinct tables named after FROM/JOIN/UPDATE/INTO, aliases
  resolved; per statement, tables inside ``EXISTS (...)`` are kept apart, so a
  statement's ``tables`` are those of the main query (§10 of the brief).
- ``rows``: ``cursor.rowcount`` for INSERT/UPDATE/DELETE (rows affected). For a
  SELECT, rows are counted without fetching twice: PyMySQL's default cursor
  reads the whole result during ``execute``, so its ``rowcount`` already is the
  row count and costs nothing; drivers that report -1 for a SELECT (sqlite3)
  get their rows fetched once here and handed to SQLAlchemy through its own
  fully-buffered fetch strategy, so the caller reads them from memory. This
  happens only while a measurement is open in that thread.
"""

from __future__ import annotations

import contextlib
import functools
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.engine.cursor import FullyBufferedCursorFetchStrategy

KINDS = ("select", "insert", "update", "delete", "begin", "other")


@dataclass(frozen=True)
class StatementShape:
    """What one SQL text contains (parsed once per distinct text)."""

    kind: str
    joins_left_outer: int
    joins_inner: int
    exists: int
    tables: frozenset[str]  # of the main query (outside EXISTS subqueries)
    exists_tables: frozenset[str]


@dataclass
class StatementRecord:
    """One executed statement, kept when ``keep_statements`` is set."""

    shape: StatementShape
    rows: int
    sql: str


@dataclass
class SQLCounts:
    """Counters for one measured block."""

    statements: int = 0
    by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    commits: int = 0
    rollbacks: int = 0
    joins_left_outer: int = 0
    joins_inner: int = 0
    exists: int = 0
    tables: set[str] = field(default_factory=set)
    rows: int = 0
    batched_round_trips_saved: int = 0
    keep_statements: bool = False
    log: list[StatementRecord] = field(default_factory=list)

    @property
    def joins(self) -> int:
        return self.joins_left_outer + self.joins_inner

    @property
    def round_trips(self) -> int:
        return self.statements + self.commits + self.rollbacks - self.batched_round_trips_saved

    def add(
        self, shape: StatementShape, rows: int, sql: str, repeat: int = 1, round_trips: int = 1
    ) -> None:
        """One cursor execution: ``repeat`` statements (executemany) in ``round_trips``."""
        self.statements += repeat
        self.by_kind[shape.kind] += repeat
        self.joins_left_outer += shape.joins_left_outer * repeat
        self.joins_inner += shape.joins_inner * repeat
        self.exists += shape.exists * repeat
        self.tables |= shape.tables | shape.exists_tables
        self.rows += rows
        self.batched_round_trips_saved += repeat - round_trips
        if self.keep_statements:
            self.log.append(StatementRecord(shape, rows, sql))

    def as_dict(self) -> dict[str, Any]:
        """Plain values for a results file."""
        return {
            "statements": self.statements,
            **{f"{kind}s": count for kind, count in self.by_kind.items()},
            "commits": self.commits,
            "rollbacks": self.rollbacks,
            "round_trips": self.round_trips,
            "joins": self.joins,
            "joins_left_outer": self.joins_left_outer,
            "joins_inner": self.joins_inner,
            "exists": self.exists,
            "tables": len(self.tables),
            "rows": self.rows,
        }


# ------------------------------------------------------------------- parsing

_KIND_WORDS = {
    "SELECT": "select",
    "INSERT": "insert",
    "UPDATE": "update",
    "DELETE": "delete",
    "BEGIN": "begin",
    "START": "begin",
}
_JOIN = re.compile(r"\b(LEFT OUTER|LEFT|RIGHT OUTER|RIGHT|FULL OUTER|INNER|CROSS)?\s*JOIN\b", re.I)
_EXISTS = re.compile(r"\bEXISTS\s*\(", re.I)
_NAME = r"[`\"]?(\w+)[`\"]?(?:\s+AS\s+[`\"]?\w+[`\"]?)?"
_TABLES = re.compile(rf"\b(?:FROM|JOIN|UPDATE|INTO)\s+{_NAME}((?:\s*,\s*{_NAME})*)", re.I)
_MORE = re.compile(rf",\s*{_NAME}", re.I)


def _tables(sql: str) -> frozenset[str]:
    found: set[str] = set()
    for match in _TABLES.finditer(sql):
        found.add(match.group(1).lower())
        found.update(m.group(1).lower() for m in _MORE.finditer(match.group(2) or ""))
    return frozenset(found)


def _split_exists(sql: str) -> tuple[str, str]:
    """The text outside ``EXISTS (...)`` subqueries, and the text inside them."""
    outside, inside, position = [], [], 0
    for match in _EXISTS.finditer(sql):
        if match.start() < position:
            continue  # nested inside an EXISTS already cut out
        outside.append(sql[position : match.start()])
        depth, index = 1, match.end()
        while index < len(sql) and depth:
            depth += {"(": 1, ")": -1}.get(sql[index], 0)
            index += 1
        inside.append(sql[match.end() : index - 1])
        position = index
    outside.append(sql[position:])
    return " ".join(outside), " ".join(inside)


@functools.lru_cache(maxsize=8192)
def parse_statement(sql: str) -> StatementShape:
    """The shape of one SQL text; cached, as the same texts repeat."""
    words = sql.lstrip(" \t\r\n(").split(None, 1)
    kind = _KIND_WORDS.get(words[0].upper(), "other") if words else "other"
    left = inner = 0
    for match in _JOIN.finditer(sql):
        qualifier = (match.group(1) or "INNER").upper()
        if qualifier.startswith(("LEFT", "RIGHT", "FULL")):
            left += 1
        else:
            inner += 1
    main, subqueries = _split_exists(sql)
    return StatementShape(
        kind=kind,
        joins_left_outer=left,
        joins_inner=inner,
        exists=len(_EXISTS.findall(sql)),
        tables=_tables(main),
        exists_tables=_tables(subqueries) - _tables(main),
    )


# ------------------------------------------------------------------ counting


class SQLCounter:
    """Counts statements sent to an engine (or to each of several: a Galera backend's
    writers' and readers' engines), per measurement, per thread."""

    def __init__(self, engine: Engine | Sequence[Engine], *, keep_statements: bool = False) -> None:
        self.engines = tuple(engine) if isinstance(engine, Sequence) else (engine,)
        self.keep_statements = keep_statements
        self._local = threading.local()
        self._listeners = (
            ("after_cursor_execute", self._after_cursor_execute),
            ("commit", self._commit),
            ("rollback", self._rollback),
        )

    # -- attaching

    def attach(self) -> None:
        for engine in self.engines:
            for name, listener in self._listeners:
                event.listen(engine, name, listener)

    def detach(self) -> None:
        for engine in self.engines:
            for name, listener in self._listeners:
                if event.contains(engine, name, listener):
                    event.remove(engine, name, listener)

    @contextlib.contextmanager
    def attached(self) -> Iterator[SQLCounter]:
        """The listeners on the engine for the duration of the block."""
        self.attach()
        try:
            yield self
        finally:
            self.detach()

    # -- measuring

    def _open(self) -> list[SQLCounts]:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    @contextlib.contextmanager
    def measure(self) -> Iterator[SQLCounts]:
        """Count what this thread sends to the engine inside the block."""
        counts = SQLCounts(keep_statements=self.keep_statements)
        stack = self._open()
        stack.append(counts)
        try:
            yield counts
        finally:
            stack.remove(counts)

    # -- listeners

    def _after_cursor_execute(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        stack = getattr(self._local, "stack", None)
        if not stack:
            return
        shape = parse_statement(statement)
        rows = _row_count(shape, cursor, context)
        repeat = _parameter_sets(parameters) if many else 1
        # PyMySQL sends an executemany INSERT as one multi-row statement.
        batched = repeat > 1 and shape.kind == "insert" and conn.dialect.name == "mysql"
        round_trips = 1 if batched else repeat
        for counts in stack:
            counts.add(shape, rows, statement, repeat, round_trips)

    def _commit(self, conn: Any) -> None:
        for counts in getattr(self._local, "stack", None) or ():
            counts.commits += 1

    def _rollback(self, conn: Any) -> None:
        for counts in getattr(self._local, "stack", None) or ():
            counts.rollbacks += 1


def _parameter_sets(parameters: Any) -> int:
    """How many statements an execution ran: one per parameter set of an executemany.

    SQLAlchemy also reports each batch of its "insertmanyvalues" INSERTs as
    ``many``, with one flat parameter tuple: that is one statement.
    """
    if isinstance(parameters, list | tuple) and parameters:
        first = parameters[0]
        if isinstance(first, list | tuple | dict):
            return len(parameters)
    return 1


def _row_count(shape: StatementShape, cursor: Any, context: Any) -> int:
    """Rows affected (DML) or returned (SELECT) by the statement just executed."""
    rowcount = getattr(cursor, "rowcount", -1)
    if shape.kind != "select":
        return max(rowcount, 0) if shape.kind in ("insert", "update", "delete") else 0
    if rowcount is not None and rowcount >= 0:
        return rowcount  # a buffering driver (PyMySQL) already knows
    if context is None or cursor.description is None:
        return 0
    rows = cursor.fetchall()
    context.cursor_fetch_strategy = FullyBufferedCursorFetchStrategy(
        cursor, cursor.description, rows
    )
    return len(rows)


@contextlib.contextmanager
def count_sql(
    engine: Engine | Sequence[Engine], *, keep_statements: bool = True
) -> Iterator[SQLCounts]:
    """Count what the current thread sends to ``engine`` inside the block (one-off use)."""
    counter = SQLCounter(engine, keep_statements=keep_statements)
    with counter.attached(), counter.measure() as counts:
        yield counts


# ------------------------------------------------------------ lock status

#: ``SHOW GLOBAL STATUS`` variables of InnoDB's row locks (MariaDB 10.11 and MySQL have
#: all three) and the counter each one's delta is reported as.
LOCK_STATUS = {
    "Innodb_row_lock_waits": "row_lock_waits",
    "Innodb_row_lock_time": "row_lock_time_ms",
    "Innodb_deadlocks": "deadlocks",
}
#: A Galera node's: transactions that lost certification at commit (the client sees
#: error 1213, as for a deadlock) and local transactions aborted by a replicated one.
#: Reported only by a node with the wsrep provider loaded.
GALERA_STATUS = {
    "wsrep_local_cert_failures": "cert_failures",
    "wsrep_local_bf_aborts": "bf_aborts",
}
LOCK_COUNTERS = (
    *LOCK_STATUS.values(),
    *GALERA_STATUS.values(),
    "lock_windows",
    "lock_window_shared",
)
_STATUS_SQL = "SHOW GLOBAL STATUS WHERE Variable_name IN ({})".format(
    ", ".join(f"'{name}'" for name in (*LOCK_STATUS, *GALERA_STATUS))
)


class LockStatus:
    """InnoDB row-lock waits, their time and deadlocks over one call's window (and on a
    Galera node its certification failures and brute-force aborts), from ``SHOW GLOBAL
    STATUS`` read before and after the call.

    The status is global: a window's delta is every wait the server saw while the
    call ran. It is exact when no other measured window overlapped (a serial run on
    this backend, nothing else on the server); when windows overlapped the call is
    marked ``lock_window_shared`` = 1 and a wait counts in every window that covers it,
    so sums over shared windows over-count (the report says so). Each thread reads on
    a connection of its own, taken from the engine's pool but used through the raw
    DB-API cursor, so the reads fire no SQLAlchemy events (the statement counters never
    see them) and run outside the timed call.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[Any] = []
        self._open = 0
        self._starts = 0

    @classmethod
    def of(cls, engine: Engine) -> LockStatus | None:
        """The lock status of a MySQL engine; None for one with no InnoDB status (SQLite)."""
        return cls(engine) if engine.dialect.name == "mysql" else None

    def read(self) -> dict[str, int] | None:
        """The three status values now, on this thread's own connection; None when the
        server did not answer (a node killed mid-run: the window goes unmeasured, the
        next read opens a new connection, and the call itself is never disturbed)."""
        connection = getattr(self._local, "connection", None)
        try:
            if connection is None:
                connection = self._local.connection = self.engine.raw_connection()
                with self._lock:
                    self._connections.append(connection)
            cursor = connection.cursor()
            try:
                cursor.execute(_STATUS_SQL)
                rows = cursor.fetchall()
            finally:
                cursor.close()
        except Exception:  # any driver or pool error: this window is not measured
            self._drop(connection)
            return None
        values = {name: int(value) for name, value in rows}
        status = dict(LOCK_STATUS)
        if "wsrep_local_cert_failures" in values:  # a Galera node
            status.update(GALERA_STATUS)
        return {counter: values.get(name, 0) for name, counter in status.items()}

    def _drop(self, connection: Any) -> None:
        self._local.connection = None
        if connection is None:
            return
        with self._lock:
            if connection in self._connections:
                self._connections.remove(connection)
        with contextlib.suppress(Exception):
            if connection.is_valid:
                connection.invalidate()

    def start(self) -> tuple[dict[str, int] | None, bool, int]:
        with self._lock:
            shared = self._open > 0
            self._open += 1
            self._starts += 1
            starts = self._starts
        return self.read(), shared, starts

    def stop(self, token: tuple[dict[str, int] | None, bool, int]) -> dict[str, int]:
        """The window's deltas; {} when either read failed (not measured)."""
        before, shared, starts = token
        after = self.read()
        with self._lock:
            self._open -= 1
            shared = shared or self._starts != starts
        if before is None or after is None:
            return {}
        deltas = {name: after[name] - before.get(name, 0) for name in after}
        deltas["lock_windows"] = 1  # measured (a call on SQLite, or a read, has none)
        deltas["lock_window_shared"] = int(shared)
        return deltas

    def close(self) -> None:
        """Give every thread's connection back to the pool."""
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            with contextlib.suppress(Exception):  # a dead node's connection: nothing to give
                connection.close()
        self._local = threading.local()
