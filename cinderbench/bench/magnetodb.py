"""MagnetoDB server vs MariaDB (PyMySQL), side by side in one run: ``cinderbench bench magnetodb``.

Latency: one client, the two systems interleaved in blocks of 50 operations so
that machine noise hits both alike; HdrHistogram percentiles in µs.
Throughput: N concurrent clients (spread over several load-generator
processes so the Python client is not the bottleneck) against a server with
2 workers, and the same for MariaDB primary-key SELECTs.
Client cost: the MagnetoDB client with a canned transport (encode + decode
only) and with the in-process transport (no network).
Durability cost: put_item with and without fsync per commit.
``--engine etcd``: the same operations on the server over a 3-node etcd cluster, next
to LMDB (``magnetodb_etcd.py``).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from hdrh.histogram import HdrHistogram

from bench.drive.arguments import POSITIVE_FLOAT, POSITIVE_INT
from bench.drive.placement import (
    PLACEMENTS,
    Placement,
    default_placement,
    mysql_connection_thread,
    process_tree_threads,
)
from cinderbench.checks import ArgumentParser

BLOCK = 50
VALUE = "v" * 100
PARTITIONS = 1000


def S(v: str) -> dict[str, str]:
    return {"S": v}


def N(v: int) -> dict[str, str]:
    return {"N": str(v)}


def _hist() -> HdrHistogram:
    return HdrHistogram(1, 60_000_000, 3)


# ---------------------------------------------------------------- the two systems


class Magneto:
    """The MagnetoDB side: a client on one bench table, and the operations."""

    def __init__(self, client: Any, create: bool = True) -> None:
        self.c = client
        if create:
            client.create_table(
                "bench",
                [
                    {"attribute_name": "h", "attribute_type": "S"},
                    {"attribute_name": "r", "attribute_type": "N"},
                ],
                [
                    {"attribute_name": "h", "key_type": "HASH"},
                    {"attribute_name": "r", "key_type": "RANGE"},
                ],
            )
            reqs = [
                {"put_request": {"item": {"h": S(f"k{i}"), "r": N(0), "v": S(VALUE), "n": N(0)}}}
                for i in range(PARTITIONS)
            ]
            reqs += [
                {"put_request": {"item": {"h": S("q"), "r": N(i), "v": S(VALUE), "n": N(0)}}}
                for i in range(10)
            ]
            for i in range(0, len(reqs), 100):
                client.batch_write_item({"bench": reqs[i : i + 100]})
            client.put_item("bench", {"h": S("cond"), "r": N(0), "v": S(VALUE), "n": N(0)})
        self.version = 0
        self.writes = 0
        self.rng = random.Random(1)

    def get(self) -> None:
        key = {"h": S(f"k{self.rng.randrange(PARTITIONS)}"), "r": N(0)}
        assert "item" in self.c.get_item("bench", key)

    def put(self) -> None:
        i = self.rng.randrange(PARTITIONS)
        self.writes += 1
        self.c.put_item("bench", {"h": S(f"k{i}"), "r": N(0), "v": S(VALUE), "n": N(self.writes)})

    def cond_update(self) -> None:
        self.c.update_item(
            "bench",
            {"h": S("cond"), "r": N(0)},
            {"n": {"action": "ADD", "value": N(1)}},
            expected={"n": {"value": N(self.version)}},
        )
        self.version += 1

    def query10(self) -> None:
        res = self.c.query(
            "bench", {"h": {"comparison_operator": "EQ", "attribute_value_list": [S("q")]}}
        )
        assert res["count"] == 10

    def batch_get25(self) -> None:
        keys = [{"h": S(f"k{i}"), "r": N(0)} for i in self.rng.sample(range(PARTITIONS), 25)]
        res = self.c.batch_get_item({"bench": {"keys": keys}})
        assert len(res["responses"]["bench"]) == 25


class Maria:
    """The MariaDB side through PyMySQL: the SQL each MagnetoDB call stands for."""

    def __init__(self, database: str, create: bool = False) -> None:
        import pymysql

        # autocommit: every statement is one round trip and commits itself (an
        # UPDATE is durably committed before it returns, like a MagnetoDB write)
        self.conn = pymysql.connect(
            host="127.0.0.1",
            port=3306,
            user="root",
            password="",
            database=database,
            autocommit=True,
        )
        self.cur = self.conn.cursor()
        if create:
            self.cur.execute(
                "CREATE TABLE kv (h VARCHAR(64) NOT NULL, r BIGINT NOT NULL, v VARCHAR(255),"
                " n BIGINT,"
                " PRIMARY KEY (h, r)) ENGINE=InnoDB"
            )
            rows = [(f"k{i}", 0, VALUE, 0) for i in range(PARTITIONS)] + [
                ("q", i, VALUE, 0) for i in range(10)
            ]
            rows.append(("cond", 0, VALUE, 0))
            self.cur.executemany("INSERT INTO kv VALUES (%s, %s, %s, %s)", rows)
            self.conn.commit()
        self.version = 0
        self.writes = 0
        self.rng = random.Random(1)

    def get(self) -> None:
        self.cur.execute(
            "SELECT h, r, v, n FROM kv WHERE h = %s AND r = 0",
            (f"k{self.rng.randrange(PARTITIONS)}",),
        )
        assert len(self.cur.fetchall()) == 1

    def put(self) -> None:
        # a value the row never had: an UPDATE that changes nothing writes nothing
        i = self.rng.randrange(PARTITIONS)
        self.writes += 1
        self.cur.execute(
            "UPDATE kv SET v = %s, n = %s WHERE h = %s AND r = 0", (VALUE, self.writes, f"k{i}")
        )
        assert self.cur.rowcount == 1

    def cond_update(self) -> None:
        self.cur.execute(
            "UPDATE kv SET n = n + 1 WHERE h = 'cond' AND r = 0 AND n = %s", (self.version,)
        )
        assert self.cur.rowcount == 1
        self.version += 1

    def query10(self) -> None:
        self.cur.execute("SELECT h, r, v, n FROM kv WHERE h = 'q' AND r BETWEEN 0 AND 9 ORDER BY r")
        assert len(self.cur.fetchall()) == 10

    def batch_get25(self) -> None:
        keys = [f"k{i}" for i in self.rng.sample(range(PARTITIONS), 25)]
        self.cur.execute(
            f"SELECT h, r, v, n FROM kv WHERE r = 0 AND h IN ({', '.join(['%s'] * 25)})", keys
        )
        assert len(self.cur.fetchall()) == 25

    def close(self) -> None:
        self.conn.close()


OPS = [
    ("get_item", "get", "PK SELECT"),
    ("put_item *", "put", "UPDATE (autocommit) *"),
    ("cond. update_item *", "cond_update", "UPDATE .. AND n=? (autocommit) *"),
    ("query (10 items)", "query10", "range SELECT (10 rows)"),
    ("batch_get_item (25)", "batch_get25", "SELECT .. IN (25 keys)"),
]


def interleaved(
    fa: Callable[[], None], fb: Callable[[], None] | None, seconds: float
) -> tuple[HdrHistogram, HdrHistogram]:
    """Alternate blocks of calls to a and b until each has run ~``seconds``; µs histograms."""
    ha, hb = _hist(), _hist()
    spent_a = spent_b = 0.0
    clock = time.perf_counter_ns
    for f in (fa, fb):  # warm up
        if f:
            for _ in range(BLOCK):
                f()
    while spent_a < seconds or (fb is not None and spent_b < seconds):
        t0 = clock()
        for _ in range(BLOCK):
            s = clock()
            fa()
            ha.record_value(max(1, (clock() - s) // 1000))
        spent_a += (clock() - t0) / 1e9
        if fb is None:
            continue
        t0 = clock()
        for _ in range(BLOCK):
            s = clock()
            fb()
            hb.record_value(max(1, (clock() - s) // 1000))
        spent_b += (clock() - t0) / 1e9
    return ha, hb


def _cols(h: HdrHistogram) -> str:
    p50, p99 = h.get_value_at_percentile(50), h.get_value_at_percentile(99)
    return f"{p50:>8}{p99:>8}{_rate(h):>8.0f}"


def _p(h: HdrHistogram) -> str:
    return f"p50 {h.get_value_at_percentile(50)} µs, p99 {h.get_value_at_percentile(99)} µs"


def _rate(h: HdrHistogram) -> float:
    mean = h.get_mean_value()
    return 1e6 / mean if mean else 0.0


# ---------------------------------------------------------------- throughput


def _load_proc(
    kind: str, target: str, threads: int, seconds: float, start_at: float, q: Any
) -> None:
    """One load-generator process: ``threads`` clients, each on its own connection."""
    if kind == "magnetodb":
        from magnetodb.client import connect

        sides = [Magneto(connect(target, "bench"), create=False) for _ in range(threads)]
    else:
        sides = [Maria(target) for _ in range(threads)]
    counts = [0] * threads
    for i, s in enumerate(sides):
        s.rng = random.Random(os.getpid() * 100 + i)

    def run(i: int) -> None:
        while time.time() < start_at:
            time.sleep(0.001)
        stop = start_at + seconds
        side, n = sides[i], 0
        while time.time() < stop:
            side.get()
            n += 1
        counts[i] = n

    ts = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    q.put(sum(counts))


def throughput(kind: str, target: str, clients: int, procs: int, seconds: float) -> float:
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    per = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    start_at = time.time() + 1.5
    ps = [
        ctx.Process(target=_load_proc, args=(kind, target, n, seconds, start_at, q))
        for n in per
        if n
    ]
    for p in ps:
        p.start()
    total = sum(q.get() for _ in ps)
    for p in ps:
        p.join()
    return total / seconds


# ---------------------------------------------------------------- client cost


class CannedTransport:
    """Answers every request with one fixed response: measures the client library alone."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def handle_request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        return 200, self.body

    def close(self) -> None:
        self.body = b""


# ---------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(prog="cinderbench bench magnetodb", description=__doc__)
    parser.add_argument(
        "--duration", type=POSITIVE_FLOAT, default=3.0, help="seconds per operation per system"
    )
    parser.add_argument(
        "--clients", type=POSITIVE_INT, default=16, help="concurrent clients for throughput"
    )
    parser.add_argument("--workers", type=POSITIVE_INT, default=2, help="server worker processes")
    parser.add_argument(
        "--load-procs", type=POSITIVE_INT, default=4, help="load-generator processes"
    )
    parser.add_argument("--no-mysql", action="store_true", help="skip the MariaDB side")
    parser.add_argument(
        "--no-sync-compare", action="store_true", help="skip the fsync-per-commit run"
    )
    parser.add_argument(
        "--placement",
        choices=PLACEMENTS,
        default=default_placement(),
        help="where the latency runs put the client and the servers (bench/drive/placement.py;"
        " default: cross-core on 2+ CPUs)",
    )
    parser.add_argument(
        "--engine",
        choices=("lmdb", "etcd"),
        default="lmdb",
        help="etcd: also run the server over an etcd cluster, next to LMDB (default: lmdb only)",
    )
    parser.add_argument("--etcd-nodes", type=int, default=3, help="etcd members (--engine etcd)")
    parser.add_argument(
        "--api-servers", type=int, default=2, help="API servers over etcd (--engine etcd)"
    )
    args = parser.parse_args(argv)

    import orjson

    from magnetodb.client import MagnetoClient, connect, connect_inproc
    from magnetodb.server.process import ServerProcess
    from magnetodb.storage import open_storage

    tmp = tempfile.mkdtemp(prefix="cinderbench-mdb-")
    scratch = contextlib.ExitStack()
    srv = ServerProcess(os.path.join(tmp, "data"), workers=args.workers).start()
    try:
        mag = Magneto(connect(srv.url, "bench"))
        maria = None
        if not args.no_mysql:
            import pymysql
            from sqlalchemy.engine import make_url

            from bench.drive.scratch import scratch_database

            db = make_url(scratch.enter_context(scratch_database(prefix="cb_bench"))).database
            maria = Maria(db, create=True)
            ver = maria.conn.cursor()
            ver.execute("SELECT VERSION(), @@innodb_flush_log_at_trx_commit")
            mysql_version, flush = ver.fetchone()
        import lmdb
        import pymysql

        print(
            f"MagnetoDB server {srv.url}: LMDB {'.'.join(map(str, lmdb.version()))} (sync=False),"
            f" {args.workers} workers; client: raw-socket keep-alive HTTP/1.1"
        )
        if maria:
            print(
                f"MariaDB {mysql_version} on 127.0.0.1:3306 via PyMySQL {pymysql.__version__},"
                " InnoDB "
                f"(innodb_flush_log_at_trx_commit={flush}), autocommit, database {db}"
            )
        servers = process_tree_threads(srv.pid)
        problem = None
        if maria:
            maria_thread = mysql_connection_thread(maria.cur, "127.0.0.1")
            if maria_thread is None:
                problem = "MariaDB's connection thread is not found (PROCESSLIST.TID, local)"
            else:
                servers.append(maria_thread)
        placement = Placement(args.placement, servers, problem)
        print(
            f"cpus={os.cpu_count()}  latency: 1 client, systems interleaved in blocks of {BLOCK}, "
            f"~{args.duration:g}s per op per system"
        )
        cols = f"{'p50 µs':>8}{'p99 µs':>8}{'ops/s':>8}"
        hdr = f"{'operation':<22}{cols}   {'MariaDB equivalent':<33}{cols}{'p50 ratio':>11}"
        results: dict[str, tuple[HdrHistogram, HdrHistogram]] = {}
        with placement:
            print(f"placement: {placement.describe()}\n")
            print(hdr)
            print("-" * len(hdr))
            for label, name, sql in OPS:
                ha, hb = interleaved(
                    getattr(mag, name), getattr(maria, name) if maria else None, args.duration
                )
                results[name] = (ha, hb)
                line = f"{label:<22}{_cols(ha)}   "
                if maria:
                    ratio = ha.get_value_at_percentile(50) / max(1, hb.get_value_at_percentile(50))
                    line += f"{sql:<33}{_cols(hb)}{ratio:>10.2f}x"
                print(line, flush=True)
        if maria:
            print(
                "* writes: LMDB without fsync (a commit survives kill -9, not power loss) vs "
                f"InnoDB at innodb_flush_log_at_trx_commit={flush} (a log flush per commit"
                f"{', survives power loss' if str(flush) == '1' else ''}): not like for like;"
                " both durable per commit: the durability figures below"
            )

        if args.engine == "etcd":
            from cinderbench.bench.magnetodb_etcd import compare_etcd

            compare_etcd(args, mag, Magneto, OPS, interleaved, _cols)

        # client-side cost alone
        canned = orjson.dumps({"item": {"h": S("k1"), "r": N(0), "v": S(VALUE), "n": N(0)}})
        only_client = MagnetoClient(None, "bench", transport=CannedTransport(canned))
        key = {"h": S("k1"), "r": N(0)}
        h_client, _ = interleaved(lambda: only_client.get_item("bench", key), None, 1.0)
        inproc = connect_inproc("bench", storage=open_storage("lmdb", os.path.join(tmp, "inproc")))
        Magneto(inproc)
        h_inproc, _ = interleaved(Magneto(inproc, create=False).get, None, 1.0)
        print(f"\nclient cost alone (get_item, canned response, no server): {_p(h_client)}")
        print(f"in-process server, LMDB, no HTTP (get_item):               {_p(h_inproc)}")
        inproc.close()

        # throughput
        tput_seconds = max(3.0, args.duration)
        print(
            f"\nthroughput, {args.clients} concurrent clients ({args.load_procs} load-generator"
            " processes x threads, one keep-alive connection per client, same 2-core machine"
            " as the servers):"
        )
        t_mag = throughput("magnetodb", srv.url, args.clients, args.load_procs, tput_seconds)
        print(
            f"  MagnetoDB get_item ({args.workers} server workers): {t_mag:>8.0f} ops/s", flush=True
        )
        if maria:
            t_my = throughput("mysql", db, args.clients, args.load_procs, tput_seconds)
            print(f"  MariaDB PK SELECT (PyMySQL):         {t_my:>8.0f} ops/s")

        # durability cost
        if not args.no_sync_compare:
            sync_srv = ServerProcess(
                os.path.join(tmp, "sync"), workers=args.workers, sync=True
            ).start()
            try:
                sync_side = Magneto(connect(sync_srv.url, "bench"))
                both = process_tree_threads(srv.pid) + process_tree_threads(sync_srv.pid)
                with Placement(args.placement, both):
                    h_sync, h_nosync = interleaved(sync_side.put, mag.put, min(2.0, args.duration))
            finally:
                sync_srv.stop()
                sync_srv.cleanup()
            print(
                f"\nput_item durability cost: fsync per commit {_p(h_sync)}"
                f" ({_rate(h_sync):.0f}/s) vs no fsync {_p(h_nosync)} ({_rate(h_nosync):.0f}/s);"
                " default: no fsync (survives kill -9, not power loss)"
            )
            if maria and flush == 1:
                update = results["put"][1]
                ratio = h_sync.get_value_at_percentile(50) / max(
                    1, update.get_value_at_percentile(50)
                )
                print(
                    f"  like for like, both durable per commit: put_item with fsync p50"
                    f" {h_sync.get_value_at_percentile(50)} µs vs MariaDB UPDATE"
                    f" (innodb_flush_log_at_trx_commit=1) p50 {update.get_value_at_percentile(50)}"
                    f" µs = {ratio:.2f}x"
                )

        if maria:
            g_mag, g_my = results["get"]
            ratio = g_mag.get_value_at_percentile(50) / max(1, g_my.get_value_at_percentile(50))
            ok_ratio = ratio <= 1.5
            ok_tput = t_mag >= 5000
            print(
                f"\ntargets: get_item p50 <= 1.5x PK SELECT p50: {ratio:.2f}x"
                f" {'PASS' if ok_ratio else 'FAIL'}; >= 5000 get_item/s with {args.clients}"
                f" clients: {t_mag:.0f}/s {'PASS' if ok_tput else 'FAIL'}"
            )
        if maria:
            maria.close()
        return 0
    finally:
        srv.stop()
        srv.cleanup()
        scratch.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
