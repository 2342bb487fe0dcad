"""Contention counters: the design's retries after a lost race, Liberty's deadlock retries,
and InnoDB's row-lock waits around a call (``bench.measure.counters``)."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from bench.measure.counters import probe_for
from cinderdb import exception, get_admin_context, open_backend

ADMIN = get_admin_context()


def _interfering(client, times: int):
    """The client's update_item, made to lose its race ``times`` times: before each of the
    first ``times`` conditional updates another writer moves the hard limit on."""
    real = client.update_item
    state = {"left": times}

    def update_item(table, key, updates, **kwargs):
        if table == "quotas" and kwargs.get("expected") and state["left"]:
            state["left"] -= 1
            bump = {"hard_limit": {"action": "ADD", "value": {"N": "1"}}}
            real(table, key, bump)  # the other writer: unconditional
        return real(table, key, updates, **kwargs)

    return update_item


@pytest.fixture
def magneto():
    with open_backend(f"magnetodb+inproc:///contention-{uuid.uuid4().hex[:8]}") as api:
        api.create_schema()
        api.quota_create(ADMIN, "p1", "volumes", 10)
        yield api


def test_a_lost_conditional_update_counts_as_a_failure_and_a_retry(magneto, monkeypatch):
    monkeypatch.setattr(magneto.client, "update_item", _interfering(magneto.client, 1))
    probe = probe_for(magneto)
    probe.attach()
    token = probe.start("quota_update")
    magneto.quota_update(ADMIN, "p1", "volumes", 20)
    counts = probe.stop(token)
    probe.detach()
    assert counts["conditional_check_failed"] == 1
    assert counts["retries"] == 1
    assert counts["give_ups"] == 0
    assert magneto.quota_get(ADMIN, "p1", "volumes")["hard_limit"] == 20
    assert magneto.contention_hooks == []


def test_a_race_lost_every_time_counts_each_retry_and_the_give_up(magneto, monkeypatch):
    from cinderdb.magneto.core import MAX_ATTEMPTS

    monkeypatch.setattr(magneto.client, "update_item", _interfering(magneto.client, 10**6))
    probe = probe_for(magneto)
    probe.attach()
    token = probe.start("quota_update")
    with pytest.raises(exception.DBConflict):
        magneto.quota_update(ADMIN, "p1", "volumes", 5)  # the other writer only goes up
    counts = probe.stop(token)
    assert counts["conditional_check_failed"] == MAX_ATTEMPTS
    assert counts["retries"] == MAX_ATTEMPTS
    assert counts["give_ups"] == 1


def test_a_deadlock_retried_by_liberty_s_decorator_is_counted(monkeypatch):
    with open_backend("sqlite://") as sql:
        sql.create_schema()
        sql.quota_create(ADMIN, "p1", "volumes", 10)
        real = sql.session
        state = {"left": 2}

        def session():
            if state["left"]:
                state["left"] -= 1
                raise exception.DBDeadlock(reason="1213: forced")
            return real()

        monkeypatch.setattr(sql, "session", session)
        probe = probe_for(sql)
        assert probe.locks is None  # SQLite: no InnoDB status to read
        probe.attach()
        token = probe.start("quota_destroy_all_by_project")
        sql.quota_destroy_all_by_project(ADMIN, "p1")
        counts = probe.stop(token)
        probe.detach()
    assert counts["retries"] == 2
    assert counts["give_ups"] == 0
    assert "lock_windows" not in counts


def test_a_mysql_row_lock_wait_is_counted_around_the_call(mysql_backend):
    project = f"p-{uuid.uuid4().hex[:8]}"
    mysql_backend.quota_create(ADMIN, project, "volumes", 10)
    holder = mysql_backend.engine.raw_connection()  # raw: the probe's listeners never see it
    cursor = holder.cursor()
    cursor.execute("START TRANSACTION")
    cursor.execute("SELECT * FROM quotas WHERE project_id = %s FOR UPDATE", (project,))
    release = threading.Timer(0.3, holder.rollback)
    probe = probe_for(mysql_backend)
    probe.attach()
    try:
        token = probe.start("quota_update")
        release.start()
        started = time.perf_counter()
        mysql_backend.quota_update(ADMIN, project, "volumes", 20)
        waited = time.perf_counter() - started
        counts = probe.stop(token)
        read = probe.stop(probe.start("quota_get"))  # a read is not sampled
    finally:
        release.join()
        probe.detach()
        cursor.close()
        holder.close()
    assert waited >= 0.25  # the update did wait for the lock
    assert counts["lock_windows"] == 1
    assert counts["row_lock_waits"] >= 1  # global status: other sessions may add more
    assert counts["row_lock_time_ms"] >= 200
    assert counts["retries"] == 0
    assert "cert_failures" not in counts  # not a Galera node: no certification to fail
    assert "lock_windows" not in read


def test_a_status_read_that_fails_leaves_the_window_unmeasured_and_the_call_alone(
    mysql_backend,
):
    probe = probe_for(mysql_backend)
    probe.attach()
    try:
        token = probe.start("quota_create")
        probe.locks._local.connection.invalidate()  # the server went away under the probe
        mysql_backend.quota_create(ADMIN, f"p-{uuid.uuid4().hex[:8]}", "volumes", 1)
        counts = probe.stop(token)
        again = probe.stop(probe.start("quota_destroy_all_by_project"))  # a new connection
    finally:
        probe.detach()
    assert "lock_windows" not in counts
    assert counts["statements"] > 0
    assert again["lock_windows"] == 1
