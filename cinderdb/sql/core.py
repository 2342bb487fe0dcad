"""Engine, sessions, error translation and query helpers of the SQL backend.

The area modules (``volumes.py``, ``snapshots.py``, ``types.py``...) subclass
``SQLCore`` and hold only data-model logic: which rows to read and write.
``backend.py`` assembles them into ``SQLBackend``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event, exc, false, true
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool, StaticPool

from cinderdb import exception
from cinderdb.api import READ_FUNCTIONS
from cinderdb.base import Backend, Features, RoundTrip, current_call
from cinderdb.context import RequestContext
from cinderdb.quota import DEFAULT_QUOTA_CLASS, DEFAULT_QUOTA_CLASS_LIMITS
from cinderdb.records import Record, column_names, utcnow
from cinderdb.sql import galera, models
from cinderdb.sql.features import features_for
from cinderdb.sql.mysql_errors import CONNECTION_ERRORS, DEADLOCK_ERRORS, error_code

F = TypeVar("F", bound=Callable[..., Any])

DEADLOCK_RETRIES = 20


def create_sql_engine(url: str, **options: Any) -> Engine:
    """An engine for a SQLite or MySQL URL with the settings the backend needs.

    SQLite: an in-memory database shares one connection (StaticPool); a file
    database starts every transaction with ``BEGIN IMMEDIATE`` so concurrent
    writers queue instead of failing with "database is locked" half-way.
    MySQL: pre-ping, and READ COMMITTED as production Galera/MySQL setups for
    Cinder commonly run (the locking reads of quota_reserve behave the same).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        memory = parsed.database in (None, "", ":memory:")
        if memory:
            options.setdefault("poolclass", StaticPool)
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **options
        )
        _enforce_foreign_keys(engine)
        if not memory:
            _begin_immediate(engine)
        return engine
    options.setdefault("pool_pre_ping", True)
    options.setdefault("pool_size", 20)
    options.setdefault("max_overflow", 20)
    options.setdefault("isolation_level", "READ COMMITTED")
    return sa.create_engine(url, **options)


def _enforce_foreign_keys(engine: Engine) -> None:
    # InnoDB enforces the seed's FOREIGN KEYs; SQLite only when asked, per connection.
    # Without this, a write naming a missing parent succeeds on SQLite and fails on MySQL.
    @event.listens_for(engine, "connect")
    def _foreign_keys_on(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA foreign_keys=ON")


def _begin_immediate(engine: Engine) -> None:
    # SQLAlchemy's documented recipe: let SQLAlchemy, not pysqlite, emit BEGIN.
    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        # Durable across a crash of the process, not of the machine: the same
        # promise as the MagnetoDB server's LMDB without fsync, so neither side
        # of a comparison pays for a guarantee the other does not give.
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        dbapi_connection.execute("PRAGMA busy_timeout=30000")

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def retry_on_deadlock(fn: F) -> F:
    """Liberty's ``_retry_on_deadlock``: run the function again on ``DBDeadlock`` (a MySQL
    deadlock victim, a lock wait timeout, a Galera certification failure).

    Liberty decorates the functions that take row locks or write many rows
    (``quota_reserve``, ``reservation_commit``..., the destroys, the metadata
    updates and deletes); the SQL backend decorates the same ones. Liberty retries
    forever every 0.5 s; a benchmark must not hang, so this gives up after
    ``DEADLOCK_RETRIES`` tries with a short random back-off. Each retry and a give-up
    are told to the backend's ``contention_hooks`` (the decorated functions are methods).
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(DEADLOCK_RETRIES):
            try:
                return fn(*args, **kwargs)
            except exception.DBDeadlock:
                backend = args[0]
                if attempt == DEADLOCK_RETRIES - 1:
                    backend.note_contention("give_up")
                    raise
                backend.note_contention("retry")
                time.sleep(random.uniform(0.001, 0.01) * (attempt + 1))
        raise AssertionError("unreachable")

    return wrapper  # type: ignore[return-value]


def is_foreign_key_violation(error: exc.IntegrityError) -> bool:
    """True for a FOREIGN KEY violation (MySQL 1451/1452, SQLite's message), not a duplicate."""
    args = getattr(error.orig, "args", ())
    if args and args[0] in (1451, 1452):  # MySQL: parent row missing / still referenced
        return True
    return "FOREIGN KEY constraint failed" in str(error.orig)  # SQLite


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    """Re-raise SQLAlchemy errors as Cinder's, once, at the backend boundary, as oslo.db's
    exception filters do (deadlocks and lost connections get classes of their own)."""
    try:
        yield
    except exc.IntegrityError as error:
        if is_foreign_key_violation(error):
            raise exception.DBReferenceError(reason=str(error.orig)) from error
        raise exception.DBDuplicateEntry(reason=str(error.orig)) from error
    except exc.DataError as error:
        raise exception.InvalidInput(reason=str(error.orig)) from error
    except exc.DBAPIError as error:
        code = error_code(error)
        if code in DEADLOCK_ERRORS:
            raise exception.DBDeadlock(reason=str(error.orig)) from error
        if error.connection_invalidated or code in CONNECTION_ERRORS:
            raise exception.DBConnectionError(reason=str(error.orig)) from error
        raise exception.DBError(reason=str(error.orig)) from error
    except exc.SQLAlchemyError as error:
        raise exception.DBError(reason=str(error)) from error


def create_mysql_database(url: str | sa.URL) -> None:
    """``CREATE DATABASE IF NOT EXISTS`` the database ``url`` names (utf8mb4), through a
    connection to its server alone."""
    url = make_url(url)
    engine = sa.create_engine(url.set(database=""), poolclass=NullPool)
    quoted = engine.dialect.identifier_preparer.quote_identifier(url.database or "")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(
                f"CREATE DATABASE IF NOT EXISTS {quoted} CHARACTER SET utf8mb4"
            )
    finally:
        engine.dispose()


def drop_mysql_database(url: str | sa.URL) -> None:
    """``DROP DATABASE IF EXISTS`` the database ``url`` names, through its server alone."""
    url = make_url(url)
    engine = sa.create_engine(url.set(database=""), poolclass=NullPool)
    quoted = engine.dialect.identifier_preparer.quote_identifier(url.database or "")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted}")
    finally:
        engine.dispose()


def _is_unknown_database(error: exc.DBAPIError) -> bool:
    """MySQL's ER_BAD_DB_ERROR (1049): the URL names a database the server does not have."""
    return error_code(error) == 1049


def read_deleted_clause(model: type, read_deleted: str) -> Any:
    """The WHERE clause ``model_query`` adds for ``read_deleted``, or None."""
    if read_deleted == "no":
        return model.deleted == false()
    if read_deleted == "only":
        return model.deleted == true()
    return None


class SQLCore(Backend):
    """The SQL backend's plumbing: one engine, short sessions, Liberty's query filters.

    On a Galera URL (``cinderdb.sql.galera``) a second engine may serve the
    read-only API functions; ``session()`` picks it by the API call running.
    """

    side = "sql"

    def __init__(self, url: str, **engine_options: Any) -> None:
        self._url = url
        self.features = features_for(url)
        #: the Galera nodes behind the URL, or None for a single server
        self.nodes = galera.parse(url)
        if self.nodes is None:
            self.engine = create_sql_engine(url, **engine_options)
            self._read_engine = self.engine
        else:
            self.engine, self._read_engine = galera.create_engines(self.nodes, **engine_options)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._read_sessions = (
            self._sessions
            if self._read_engine is self.engine
            else sessionmaker(self._read_engine, expire_on_commit=False, autoflush=False)
        )

    @property
    def url(self) -> str:
        if self.nodes is not None:
            return self.nodes.render(hide_password=True)
        return make_url(self._url).render_as_string(hide_password=True)

    @property
    def engines(self) -> tuple[Engine, ...]:
        """Every engine the backend sends statements to (the counters listen on each)."""
        if self._read_engine is self.engine:
            return (self.engine,)
        return (self.engine, self._read_engine)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``mysql``."""
        return self.engine.dialect.name

    @classmethod
    def features_for(cls, url: str) -> Features:
        return features_for(url)

    @classmethod
    def default_label(cls, url: str) -> str:
        if galera.parse(url) is not None:
            return "galera"
        return make_url(url).get_backend_name()

    @classmethod
    @contextlib.contextmanager
    def embedded_store(cls, directory: str, *, durable: bool = False) -> Iterator[str]:
        """A SQLite file, ``cinder.sqlite`` under ``directory`` (WAL at ``synchronous=NORMAL``:
        a commit survives a crash of the process, not of the machine)."""
        if durable:
            raise ValueError("the embedded SQLite store does not fsync every commit")
        yield f"sqlite:///{os.path.join(directory, 'cinder.sqlite')}"

    @classmethod
    @contextlib.contextmanager
    def sibling_store(cls, url: str) -> Iterator[str]:
        """An empty store next to ``url`` on the same engine, for as long as the block runs:
        another memory database, a file with ``-2`` appended, or a new MySQL database on
        the same server or Galera cluster (dropped after)."""
        nodes = galera.parse(url)
        if nodes is not None:
            name = f"{nodes.database}_2_{uuid.uuid4().hex[:8]}"
            server = galera.first_live_url(nodes, name)
            create_mysql_database(server)
            try:
                yield nodes.with_database(name).render(hide_password=False)
            finally:
                drop_mysql_database(galera.first_live_url(nodes, name))
            return
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            if parsed.database in (None, "", ":memory:"):
                yield url  # each engine on a memory URL is a database of its own
            else:
                yield parsed.set(database=parsed.database + "-2").render_as_string(False)
            return
        name = f"{parsed.database or 'cinderbench'}_2_{uuid.uuid4().hex[:8]}"
        sibling = parsed.set(database=name)
        create_mysql_database(sibling)
        try:
            yield sibling.render_as_string(hide_password=False)
        finally:
            drop_mysql_database(sibling)

    def ping(self) -> None:
        """``SELECT 1``; a MySQL server that lacks the URL's database answers too (loading a
        dataset creates it: ``create_schema``)."""
        with translate_errors():
            try:
                with self.engine.connect() as connection:
                    connection.exec_driver_sql("SELECT 1").scalar()
            except exc.OperationalError as error:
                if not _is_unknown_database(error):
                    raise

    def round_trip_probe(self) -> RoundTrip:
        """``SELECT 1`` on a connection of its own (the pool's checkout is not timed)."""
        connection = self.engine.connect()
        return RoundTrip(
            "SELECT 1", lambda: connection.exec_driver_sql("SELECT 1").scalar(), connection.close
        )

    def durable_commits(self) -> bool | None:
        """MySQL at ``innodb_flush_log_at_trx_commit=1`` (its default) flushes the redo log at
        every commit; SQLite does at ``synchronous=FULL`` or above (the default file database
        runs WAL at NORMAL: a commit survives the process, not power loss). A Galera cluster
        is durable when every node flushes at commit: a write set acknowledged by nodes
        that keep it in memory only is lost when the machine(s) they share lose power
        (None when no node answers)."""
        if self.nodes is not None:
            answering = [n for n in galera.node_facts(self.nodes) if n["state"] != "down"]
            if not answering:
                return None
            return all(n["innodb_flush_log_at_trx_commit"] == 1 for n in answering)
        with self._server_connection() as connection:
            if self.dialect == "sqlite":
                if self.engine.url.database in (None, "", ":memory:"):
                    return False
                return int(connection.exec_driver_sql("PRAGMA synchronous").scalar()) >= 2
            flush = connection.exec_driver_sql("select @@innodb_flush_log_at_trx_commit")
            return int(flush.scalar()) == 1

    def engine_info(self) -> dict[str, Any]:
        """Engine, version and durability; on Galera, a ``topology`` with each node's own
        report (version, flush setting, Galera state) and the routing policy."""
        if self.nodes is not None:
            return {**super().engine_info(), **self._galera_info()}
        with self._server_connection() as connection:
            if self.dialect == "sqlite":
                version = connection.exec_driver_sql("select sqlite_version()").scalar()
                level = connection.exec_driver_sql("PRAGMA synchronous").scalar()
                durability = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(level, level)
                durability = f"synchronous={durability}"
            else:
                version = connection.exec_driver_sql("select version()").scalar()
                flush = connection.exec_driver_sql(
                    "select @@innodb_flush_log_at_trx_commit"
                ).scalar()
                durability = f"innodb_flush_log_at_trx_commit={flush}"
        return {
            **super().engine_info(),
            "engine": self.dialect,
            "server_version": version,
            "durability": durability,
        }

    @contextlib.contextmanager
    def _server_connection(self) -> Iterator[sa.Connection]:
        """A connection for the server's own facts (version, flush setting): to the database,
        or to the server alone while the database does not exist yet (``create_schema``
        makes it; ``compare --sql`` asks before it loads)."""
        try:
            connection = self.engine.connect()
        except exc.OperationalError as error:
            if self.dialect != "mysql" or not _is_unknown_database(error):
                raise
        else:
            with connection:
                yield connection
            return
        server = sa.create_engine(self.engine.url.set(database=""), poolclass=NullPool)
        try:
            with server.connect() as connection:
                yield connection
        finally:
            server.dispose()

    def _galera_info(self) -> dict[str, Any]:
        assert self.nodes is not None
        members = galera.node_facts(self.nodes)
        answering = [m for m in members if m["state"] != "down"]
        flushes = sorted({m["innodb_flush_log_at_trx_commit"] for m in answering})
        durability = (
            f"innodb_flush_log_at_trx_commit={flushes[0]} on every node"
            if len(flushes) == 1
            else f"innodb_flush_log_at_trx_commit={','.join(map(str, flushes))} (differs by node)"
            if flushes
            else "unknown (no node answers)"
        )
        versions = sorted({m["server_version"] for m in answering})
        return {
            "engine": "mysql",
            "server_version": ", ".join(versions) or "unknown",
            "durability": durability,
            "topology": {
                "kind": "galera",
                "nodes": len(members),
                "policy": self.nodes.policy,
                "routing": self.nodes.describe(),
                "durability": durability,
                "members": members,
            },
        }

    # ------------------------------------------------------------- schema

    def create_schema(self) -> None:
        """The tables and the default quota class; on MySQL, the database too when missing
        (a fresh server has none, and every command that loads a dataset starts here)."""
        with translate_errors():
            self._create_database()
            models.Base.metadata.create_all(self.engine)
            with self.session() as session:
                seeded = session.scalar(
                    sa.select(sa.func.count())
                    .select_from(models.QuotaClass)
                    .where(models.QuotaClass.class_name == DEFAULT_QUOTA_CLASS)
                )
                if not seeded:
                    now = utcnow()
                    session.add_all(
                        models.QuotaClass(
                            class_name=DEFAULT_QUOTA_CLASS,
                            resource=resource,
                            hard_limit=limit,
                            created_at=now,
                            deleted=False,
                        )
                        for resource, limit in DEFAULT_QUOTA_CLASS_LIMITS.items()
                    )

    def drop_schema(self) -> None:
        """Drop the tables; a MySQL database that does not exist has none to drop."""
        with translate_errors():
            try:
                models.Base.metadata.drop_all(self.engine)
            except exc.OperationalError as error:
                if not _is_unknown_database(error):
                    raise

    def _create_database(self) -> None:
        if self.nodes is not None:
            create_mysql_database(galera.first_live_url(self.nodes))
        elif self.dialect == "mysql" and self.engine.url.database:
            create_mysql_database(self.engine.url)

    def close(self) -> None:
        for engine in self.engines:
            engine.dispose()

    # ------------------------------------------------------------ sessions

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on any error. A read-only API
        call goes to the readers' engine (the same one unless a Galera URL sends reads
        elsewhere)."""
        sessions = self._sessions
        if sessions is not self._read_sessions and current_call() in READ_FUNCTIONS:
            sessions = self._read_sessions
        with translate_errors(), sessions.begin() as session:
            yield session

    # ------------------------------------------------------------- queries

    def model_query(
        self,
        context: RequestContext,
        model: type,
        *entities: Any,
        read_deleted: str | None = None,
        project_only: bool = False,
    ) -> sa.Select:
        """Liberty's ``model_query``: soft-delete filter on the base table and,
        with ``project_only``, the caller's project for user contexts."""
        statement = sa.select(*(entities or (model,)))
        clause = read_deleted_clause(model, read_deleted or context.read_deleted)
        if clause is not None:
            statement = statement.where(clause)
        if project_only and context.is_user_context:
            statement = statement.where(model.project_id == context.project_id)
        return statement

    @staticmethod
    def columns_of(kind: str, row: Any) -> Record:
        """The record columns of one ORM row (no relationships)."""
        return {name: getattr(row, name) for name in column_names(kind)}
