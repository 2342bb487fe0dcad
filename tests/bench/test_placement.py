"""CPU placement for the latency benchmarks: the threads it finds, pins and gives back."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pymysql
import pytest
from sqlalchemy.engine import make_url

from bench.drive.placement import (
    Placement,
    mysql_connection_thread,
    process_tree_threads,
)
from tests.provision import MYSQL_SERVER_URL

TWO_CPUS = pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 CPUs")


@pytest.fixture
def server_tree():
    """A process with a child process, both sleeping: a server and its worker."""
    code = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); print('up', flush=True); time.sleep(60)"  # noqa: E501
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout.readline().strip() == "up"
    yield parent
    for tid in process_tree_threads(parent.pid):
        if tid != parent.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(tid, 9)
    parent.kill()
    parent.wait()


def test_process_tree_threads_finds_the_workers(server_tree):
    threads = process_tree_threads(server_tree.pid)
    assert server_tree.pid in threads
    children = Path(f"/proc/{server_tree.pid}/task/{server_tree.pid}/children").read_text()
    (child,) = children.split()
    assert int(child) in threads


@TWO_CPUS
def test_cross_core_pins_client_and_server_apart_then_restores(server_tree):
    before_client = os.sched_getaffinity(0)
    before_server = os.sched_getaffinity(server_tree.pid)
    threads = process_tree_threads(server_tree.pid)
    with Placement("cross-core", threads) as placement:
        assert "cross-core" in placement.describe()
        (client,) = os.sched_getaffinity(0)
        for tid in threads:
            (server,) = os.sched_getaffinity(tid)
            assert server != client
    assert os.sched_getaffinity(0) == before_client
    assert os.sched_getaffinity(server_tree.pid) == before_server


def test_same_core_and_none(server_tree):
    before = os.sched_getaffinity(0)
    with Placement("same-core", [server_tree.pid]):
        assert os.sched_getaffinity(0) == os.sched_getaffinity(server_tree.pid)
        assert len(os.sched_getaffinity(0)) == 1
    with Placement("none", [server_tree.pid]) as placement:
        assert os.sched_getaffinity(0) == before
        assert placement.describe().startswith("unpinned")
    with pytest.raises(ValueError, match="placement must be one of"):
        Placement("anywhere", [])


def test_a_thread_that_ended_is_skipped(server_tree):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with Placement("same-core", [gone.pid, server_tree.pid]) as placement:
        assert placement.problem is None


def test_mysql_connection_thread_is_the_local_servers():
    server = make_url(MYSQL_SERVER_URL)
    connection = pymysql.connect(host=server.host, port=server.port or 3306, user="root")
    try:
        cursor = connection.cursor()
        assert mysql_connection_thread(cursor, "db.example.org") is None  # not on this host
        if server.host not in {"127.0.0.1", "localhost", "::1"}:
            pytest.skip("the test server is not on this host: its threads are not ours to see")
        tid = mysql_connection_thread(cursor, server.host)
        assert tid is not None  # MariaDB >= 10.5 (CI's), one thread per connection
        status = Path(f"/proc/{tid}/status").read_text()
        tgid = next(line.split()[1] for line in status.splitlines() if line.startswith("Tgid:"))
        assert Path(f"/proc/{tgid}/comm").read_text().strip() in {"mariadbd", "mysqld"}
    finally:
        connection.close()


def test_a_server_that_cannot_be_pinned_leaves_everything_unpinned(server_tree):
    before = os.sched_getaffinity(0)
    with Placement("same-core", [server_tree.pid], problem="MariaDB is elsewhere") as placement:
        assert os.sched_getaffinity(0) == before
        assert os.sched_getaffinity(server_tree.pid) == before
        assert placement.describe() == "unpinned: MariaDB is elsewhere"
