"""A MariaDB Galera cluster of N nodes on this machine, from Debian's packages.

Each node is a ``mariadbd`` of its own: a data directory made by
``mariadb-install-db`` under the cluster's root, a ``my.cnf`` there, and four
loopback ports chosen free at start (client, Galera group communication, IST,
rsync SST), so the shared server on 3306/4567 is never touched. The first node
bootstraps the cluster (``--wsrep-new-cluster``), the others join it at once
(each receives the first node's state by rsync SST) and the cluster is ready
when every node reports ``wsrep_cluster_size`` = N and Synced. A node restarted
after a crash recovers its position from InnoDB and catches up by IST.

**Durability.** ``innodb_flush_log_at_trx_commit`` is ``flush`` on every node:
1 by default, an fsync of the redo log at every commit, as etcd fsyncs every
Raft entry (the other side's engine), so neither side is credited with a
guarantee the other pays for. Galera deployments often run 2 (or 0) and count
on synchronous replication instead: a commit acknowledged by every node
survives the crash of any one of them. On one machine the nodes share one power
supply, so only flush=1 survives power loss; ``--flush 2`` measures what the
other setting saves. Galera's own gcache is never fsynced.

**Processes.** Nodes start in sessions of their own, so they outlive the
command that started them (``cinderbench cluster up``) and ``down`` stops each
with its helpers. As root, the nodes run as Debian's ``mysql`` user (the rsync
daemon of an SST drops root privileges to ``nobody`` otherwise, and cannot
write the data directory), so the root directory must be reachable by it:
under ``/tmp``, not under a 0700 directory such as pytest's ``tmp_path``.
"""

from __future__ import annotations

import getpass
import os
import pwd
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from bench.drive.clusters.base import Cluster, ClusterError, ClusterOption, Node, free_port

#: Debian's packages a Galera cluster needs (the server, the provider, SST's rsync).
PACKAGES = ("mariadb-server", "galera-4", "rsync")
#: What must exist once they are installed.
REQUIRED = {
    "mariadbd": "/usr/sbin/mariadbd",
    "mariadb-install-db": "/usr/bin/mariadb-install-db",
    "wsrep_sst_rsync": "/usr/bin/wsrep_sst_rsync",
    "rsync": "/usr/bin/rsync",
    "libgalera_smm.so": "/usr/lib/galera/libgalera_smm.so",
}
LOOPBACK = "127.0.0.1"
#: The OS user nodes run as when started by root.
SERVICE_USER = "mysql"
#: Small buffers: three servers share this machine with everything else.
BUFFER_POOL = "64M"
REDO_LOG = "32M"
GCACHE = "64M"
POLICIES = ("one-writer", "all-writers")


class GaleraCluster(Cluster):
    """``size`` MariaDB Galera nodes on loopback ports, data directories under ``root``."""

    side = "sql"
    options_spec = (
        ClusterOption(
            "--flush",
            "flush",
            "innodb_flush_log_at_trx_commit on every node: 1 fsyncs each commit, as etcd does (1)",
            type=int,
            default=1,
            choices=(0, 1, 2),
        ),
        ClusterOption(
            "--policy",
            "policy",
            "how the backend URL it prints spreads connections: one-writer (HAProxy with"
            " one active node) or all-writers (one-writer)",
            default="one-writer",
            choices=POLICIES,
        ),
        ClusterOption(
            "--database", "database", "the database the URLs name (cinder)", default="cinder"
        ),
    )

    def __init__(
        self,
        root: str | Path,
        nodes: list[Node] | None = None,
        *,
        size: int = 3,
        flush: int = 1,
        policy: str = "one-writer",
        database: str = "cinder",
        name: str | None = None,
        user: str | None = None,
        **options: Any,
    ) -> None:
        if size < 1:
            raise ValueError(f"a cluster has at least one node, not {size}")
        if flush not in (0, 1, 2):
            raise ValueError(f"innodb_flush_log_at_trx_commit is 0, 1 or 2, not {flush}")
        if policy not in POLICIES:
            raise ValueError(f"policy is one of {', '.join(POLICIES)}, not {policy!r}")
        super().__init__(
            root,
            nodes,
            size=size,
            flush=flush,
            policy=policy,
            database=database,
            name=name or f"cinderbench-{uuid.uuid4().hex[:8]}",
            user=user or (SERVICE_USER if os.geteuid() == 0 else getpass.getuser()),
            **options,
        )

    # ------------------------------------------------------------------ URLs

    def backend_url(self, **choices: Any) -> str:
        """``mysql+pymysql://root@N1,N2,.../DB?galera=POLICY`` (``cinderdb.sql.galera``);
        ``policy``, ``reads`` and ``sync_wait`` choices override the cluster's."""
        unknown = set(choices) - {"policy", "reads", "sync_wait"}
        if unknown:
            raise ValueError(f"unknown URL choices {sorted(unknown)}: policy, reads, sync_wait")
        policy = choices.get("policy") or self.options["policy"]
        hosts = ",".join(node.address for node in self.nodes)
        query = f"galera={policy}"
        for key in ("reads", "sync_wait"):
            if choices.get(key) is not None:
                query += f"&{key}={choices[key]}"
        return f"mysql+pymysql://root@{hosts}/{self.options['database']}?{query}"

    def node_url(self, node: Node) -> str:
        return f"mysql+pymysql://root@{node.address}/{self.options['database']}"

    # ------------------------------------------------------------- lifecycle

    def up(self, timeout: float = 60.0) -> None:
        """Install what is missing, make each node's data directory, bootstrap the first
        node, join the others, wait until all are Synced, create the database."""
        if self.running:
            raise ClusterError(f"a cluster runs in {self.root} already")
        ensure_packages()
        deadline = time.monotonic() + timeout
        self._prepare_root()
        self.nodes = self._plan_nodes(self.options["size"])
        self.save()  # from here on, another process can take down what was started
        self._install_data_dirs()
        for node in self.nodes:
            self._write_config(node)
        self._start(0, bootstrap=True)
        self.wait_synced([0], deadline)
        for index in range(1, len(self.nodes)):
            self._start(index)
        self.wait_synced(range(len(self.nodes)), deadline)
        self._create_database()
        self.save()

    def restart_node(self, index: int, timeout: float = 60.0) -> None:
        """Start a stopped or killed node again: it recovers its position from InnoDB,
        catches up (IST, or SST when the gap left the donor's gcache) and is Synced."""
        node = self.nodes[index]
        if node.alive:
            raise ClusterError(f"{node.name} runs already (pid {node.pid})")
        self._start(index)
        live = [i for i, n in enumerate(self.nodes) if n.alive]
        self.wait_synced(live, time.monotonic() + timeout)

    def status(self) -> list[dict[str, Any]]:
        """Per node, the base facts and its Galera state (``wsrep_local_state_comment``,
        ``wsrep_cluster_size``) when it answers."""
        entries = super().status()
        for entry, node in zip(entries, self.nodes, strict=True):
            state = node_status(node) if node.alive else None
            entry["state"] = (state or {}).get("wsrep_local_state_comment") or (
                "not answering" if node.alive else "stopped"
            )
            entry["cluster_size"] = int((state or {}).get("wsrep_cluster_size") or 0)
        return entries

    # --------------------------------------------------------------- helpers

    def _prepare_root(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        user = self.options["user"]
        if os.geteuid() != 0:
            return
        account = pwd.getpwnam(user)
        os.chown(self.root, account.pw_uid, account.pw_gid)
        blocked = unreachable_ancestor(self.root.resolve(), account.pw_uid)
        if blocked is not None:
            raise ClusterError(
                f"the {user} user the nodes run as cannot reach {self.root} ({blocked} is "
                f"mode {blocked.stat().st_mode & 0o777:o}); choose a root under /tmp"
            )

    def _plan_nodes(self, size: int) -> list[Node]:
        nodes = []
        for index in range(size):
            name = f"node{index + 1}"
            home = self.root / name
            ports = {purpose: free_port(LOOPBACK) for purpose in ("client", "gcomm", "ist", "sst")}
            nodes.append(
                Node(
                    name=name,
                    role="galera",
                    address=f"{LOOPBACK}:{ports['client']}",
                    data_dir=str(home / "data"),
                    ports=ports,
                    log_path=str(home / "error.log"),
                )
            )
        return nodes

    def _install_data_dirs(self) -> None:
        """``mariadb-install-db`` for every node at once (the system tables, a root user
        without password on loopback)."""
        user = self.options["user"]
        running = []
        for node in self.nodes:
            home = Path(node.data_dir).parent
            (home / "tmp").mkdir(parents=True, exist_ok=True)
            self._own(home)
            self._own(home / "tmp")
            log = open(home / "install.log", "wb")  # noqa: SIM115 - closed below
            command = [
                REQUIRED["mariadb-install-db"],
                "--no-defaults",
                f"--datadir={node.data_dir}",
                # a temporary directory of its own: installs running at once collide in /tmp
                f"--tmpdir={home / 'tmp'}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
                f"--innodb-log-file-size={REDO_LOG}",
                f"--innodb-buffer-pool-size={BUFFER_POOL}",
            ]
            if os.geteuid() == 0:
                command.append(f"--user={user}")
            running.append((node, subprocess.Popen(command, stdout=log, stderr=log), log))
        for node, process, log in running:
            code = process.wait()
            log.close()
            if code != 0:
                raise ClusterError(
                    f"mariadb-install-db failed for {node.name} (exit {code}): "
                    f"{tail(str(Path(node.data_dir).parent / 'install.log'))}"
                )

    def _own(self, path: Path) -> None:
        if os.geteuid() == 0:
            account = pwd.getpwnam(self.options["user"])
            os.chown(path, account.pw_uid, account.pw_gid)

    def _write_config(self, node: Node) -> None:
        home = Path(node.data_dir).parent
        peers = ",".join(f"{LOOPBACK}:{other.ports['gcomm']}" for other in self.nodes)
        provider_options = ";".join(
            (
                f"base_port={node.ports['gcomm']}",
                f"ist.recv_addr={LOOPBACK}:{node.ports['ist']}",
                f"gcache.size={GCACHE}",
            )
        )
        lines = [
            "[mariadbd]",
            f"datadir={node.data_dir}",
            f"socket={home / 'mariadbd.sock'}",
            f"pid-file={home / 'mariadbd.pid'}",
            f"tmpdir={home / 'tmp'}",
            f"port={node.ports['client']}",
            f"bind-address={LOOPBACK}",
            f"log-error={node.log_path}",
            "skip-name-resolve",
            f"innodb_buffer_pool_size={BUFFER_POOL}",
            f"innodb_log_file_size={REDO_LOG}",
            f"innodb_flush_log_at_trx_commit={self.options['flush']}",
            # Galera's requirements: row-based write sets, InnoDB, interleaved auto-increments
            "binlog_format=ROW",
            "default_storage_engine=InnoDB",
            "innodb_autoinc_lock_mode=2",
            "wsrep_on=ON",
            f"wsrep_provider={REQUIRED['libgalera_smm.so']}",
            f"wsrep_cluster_name={self.options['name']}",
            f"wsrep_cluster_address=gcomm://{peers}",
            f"wsrep_node_address={LOOPBACK}:{node.ports['gcomm']}",
            f"wsrep_node_name={node.name}",
            f'wsrep_provider_options="{provider_options}"',
            "wsrep_sst_method=rsync",
            f"wsrep_sst_receive_address={LOOPBACK}:{node.ports['sst']}",
        ]
        if os.geteuid() == 0:
            lines.append(f"user={self.options['user']}")
        (home / "my.cnf").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def _start(self, index: int, bootstrap: bool = False) -> None:
        node = self.nodes[index]
        home = Path(node.data_dir).parent
        command = [REQUIRED["mariadbd"], f"--defaults-file={home / 'my.cnf'}"]
        if bootstrap:
            command.append("--wsrep-new-cluster")
        with open(home / "stdout.log", "ab") as out:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        node.pid = process.pid
        self.save()

    def wait_synced(self, indexes: Any, deadline: float) -> None:
        """Wait until each node of ``indexes`` is Synced in a cluster of all of them."""
        wanted = list(indexes)
        while True:
            problems = []
            for index in wanted:
                node = self.nodes[index]
                if not node.alive:
                    raise ClusterError(f"{node.name} exited: {tail(node.log_path)}")
                state = node_status(node)
                comment = (state or {}).get("wsrep_local_state_comment")
                size = int((state or {}).get("wsrep_cluster_size") or 0)
                if comment != "Synced" or size != len(wanted):
                    problems.append(f"{node.name} {comment or 'not answering'} (size {size})")
            if not problems:
                return
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"not Synced in time: {'; '.join(problems)}; log: "
                    f"{tail(self.nodes[wanted[-1]].log_path)}"
                )
            time.sleep(0.2)

    def _create_database(self) -> None:
        """The database the URLs name (Galera replicates the CREATE to every node)."""
        import pymysql

        host, port = self.nodes[0].address.split(":")
        connection = pymysql.connect(host=host, port=int(port), user="root", autocommit=True)
        try:
            with connection.cursor() as cursor:
                name = self.options["database"].replace("`", "``")
                cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")
        finally:
            connection.close()


def node_status(node: Node, timeout: float = 1.0) -> dict[str, str] | None:
    """The node's ``wsrep_*`` status, or None when it does not answer."""
    import pymysql

    host, port = node.address.split(":")
    try:
        connection = pymysql.connect(
            host=host, port=int(port), user="root", connect_timeout=timeout, read_timeout=timeout
        )
    except pymysql.MySQLError:
        return None
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW GLOBAL STATUS LIKE 'wsrep_%'")
            return {name: str(value) for name, value in cursor.fetchall()}
    except pymysql.MySQLError:
        return None
    finally:
        connection.close()


def ensure_packages() -> None:
    """Install Debian's ``mariadb-server``, ``galera-4`` and ``rsync`` when something they
    provide is missing (``apt-get update`` first, once); without root, say what to run."""
    missing = [name for name, path in REQUIRED.items() if not os.path.exists(path)]
    if missing:
        command = ["apt-get", "install", "-y", "-q", *PACKAGES]
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            raise ClusterError(
                f"missing {', '.join(missing)}: install Debian's {' '.join(PACKAGES)} "
                f"(as root: {' '.join(command)})"
            )
        environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for step in (["apt-get", "update", "-q"], command):
            result = subprocess.run(
                step, env=environment, capture_output=True, text=True, check=False
            )
            if result.returncode != 0:
                raise ClusterError(f"{' '.join(step)} failed: {result.stderr.strip()[-400:]}")
        still = [name for name, path in REQUIRED.items() if not os.path.exists(path)]
        if still:
            raise ClusterError(f"still missing after apt-get install: {', '.join(still)}")


def unreachable_ancestor(path: Path, uid: int) -> Path | None:
    """The first directory on the way to ``path`` that user ``uid`` cannot enter, if any."""
    for directory in [*reversed(path.parents), path]:
        info = directory.stat()
        if info.st_uid == uid:
            allowed = info.st_mode & 0o100
        else:
            allowed = info.st_mode & 0o001 or (
                info.st_mode & 0o010 and info.st_gid in _groups_of(uid)
            )
        if not allowed:
            return directory
    return None


def _groups_of(uid: int) -> set[int]:
    account = pwd.getpwuid(uid)
    return set(os.getgrouplist(account.pw_name, account.pw_gid))


def tail(path: str | None, size: int = 600) -> str:
    """The end of a node's log, on one line (for an error message)."""
    if not path or not os.path.exists(path):
        return "(no log)"
    with open(path, "rb") as handle:
        handle.seek(max(0, os.path.getsize(path) - size))
        text = handle.read().decode("utf-8", "replace")
    return " | ".join(line.strip() for line in text.splitlines()[-4:] if line.strip())
