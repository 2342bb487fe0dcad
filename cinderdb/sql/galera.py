"""Several MariaDB Galera nodes behind one backend URL: the URL form, where connections go,
and failover when a node dies.

The URL names every node, and how a deployment spreads connections over them::

    mysql+pymysql://USER[:PASSWORD]@HOST1:PORT1,HOST2:PORT2,HOST3:PORT3/DB?galera=one-writer

or, the same, the nodes' own URLs joined by commas
(``mysql+pymysql://root@h:3306/cinder,mysql+pymysql://root@h:3307/cinder``). Its
parameters (every other one goes to the driver, as on a single-node URL):

``galera=one-writer`` (the default)
    HAProxy as OpenStack-Ansible configures it in front of Galera by default: the
    first node the backend, the others ``backup``. Every connection goes to the
    first node that answers (and is Synced, as HAProxy's ``clustercheck`` asks);
    when it dies, new connections go to the next one. Liberty's Cinder has one
    ``[database] connection`` and no read/write split, so its reads go to the writer
    too: no read can miss a write it follows.
``galera=one-writer&reads=any``
    Writes as above; the read-only API functions (``cinderdb.api.READ_FUNCTIONS``)
    spread over every live node, as a read/write-splitting proxy or oslo.db's
    ``slave_connection`` would send them. Galera applies a write set on the other
    nodes after the commit returns, so a read there right after a write may not see
    it; reader sessions therefore run at ``wsrep_sync_wait=1`` (the read waits until
    the node has applied every write set committed before it began), the setting a
    deployment needs for Cinder's read-after-write to hold. ``sync_wait=0`` shows
    the stale reads instead.
``galera=all-writers``
    HAProxy balancing every connection over every node (multi-master): each
    transaction runs on the node its pooled connection reached, so concurrent
    writers on different nodes meet at certification, and the loser gets a deadlock
    error at commit (MySQL error 1213), retried where Liberty retries
    (``retry_on_deadlock``) and an error outcome elsewhere. Reads run at
    ``wsrep_sync_wait`` = ``sync_wait`` (1 by default) for the reason above.

**Failover** is what oslo.db behind HAProxy gives Cinder: a transaction in flight on
a node that dies fails (``DBConnectionError``; the caller cannot know whether its
commit landed), pooled connections to that node fail their pre-ping and are
replaced, and each new connection goes to a live node. A node that refused a
connection, or answered but was not Synced, is skipped for ``RECHECK_SECONDS`` and
tried again after (HAProxy's health check); it takes connections again once it
answers Synced.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from cinderdb.sql.mysql_errors import CONNECTION_ERRORS, error_code

#: ``galera=`` values: how connections are spread over the nodes.
POLICIES = ("one-writer", "all-writers")
#: ``reads=`` values of the one-writer policy.
READS = ("writer", "any")
#: The URL parameters this module reads (the driver never sees them).
OWN_PARAMETERS = frozenset({"galera", "reads", "sync_wait"})
#: How long a node that failed a connection or its health check is skipped.
RECHECK_SECONDS = 1.0
#: Seconds a connection attempt to one node may take before the next node is tried.
CONNECT_TIMEOUT = 5
#: Galera's ``wsrep_local_state`` of a node that serves clients (HAProxy's clustercheck).
SYNCED = "4"
#: Several full URLs joined by commas: split before each ``scheme://``.
_URL_START = re.compile(r",(?=[A-Za-z][A-Za-z0-9+.-]*://)")


@dataclass(frozen=True)
class NodeSet:
    """The nodes of one Galera cluster, and how connections are spread over them."""

    scheme: str
    #: ``user[:password]`` as written in the URL (percent-encoded), or ""
    userinfo: str
    #: ``host:port`` of each node, in the URL's order (one-writer's failover order)
    hosts: tuple[str, ...]
    database: str
    #: parameters for the driver (``charset``...), in the URL's order
    query: tuple[tuple[str, str], ...] = ()
    policy: str = "one-writer"
    reads: str = "writer"
    sync_wait: int = 1

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"galera= is one of {', '.join(POLICIES)}, not {self.policy!r}")
        if self.reads not in READS:
            raise ValueError(f"reads= is one of {', '.join(READS)}, not {self.reads!r}")
        if self.policy == "all-writers" and self.reads != "writer":
            raise ValueError("reads= applies to galera=one-writer (all-writers reads anywhere)")
        if not 0 <= self.sync_wait <= 15:
            raise ValueError(f"sync_wait= is wsrep_sync_wait, 0 to 15, not {self.sync_wait}")
        if not self.hosts:
            raise ValueError("a Galera URL names at least one node")

    # ----------------------------------------------------------- routing facts

    @property
    def reads_elsewhere(self) -> bool:
        """Do read-only calls run on connections of their own (other nodes, sync wait)?"""
        if self.policy == "one-writer":
            return self.reads == "any"
        return self.sync_wait != 0

    @property
    def writer_spread(self) -> bool:
        """Do writers' connections go to every node (all-writers) or to the first live one?"""
        return self.policy == "all-writers"

    def describe(self) -> str:
        """The policy in words, for engine_info and reports."""
        if self.policy == "all-writers":
            return (
                "all writers (connections over every node), reads at "
                f"wsrep_sync_wait={self.sync_wait}"
            )
        if self.reads == "any":
            return (
                "one writer (first live node), reads on any node at "
                f"wsrep_sync_wait={self.sync_wait}"
            )
        return "one writer (first live node takes every connection, the others stand by)"

    # ---------------------------------------------------------------- URLs

    def node_url(self, index: int, database: str | None = None) -> URL:
        """The single-node SQLAlchemy URL of node ``index`` (driver parameters kept)."""
        db = self.database if database is None else database
        text = f"{self.scheme}://{self._userinfo_at()}{self.hosts[index]}/{quote(db)}"
        if self.query:
            text += "?" + urlencode(self.query)
        return make_url(text)

    def render(self, hide_password: bool = True) -> str:
        """The URL in its node-list form (the password masked unless asked)."""
        userinfo = self.userinfo
        if hide_password and ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        query = [*self.query, ("galera", self.policy)]
        if self.policy == "one-writer" and self.reads != "writer":
            query.append(("reads", self.reads))
        if self.reads_elsewhere and self.sync_wait != 1:
            query.append(("sync_wait", str(self.sync_wait)))
        at = f"{userinfo}@" if userinfo else ""
        return (
            f"{self.scheme}://{at}{','.join(self.hosts)}/{quote(self.database)}?{urlencode(query)}"
        )

    def with_database(self, database: str) -> NodeSet:
        return replace(self, database=database)

    def _userinfo_at(self) -> str:
        return f"{self.userinfo}@" if self.userinfo else ""


def parse(url: str) -> NodeSet | None:
    """The node set of a Galera URL; None for a single-node URL (one host, no ``galera=``).

    A malformed Galera URL is a ``ValueError`` naming what is wrong.
    """
    parts = [part for part in _URL_START.split(url) if part]
    if len(parts) > 1:
        return _joined(parts)
    scheme, _, rest = url.partition("://")
    split = urlsplit(f"{scheme}://{rest}")
    userinfo, _, hostlist = split.netloc.rpartition("@")
    query = parse_qsl(split.query, keep_blank_values=True)
    hosts = tuple(_host(h) for h in hostlist.split(",")) if hostlist else ()
    own = {key: value for key, value in query if key in OWN_PARAMETERS}
    if len(hosts) <= 1 and not own:
        return None
    if not scheme.startswith("mysql"):
        raise ValueError(f"a Galera URL is a MySQL URL, not {scheme}://")
    database = unquote(split.path.lstrip("/"))
    if not database:
        raise ValueError(f"a Galera URL names its database: {scheme}://USER@HOST:PORT,.../DB")
    try:
        sync_wait = int(own.get("sync_wait", "1"))
    except ValueError:
        raise ValueError(f"sync_wait= is an integer, not {own['sync_wait']!r}") from None
    return NodeSet(
        scheme=scheme,
        userinfo=userinfo,
        hosts=hosts,
        database=database,
        query=tuple((k, v) for k, v in query if k not in OWN_PARAMETERS),
        policy=own.get("galera", "one-writer"),
        reads=own.get("reads", "writer"),
        sync_wait=sync_wait,
    )


def _host(text: str) -> str:
    host = text.strip()
    if not host:
        raise ValueError("an empty node in a Galera URL's node list")
    return host if ":" in host else f"{host}:3306"


def _joined(urls: Sequence[str]) -> NodeSet:
    """Several full node URLs of one cluster as one node set: they must differ in host only."""
    sets = []
    for url in urls:
        scheme = url.partition("://")[0]
        split = urlsplit(url)
        userinfo, _, host = split.netloc.rpartition("@")
        if "," in host:
            raise ValueError(f"join node URLs or list nodes in one URL, not both: {url!r}")
        sets.append((scheme, userinfo, _host(host), split.path, split.query))
    first = sets[0]
    for other in sets[1:]:
        if (other[0], other[1], other[3], other[4]) != (first[0], first[1], first[3], first[4]):
            raise ValueError(
                "the node URLs of one cluster differ only in HOST:PORT "
                "(same scheme, user, database and parameters)"
            )
    scheme, userinfo, _, path, query = first
    hosts = ",".join(host for _, _, host, _, _ in sets)
    at = f"{userinfo}@" if userinfo else ""
    combined = f"{scheme}://{at}{hosts}{path}" + (f"?{query}" if query else "")
    parsed = parse(combined)
    if parsed is None:  # one URL repeated: still a node set of one
        parsed = parse(combined + ("&" if query else "?") + "galera=one-writer")
    assert parsed is not None
    return parsed


# ------------------------------------------------------------------ routing


class NodeHealth:
    """Which nodes failed lately; shared by every connection the backend makes."""

    def __init__(self, size: int, recheck: float = RECHECK_SECONDS) -> None:
        self.recheck = recheck
        self._skip_until = [0.0] * size
        self._lock = threading.Lock()

    def usable(self, index: int) -> bool:
        return time.monotonic() >= self._skip_until[index]

    def failed(self, index: int) -> None:
        with self._lock:
            self._skip_until[index] = time.monotonic() + self.recheck

    def answered(self, index: int) -> None:
        with self._lock:
            self._skip_until[index] = 0.0


class Router:
    """The ``creator`` of one engine's connections: which node a new connection goes to.

    ``spread``: round robin over the live nodes (HAProxy ``balance roundrobin``);
    otherwise the first live node in the URL's order (one active, the rest backup).
    ``session`` statements run on every new connection (``wsrep_sync_wait`` of readers).
    """

    def __init__(
        self,
        nodes: NodeSet,
        health: NodeHealth,
        *,
        spread: bool,
        session: Sequence[str] = (),
    ) -> None:
        self.nodes = nodes
        self.health = health
        self.spread = spread
        self.session = tuple(session)
        self._turn = itertools.count()
        dialect_class = nodes.node_url(0).get_dialect()
        self.dbapi = dialect_class.import_dbapi()
        # with its DBAPI, the dialect adds the client flags SQLAlchemy relies on (FOUND_ROWS)
        dialect = dialect_class(dbapi=self.dbapi)
        self._connect_args = []
        for index in range(len(nodes.hosts)):
            cargs, cparams = dialect.create_connect_args(nodes.node_url(index))
            cparams.setdefault("connect_timeout", CONNECT_TIMEOUT)
            self._connect_args.append((cargs, cparams))

    def order(self) -> list[int]:
        """Nodes to try: the usable ones in policy order, then the skipped ones (last resort)."""
        count = len(self.nodes.hosts)
        indexes = list(range(count))
        if self.spread:
            start = next(self._turn) % count
            indexes = indexes[start:] + indexes[:start]
        usable = [i for i in indexes if self.health.usable(i)]
        return usable + [i for i in indexes if i not in usable]

    def arguments(self, index: int, database: str | None = None) -> tuple[Any, dict[str, Any]]:
        """The driver's connect arguments for node ``index`` (``database=""``: no database)."""
        cargs, cparams = self._connect_args[index]
        if database is None:
            return cargs, cparams
        cparams = {k: v for k, v in cparams.items() if k not in ("db", "database")}
        if database:
            cparams["database"] = database
        return cargs, cparams

    def connect(self) -> Any:
        """A DBAPI connection to a live, Synced node (the engine's ``creator``)."""
        return self.connect_node()[1]

    def connect_node(self, database: str | None = None) -> tuple[int, Any]:
        """``(node index, DBAPI connection)`` of the first node in ``order()`` that answers
        Synced; the driver's OperationalError (2003) naming every node's failure otherwise."""
        failures = []
        for index in self.order():
            cargs, cparams = self.arguments(index, database)
            try:
                connection = self.dbapi.connect(*cargs, **cparams)
            except self.dbapi.Error as error:
                if error_code(error) not in CONNECTION_ERRORS:
                    raise  # the node answered: a wrong password or database is the caller's
                self.health.failed(index)
                failures.append(f"{self.nodes.hosts[index]}: {error}")
                continue
            try:
                state = local_state(connection)
                if state is not None and state != SYNCED:
                    raise self.dbapi.OperationalError(1047, f"wsrep_local_state={state}")
                with connection.cursor() as cursor:
                    for statement in self.session:
                        cursor.execute(statement)
            except self.dbapi.Error as error:
                connection.close()
                self.health.failed(index)
                failures.append(f"{self.nodes.hosts[index]}: {error}")
                continue
            self.health.answered(index)
            return index, connection
        raise self.dbapi.OperationalError(2003, "no Galera node answers: " + "; ".join(failures))


def local_state(connection: Any) -> str | None:
    """The node's ``wsrep_local_state`` (4: Synced), or None when it is not a Galera node."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW GLOBAL STATUS LIKE 'wsrep_local_state'")
        row = cursor.fetchone()
    return None if row is None else str(row[1])


def create_engines(nodes: NodeSet, **options: Any) -> tuple[Engine, Engine]:
    """The writers' engine and the readers' (the same engine when reads go with writes).

    Both pool their connections as a single-node engine does (pre-ping, READ
    COMMITTED); each new connection is routed by a ``Router`` sharing one
    ``NodeHealth``.
    """
    health = NodeHealth(len(nodes.hosts))
    options.setdefault("pool_pre_ping", True)
    options.setdefault("pool_size", 20)
    options.setdefault("max_overflow", 20)
    options.setdefault("isolation_level", "READ COMMITTED")
    url = nodes.node_url(0)
    writer_router = Router(nodes, health, spread=nodes.writer_spread)
    writer = sa.create_engine(url, creator=writer_router.connect, **options)
    if not nodes.reads_elsewhere:
        return writer, writer
    reader_router = Router(
        nodes,
        health,
        spread=True,
        session=[f"SET SESSION wsrep_sync_wait = {int(nodes.sync_wait)}"],
    )
    reader = sa.create_engine(url, creator=reader_router.connect, **options)
    return writer, reader


# --------------------------------------------------------------- node facts


def node_facts(nodes: NodeSet, timeout: float = 3.0) -> list[dict[str, Any]]:
    """Each node's own report: version, durability setting, Galera state (or why it did
    not answer), read on a connection of its own."""
    facts = []
    router = Router(nodes, NodeHealth(len(nodes.hosts)), spread=False)
    for index, host in enumerate(nodes.hosts):
        cargs, cparams = router.arguments(index, database="")
        entry: dict[str, Any] = {"address": host}
        try:
            connection = router.dbapi.connect(*cargs, **{**cparams, "connect_timeout": timeout})
        except router.dbapi.Error as error:
            entry.update(state="down", error=str(error).splitlines()[0][:200])
            facts.append(entry)
            continue
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT VERSION(), @@innodb_flush_log_at_trx_commit, @@wsrep_on,"
                    " @@wsrep_node_name, @@wsrep_sync_wait"
                )
                version, flush, wsrep_on, name, sync_wait = cursor.fetchone()
                cursor.execute(
                    "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_size',"
                    " 'wsrep_local_state_comment', 'wsrep_cluster_status',"
                    " 'wsrep_provider_version')"
                )
                status = dict(cursor.fetchall())
        finally:
            connection.close()
        entry.update(
            name=name,
            state=status.get("wsrep_local_state_comment", "not Galera" if not wsrep_on else "?"),
            cluster_size=int(status.get("wsrep_cluster_size", 0) or 0),
            cluster_status=status.get("wsrep_cluster_status"),
            server_version=version,
            galera_version=status.get("wsrep_provider_version"),
            innodb_flush_log_at_trx_commit=int(flush),
            wsrep_sync_wait=int(sync_wait),
        )
        facts.append(entry)
    return facts


def first_live_url(nodes: NodeSet, database: str | None = None) -> URL:
    """The single-node URL of the first node that answers Synced (for server-level
    statements: CREATE/DROP DATABASE, which Galera replicates to every node)."""
    router = Router(nodes, NodeHealth(len(nodes.hosts)), spread=False)
    try:
        index, connection = router.connect_node(database="")
    except router.dbapi.Error as error:  # as an engine would raise it (translate_errors)
        raise sa.exc.OperationalError("connect", {}, error) from error
    connection.close()
    return nodes.node_url(index, database)
