"""``bench.measure.sql_counters``: exact counts of known statements on SQLite; per thread."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from bench.measure.sql_counters import SQLCounter, count_sql, parse_statement
from cinderdb import get_admin_context
from cinderdb.sql.core import create_sql_engine

metadata = sa.MetaData()
parents = sa.Table("parents", metadata, sa.Column("id", sa.Integer, primary_key=True))
children = sa.Table(
    "children",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("parents.id")),
    sa.Column("name", sa.String(20)),
)


@pytest.fixture
def engine(tmp_path):
    """A file SQLite engine made the way the backend makes it (BEGIN IMMEDIATE)."""
    engine = create_sql_engine(f"sqlite:///{tmp_path / 'counters.sqlite'}")
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(parents.insert(), [{"id": 1}, {"id": 2}])
        connection.execute(
            children.insert(),
            [{"id": i, "parent_id": 1 + i % 2, "name": f"c{i}"} for i in range(1, 6)],
        )
    yield engine
    engine.dispose()


# ------------------------------------------------------------------ parsing


def test_parse_counts_joins_by_kind_and_resolves_aliases():
    shape = parse_statement(
        "SELECT a.id FROM volumes AS a LEFT OUTER JOIN volume_types AS volume_types_1 "
        "ON a.volume_type_id = volume_types_1.id JOIN snapshots ON snapshots.volume_id = a.id "
        "LEFT OUTER JOIN volume_type_extra_specs AS s ON s.volume_type_id = volume_types_1.id"
    )
    assert (shape.kind, shape.joins_left_outer, shape.joins_inner) == ("select", 2, 1)
    assert shape.tables == {"volumes", "volume_types", "snapshots", "volume_type_extra_specs"}
    assert shape.exists == 0


def test_parse_keeps_exists_subquery_tables_apart():
    shape = parse_statement(
        "SELECT volume_types.id FROM volume_types WHERE volume_types.deleted = 0 AND "
        "(volume_types.is_public = 1 OR EXISTS (SELECT 1 FROM volume_type_projects "
        "WHERE volume_types.id = volume_type_projects.volume_type_id AND (EXISTS "
        "(SELECT 1 FROM quotas))))"
    )
    assert shape.exists == 2
    assert shape.tables == {"volume_types"}
    assert shape.exists_tables == {"volume_type_projects", "quotas"}


def test_parse_statement_kinds_and_comma_from_lists():
    assert parse_statement("INSERT INTO quotas (id) VALUES (?)").tables == {"quotas"}
    assert parse_statement("UPDATE quota_usages SET reserved=?").kind == "update"
    assert parse_statement("DELETE FROM reservations WHERE id = ?").kind == "delete"
    assert parse_statement("BEGIN IMMEDIATE").kind == "begin"
    assert parse_statement("PRAGMA foo").kind == "other"
    assert parse_statement("SELECT 1 FROM a, b AS c, `d` WHERE 1").tables == {"a", "b", "d"}
    assert parse_statement("SELECT x FROM (SELECT y FROM inner_t) AS anon_1").tables == {"inner_t"}


# ------------------------------------------------------------------ engine


def test_counts_one_joined_select_exactly(engine):
    query = (
        sa.select(parents.c.id, children.c.name)
        .select_from(parents.outerjoin(children, children.c.parent_id == parents.c.id))
        .order_by(children.c.id)
    )
    with count_sql(engine) as counts, engine.connect() as connection:
        rows = connection.execute(query).all()
    assert len(rows) == 5  # buffering the rows for the count did not eat them
    assert counts.statements == 2  # the engine's BEGIN IMMEDIATE, then the SELECT
    assert counts.by_kind["select"] == 1
    assert counts.by_kind["begin"] == 1
    assert (counts.joins_left_outer, counts.joins_inner, counts.exists) == (1, 0, 0)
    assert counts.tables == {"parents", "children"}
    assert counts.rows == 5
    assert counts.commits == 0
    assert counts.rollbacks == 1
    assert counts.round_trips == 3


def test_counts_a_write_transaction_with_begin_and_commit(engine):
    with count_sql(engine) as counts, engine.begin() as connection:
        connection.execute(children.update().where(children.c.parent_id == 1).values(name="x"))
        connection.execute(children.delete().where(children.c.id == 5))
        connection.execute(children.insert().values(id=9, parent_id=2, name="n"))
    assert counts.statements == 4  # BEGIN IMMEDIATE, UPDATE, DELETE, INSERT
    assert {k: v for k, v in counts.by_kind.items() if v} == {
        "begin": 1,
        "update": 1,
        "delete": 1,
        "insert": 1,
    }
    assert counts.rows == 2 + 1 + 1  # rows affected: children 2 and 4; then 5; then 9
    assert counts.commits == 1
    assert counts.tables == {"children"}
    assert [record.shape.kind for record in counts.log] == ["begin", "update", "delete", "insert"]


def test_exists_subquery_is_counted(engine):
    has_child = sa.exists().where(children.c.parent_id == parents.c.id, children.c.name == "c2")
    with count_sql(engine) as counts, engine.connect() as connection:
        found = connection.execute(sa.select(parents.c.id).where(has_child)).scalars().all()
    assert found == [1]
    assert counts.exists == 1
    [select] = [record.shape for record in counts.log if record.shape.kind == "select"]
    assert select.tables == {"parents"}
    assert select.exists_tables == {"children"}
    assert counts.rows == 1


def test_listeners_are_removed_after_the_block(engine):
    with count_sql(engine) as counts, engine.connect() as connection:
        connection.execute(sa.select(parents)).all()
    with engine.connect() as connection:
        connection.execute(sa.select(parents)).all()
    assert counts.by_kind["select"] == 1
    assert not engine.dispatch.after_cursor_execute
    assert not engine.dispatch.commit


def test_nothing_is_counted_outside_a_measurement(engine):
    counter = SQLCounter(engine)
    with counter.attached():
        with engine.connect() as connection:
            connection.execute(sa.select(parents)).all()
        with counter.measure() as counts, engine.connect() as connection:
            connection.execute(sa.select(children)).all()
    assert (counts.by_kind["select"], counts.by_kind["begin"], counts.rows) == (1, 1, 5)


def test_nested_measurements_both_count(engine):
    counter = SQLCounter(engine)
    with counter.attached(), counter.measure() as outer, engine.connect() as connection:
        connection.execute(sa.select(parents)).all()
        with counter.measure() as inner:
            connection.execute(sa.select(children)).all()
    assert (outer.statements, outer.rows) == (3, 7)  # BEGIN IMMEDIATE, 2 SELECTs
    assert (inner.statements, inner.rows) == (1, 5)


def test_each_thread_counts_only_its_own_statements(engine):
    counter = SQLCounter(engine)
    results: dict[int, tuple[int, int]] = {}
    barrier = threading.Barrier(4)

    def work(n: int) -> None:
        barrier.wait()
        with counter.measure() as counts:
            for _ in range(n):
                with engine.connect() as connection:
                    connection.execute(sa.select(children).where(children.c.id <= n)).all()
        results[n] = (counts.by_kind["select"], counts.rows)

    with counter.attached():
        threads = [threading.Thread(target=work, args=(n,)) for n in (1, 2, 3, 4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert results == {n: (n, n * n) for n in (1, 2, 3, 4)}


def test_counts_a_backend_call(tmp_path):
    """A contract call through the SQL backend: ``volume_type_get`` for an admin
    is one SELECT of volume_types LEFT OUTER JOIN volume_type_extra_specs (§10)."""
    from cinderdb import open_backend

    backend = open_backend(f"sqlite:///{tmp_path / 'backend.sqlite'}")
    backend.create_schema()
    try:
        ctx = get_admin_context()
        created = backend.volume_type_create(
            ctx, {"name": "t", "extra_specs": {"a": "1", "b": "2"}}
        )
        with count_sql(backend.engine) as counts:
            backend.volume_type_get(ctx, created["id"])
        assert counts.by_kind["select"] == 1
        assert counts.by_kind["begin"] == 1
        assert counts.commits == 1
        assert counts.joins_left_outer == 1
        assert counts.joins_inner == 0
        assert counts.tables == {"volume_types", "volume_type_extra_specs"}
        assert counts.rows == 2  # one joined row per extra spec
    finally:
        backend.close()
