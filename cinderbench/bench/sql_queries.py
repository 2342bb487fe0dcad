"""``cinderbench bench sql-queries``: what every read function of the contract sends to SQL.

Seeds a small database through the API, runs each function of
``cinderdb.api.READ_FUNCTIONS`` (as admin and as a user where that changes the
query, volume lists with and without a marker and a metadata filter), counts
the statements with ``bench.measure.sql_counters`` and prints a Markdown table next to
the figures Liberty 7.0.0 issued (brief §10, hard-coded below as the reference).

URL handling:

- no ``--url``: a temporary SQLite file;
- a MySQL server URL without a database (``mysql+pymysql://root@127.0.0.1:3306``):
  a database ``cinderbench_sqlq_<random>`` is created for the run and dropped after;
- a URL with a database: used as is; it must not hold volumes yet.

``--output PATH`` also writes the report (``docs/sql-queries.md`` is made so).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.drive.scratch import scratch_database
from bench.measure.sql_counters import SQLCounter, SQLCounts
from cinderbench.checks import ArgumentParser, CommandError, backend_url, reachable
from cinderdb import (
    RequestContext,
    embedded_store,
    features_of,
    get_admin_context,
    open_backend,
)
from cinderdb.api import READ_FUNCTIONS
from cinderdb.quota import default_resources

ADMIN = get_admin_context()
USER = RequestContext(user_id="demo_user", project_id="demo", quota_class="gold")


@dataclass(frozen=True)
class Expected:
    """Liberty's figures for one call (brief §10; ``source`` says where a figure comes from)."""

    statements: int
    tables: int | None = None
    exists: int = 0
    joins: int | None = None
    source: str = "§10"


#: (function, case) -> what Liberty 7.0.0 sent (statements besides BEGIN; tables of the
#: largest SELECT; EXISTS subqueries). "derived" rows combine two §10 rows (e.g. a user's
#: marker lookup is a user ``volume_get``); "§11" rows come from the brief's call sequences.
EXPECTED: dict[tuple[str, str], Expected] = {
    ("volume_get", "admin"): Expected(1, 7),
    ("volume_get", "user"): Expected(1, 6),
    ("volume_get_all", "admin"): Expected(1, 6),
    ("volume_get_all", "admin, limit"): Expected(1, 6),
    ("volume_get_all", "admin, marker"): Expected(2, 7),
    ("volume_get_all", "admin, metadata filter"): Expected(1, 6, exists=2),
    ("volume_get_all_by_project", "admin"): Expected(1, 6),
    ("volume_get_all_by_project", "user"): Expected(1, 5),
    ("volume_get_all_by_project", "user, marker"): Expected(2, 6, source="derived"),
    ("volume_get_all_by_project", "user, metadata filter"): Expected(1, 5, exists=2),
    ("volume_get_all_by_host", "admin"): Expected(1, 6),
    ("volume_get_all_by_group", "admin"): Expected(1, 6),
    ("volume_get_all_by_group", "user"): Expected(1, 5),
    ("volume_metadata_get", "admin"): Expected(3, 7),
    ("volume_metadata_get", "user"): Expected(3, 6, source="derived"),
    ("volume_admin_metadata_get", "admin"): Expected(3, 7, source="§11"),
    ("volume_glance_metadata_get", "admin"): Expected(3, 7, source="§11"),
    ("snapshot_get", "admin"): Expected(1, 3),
    ("snapshot_get", "user"): Expected(1, 3),
    ("snapshot_get_all", "admin"): Expected(1, 2),
    ("snapshot_get_all", "admin, marker"): Expected(2, 3),
    ("snapshot_get_all_by_project", "user"): Expected(1, 2),
    ("snapshot_get_all_for_volume", "user"): Expected(1, 2),
    ("snapshot_get_all_for_cgsnapshot", "admin"): Expected(1, 3),
    ("volume_type_get", "admin"): Expected(1, 2),
    ("volume_type_get", "admin, projects"): Expected(1, 3),
    ("volume_type_get", "user"): Expected(1, 2, exists=1),
    ("volume_type_get_all", "user"): Expected(1, 2, exists=1),
    ("volume_type_get_by_name", "admin"): Expected(1, 2),
    ("volume_type_qos_specs_get", "admin"): Expected(3),
    ("qos_specs_get", "admin"): Expected(1, 1, joins=1),
}

#: Why a measured figure differs from Liberty's, where it does on purpose.
REASONS: dict[tuple[str, str], str] = {}


@dataclass
class Seeded:
    """Ids of the seeded rows the cases read."""

    volume: str
    other_volume: str
    marker: str
    group: str
    attachment: str
    instance: str
    snapshot: str
    snapshot_marker: str
    cgsnapshot: str
    volume_type: str
    private_type: str
    qos: str


Arguments = Callable[[Seeded], tuple[Any, ...]]
_META = {"metadata": {"k0": "v0"}}

#: (function, case, context, arguments after the context) for every read function.
CASES: list[tuple[str, str, RequestContext, Arguments]] = [
    ("volume_get", "admin", ADMIN, lambda s: (s.volume,)),
    ("volume_get", "user", USER, lambda s: (s.volume,)),
    ("volume_get_all", "admin", ADMIN, lambda s: (None, None)),
    ("volume_get_all", "admin, limit", ADMIN, lambda s: (None, 3)),
    ("volume_get_all", "admin, marker", ADMIN, lambda s: (s.marker, 3)),
    ("volume_get_all", "admin, metadata filter", ADMIN, lambda s: (None, None, None, None, _META)),
    ("volume_get_all_by_project", "admin", ADMIN, lambda s: ("demo", None, None)),
    ("volume_get_all_by_project", "user", USER, lambda s: ("demo", None, None)),
    ("volume_get_all_by_project", "user, marker", USER, lambda s: ("demo", s.marker, 3)),
    (
        "volume_get_all_by_project",
        "user, metadata filter",
        USER,
        lambda s: ("demo", None, None, None, None, _META),
    ),
    ("volume_get_all_by_host", "admin", ADMIN, lambda s: ("h1",)),
    ("volume_get_all_by_group", "admin", ADMIN, lambda s: (s.group,)),
    ("volume_get_all_by_group", "user", USER, lambda s: (s.group,)),
    ("volume_attachment_get", "admin", ADMIN, lambda s: (s.attachment,)),
    ("volume_attachment_get_used_by_volume_id", "admin", ADMIN, lambda s: (s.volume,)),
    ("volume_attachment_get_by_host", "admin", ADMIN, lambda s: (s.volume, "compute1")),
    ("volume_attachment_get_by_instance_uuid", "admin", ADMIN, lambda s: (s.volume, s.instance)),
    ("volume_metadata_get", "admin", ADMIN, lambda s: (s.volume,)),
    ("volume_metadata_get", "user", USER, lambda s: (s.volume,)),
    ("volume_metadata_get_item", "user", USER, lambda s: (s.volume, "k0")),
    ("volume_admin_metadata_get", "admin", ADMIN, lambda s: (s.volume,)),
    ("volume_glance_metadata_get", "admin", ADMIN, lambda s: (s.volume,)),
    ("volume_glance_metadata_get", "user", USER, lambda s: (s.volume,)),
    ("volume_glance_metadata_get_all", "admin", ADMIN, lambda s: ()),
    ("volume_glance_metadata_get_all", "user", USER, lambda s: ()),
    ("volume_snapshot_glance_metadata_get", "admin", ADMIN, lambda s: (s.snapshot,)),
    ("volume_data_get_for_host", "admin", ADMIN, lambda s: ("h1",)),
    ("volume_data_get_for_project", "admin", ADMIN, lambda s: ("demo",)),
    ("snapshot_get", "admin", ADMIN, lambda s: (s.snapshot,)),
    ("snapshot_get", "user", USER, lambda s: (s.snapshot,)),
    ("snapshot_get_all", "admin", ADMIN, lambda s: ()),
    ("snapshot_get_all", "admin, marker", ADMIN, lambda s: (None, s.snapshot_marker, 2)),
    ("snapshot_get_all_by_project", "user", USER, lambda s: ("demo",)),
    ("snapshot_get_all_for_volume", "user", USER, lambda s: (s.volume,)),
    ("snapshot_get_all_for_cgsnapshot", "admin", ADMIN, lambda s: (s.cgsnapshot,)),
    ("snapshot_data_get_for_project", "user", USER, lambda s: ("demo",)),
    ("snapshot_metadata_get", "user", USER, lambda s: (s.snapshot,)),
    ("volume_type_get", "admin", ADMIN, lambda s: (s.volume_type,)),
    ("volume_type_get", "admin, projects", ADMIN, lambda s: (s.private_type, False, ["projects"])),
    ("volume_type_get", "user", USER, lambda s: (s.volume_type,)),
    ("volume_type_get_all", "admin", ADMIN, lambda s: ()),
    ("volume_type_get_all", "user", USER, lambda s: ()),
    ("volume_type_get_by_name", "admin", ADMIN, lambda s: ("lvm",)),
    ("volume_type_get_by_name", "user", USER, lambda s: ("lvm",)),
    (
        "volume_types_get_by_name_or_id",
        "admin, 2 entries",
        ADMIN,
        lambda s: ([s.volume_type, "private"],),
    ),
    ("volume_type_qos_associations_get", "admin", ADMIN, lambda s: (s.qos,)),
    ("volume_type_qos_specs_get", "admin", ADMIN, lambda s: (s.volume_type,)),
    ("volume_type_access_get_all", "admin", ADMIN, lambda s: (s.private_type,)),
    ("volume_type_extra_specs_get", "user", USER, lambda s: (s.volume_type,)),
    ("qos_specs_get", "admin", ADMIN, lambda s: (s.qos,)),
    ("qos_specs_get_all", "admin", ADMIN, lambda s: ()),
    ("qos_specs_get_by_name", "admin", ADMIN, lambda s: ("gold",)),
    ("qos_specs_associations_get", "admin", ADMIN, lambda s: (s.qos,)),
    ("consistencygroup_get", "admin", ADMIN, lambda s: (s.group,)),
    ("consistencygroup_get", "user", USER, lambda s: (s.group,)),
    ("consistencygroup_get_all", "admin", ADMIN, lambda s: ()),
    ("consistencygroup_get_all_by_project", "user", USER, lambda s: ("demo",)),
    ("consistencygroup_data_get_for_project", "admin", ADMIN, lambda s: ("demo",)),
    ("cgsnapshot_get", "admin", ADMIN, lambda s: (s.cgsnapshot,)),
    ("cgsnapshot_get", "user", USER, lambda s: (s.cgsnapshot,)),
    ("cgsnapshot_get_all", "admin", ADMIN, lambda s: ()),
    ("cgsnapshot_get_all_by_group", "admin", ADMIN, lambda s: (s.group,)),
    ("cgsnapshot_get_all_by_project", "user", USER, lambda s: ("demo",)),
    ("quota_get", "user", USER, lambda s: ("demo", "volumes")),
    ("quota_get_all_by_project", "user", USER, lambda s: ("demo",)),
    ("quota_class_get", "user", USER, lambda s: ("gold", "volumes")),
    ("quota_class_get_default", "user", USER, lambda s: ()),
    ("quota_class_get_all_by_name", "user", USER, lambda s: ("gold",)),
    ("quota_usage_get", "user", USER, lambda s: ("demo", "volumes")),
    ("quota_usage_get_all_by_project", "user", USER, lambda s: ("demo",)),
]


def seed(api: Any) -> Seeded:
    """A small database through the API: 2 projects, 8 volumes, snapshots, types, QoS, quotas."""
    now = dt.datetime(2015, 10, 13, 12, 0, 0)
    qos = api.qos_specs_create(
        ADMIN, {"name": "gold", "qos_specs": {"consumer": "back-end", "iops": "500", "bw": "9"}}
    )
    lvm = api.volume_type_create(ADMIN, {"name": "lvm", "extra_specs": {"a": "1", "b": "2"}})
    api.qos_specs_associate(ADMIN, qos["id"], lvm["id"])
    private = api.volume_type_create(
        ADMIN,
        {"name": "private", "is_public": False, "extra_specs": {"c": "3"}},
        projects=["demo", "ops"],
    )
    group = api.consistencygroup_create(
        ADMIN, {"project_id": "demo", "user_id": "demo_user", "name": "cg"}
    )
    volumes = []
    for n in range(8):
        project = "demo" if n < 6 else "other"
        volumes.append(
            api.volume_create(
                ADMIN,
                {
                    "project_id": project,
                    "user_id": f"{project}_user",
                    "size": n + 1,
                    "host": f"h{n % 2}#pool",
                    "status": "available",
                    "volume_type_id": lvm["id"],
                    "consistencygroup_id": group["id"] if n < 2 else None,
                    "created_at": now + dt.timedelta(seconds=n),
                    "metadata": {"k0": "v0" if n % 2 else "other", "k1": f"v{n}"},
                    "admin_metadata": {"readonly": "False"},
                },
            )
        )
    volume = volumes[1]
    instance = str(uuid.UUID(int=1))
    attachment = api.volume_attach(ADMIN, {"volume_id": volume["id"], "attach_status": "attaching"})
    api.volume_attached(ADMIN, attachment["id"], instance, "compute1", "/dev/vdb")
    second = api.volume_attach(ADMIN, {"volume_id": volume["id"], "attach_status": "attaching"})
    api.volume_attached(ADMIN, second["id"], None, "compute1", "/dev/vdc")
    cgsnapshot = api.cgsnapshot_create(
        ADMIN, {"consistencygroup_id": group["id"], "project_id": "demo", "user_id": "demo_user"}
    )
    snapshots = [
        api.snapshot_create(
            ADMIN,
            {
                "volume_id": volume["id"],
                "project_id": "demo",
                "user_id": "demo_user",
                "volume_size": volume["size"],
                "cgsnapshot_id": cgsnapshot["id"] if n == 0 else None,
                "created_at": now + dt.timedelta(seconds=n),
                "metadata": {"s": str(n)},
            },
        )
        for n in range(3)
    ]
    api.volume_glance_metadata_create(ADMIN, volume["id"], "image_id", "abc")
    api.volume_glance_metadata_create(ADMIN, volume["id"], "image_name", "cirros")
    api.volume_glance_metadata_copy_to_snapshot(ADMIN, snapshots[0]["id"], volume["id"])
    for resource, limit in (("volumes", 20), ("gigabytes", 1000), ("snapshots", 20)):
        api.quota_create(ADMIN, "demo", resource, limit)
        api.quota_class_create(ADMIN, "gold", resource, limit * 2)
    resources = default_resources([lvm])
    deltas = {"volumes": 1, "gigabytes": 5, "volumes_lvm": 1, "gigabytes_lvm": 5}
    expire = now + dt.timedelta(days=3650)
    reservations = api.quota_reserve(
        USER, resources, dict.fromkeys(deltas, -1), deltas, expire, None, None
    )
    api.reservation_commit(USER, reservations)
    return Seeded(
        volume=volume["id"],
        other_volume=volumes[7]["id"],
        marker=volumes[4]["id"],
        group=group["id"],
        attachment=attachment["id"],
        instance=instance,
        snapshot=snapshots[0]["id"],
        snapshot_marker=snapshots[2]["id"],
        cgsnapshot=cgsnapshot["id"],
        volume_type=lvm["id"],
        private_type=private["id"],
        qos=qos["id"],
    )


# ------------------------------------------------------------------ measuring


@dataclass
class Measured:
    function: str
    case: str
    counts: SQLCounts

    @property
    def statements(self) -> int:
        """Statements besides BEGIN (Liberty's §10 figures leave BEGIN out too)."""
        return self.counts.statements - self.counts.by_kind["begin"]

    @property
    def select_tables(self) -> list[int]:
        return [len(r.shape.tables) for r in self.counts.log if r.shape.kind == "select"]

    @property
    def tables(self) -> int:
        return max(self.select_tables, default=0)

    def mismatches(self) -> list[str]:
        expected = EXPECTED.get((self.function, self.case))
        if expected is None:
            return []
        found = []
        if self.statements != expected.statements:
            found.append(f"statements {self.statements} vs {expected.statements}")
        if expected.tables is not None and self.tables != expected.tables:
            found.append(f"tables {self.tables} vs {expected.tables}")
        if self.counts.exists != expected.exists:
            found.append(f"EXISTS {self.counts.exists} vs {expected.exists}")
        if expected.joins is not None and self.counts.joins != expected.joins:
            found.append(f"JOINs {self.counts.joins} vs {expected.joins}")
        return found


def measure(api: Any) -> list[Measured]:
    missing = sorted(READ_FUNCTIONS - {function for function, *_ in CASES})
    if missing:
        raise SystemExit(f"sql-queries: no case for read functions {missing}")
    seeded = seed(api)
    counter = SQLCounter(api.engines, keep_statements=True)
    results = []
    with counter.attached():
        for function, case, context, arguments in CASES:
            call_arguments = arguments(seeded)
            with counter.measure() as counts:
                getattr(api, function)(context, *call_arguments)
            results.append(Measured(function, case, counts))
    return results


# -------------------------------------------------------------------- report


def _expected_text(result: Measured) -> str:
    expected = EXPECTED.get((result.function, result.case))
    if expected is None:
        return "—"
    text = f"{expected.statements} stmt"
    if expected.tables is not None:
        text += f", {expected.tables} tables"
    if expected.exists:
        text += f", {expected.exists} EXISTS"
    return text if expected.source == "§10" else f"{text} ({expected.source})"


def _joins_text(counts: SQLCounts) -> str:
    if counts.joins_inner:
        return f"{counts.joins} ({counts.joins_inner} inner)"
    return str(counts.joins)


def report(results: list[Measured], engine: dict[str, Any]) -> str:
    lines = [
        "# SQL statements per read function",
        "",
        "Generated by `cinderbench bench sql-queries` (`cinderbench/bench/sql_queries.py`) on "
        f"{engine.get('engine')} {engine.get('server_version')}. Each read function of the "
        "contract runs once on a small seeded database (2 projects, 8 volumes with metadata "
        "and admin metadata, 2 attachments, 3 snapshots, 2 volume types, 1 QoS spec, quotas); "
        "the counts come from SQLAlchemy's cursor events (`bench/measure/sql_counters.py`).",
        "",
        "- *statements*: statements sent, besides BEGIN (MySQL begins transactions "
        "implicitly; file SQLite sends BEGIN IMMEDIATE).",
        "- *JOINs*: JOIN clauses in all statements (LEFT OUTER unless marked inner).",
        "- *tables*: distinct tables of the largest SELECT, not counting tables that appear "
        "only in EXISTS subqueries; *per SELECT*: the table count of each SELECT, in order.",
        "- *rows*: rows the database returned (SELECT) or changed, joined rows included.",
        "- *Liberty*: the figures the brief (§10) captured from Cinder 7.0.0; *derived* "
        "combines two §10 rows, *§11* comes from the brief's call sequences; — means §10 "
        "gives none.",
        "",
        "| function | case | statements | JOINs | EXISTS | tables | per SELECT | rows "
        "| Liberty | match |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        expected = EXPECTED.get((r.function, r.case))
        mismatches = r.mismatches()
        match = "—" if expected is None else ("**no**" if mismatches else "yes")
        lines.append(
            f"| `{r.function}` | {r.case} | {r.statements} | {_joins_text(r.counts)} | "
            f"{r.counts.exists} | {r.tables} | {'+'.join(map(str, r.select_tables)) or '—'} | "
            f"{r.counts.rows} | {_expected_text(r)} | {match} |"
        )
    differing = [r for r in results if r.mismatches()]
    lines += ["", "## Differences from Liberty", ""]
    if not differing:
        lines.append("None: every call with a §10 figure issues what Liberty issued.")
    for r in differing:
        reason = REASONS.get((r.function, r.case), "not explained yet")
        lines.append(f"- `{r.function}` ({r.case}): {'; '.join(r.mismatches())}. {reason}")
    covered = {r.function for r in results}
    lines += [
        "",
        f"{len(covered)} of the {len(READ_FUNCTIONS)} read functions "
        "(`cinderdb.api.READ_FUNCTIONS`) are measured.",
        "",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------- main


@contextlib.contextmanager
def _database(url: str | None) -> Iterator[str]:
    """The URL to run on, creating (and afterwards dropping) a database when needed."""
    if url is None:
        with tempfile.TemporaryDirectory() as directory, embedded_store("sql", directory) as own:
            yield own
        return
    if make_url(url).database or not features_of(url).waits_on_network:
        yield url  # a database, or an embedded store: as given
        return
    with scratch_database(url, prefix="cinderbench_sqlq") as database:
        yield database


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="cinderbench bench sql-queries",
        description="Statements, JOINs and tables of every read function, next to Liberty's.",
    )
    parser.add_argument(
        "--url",
        type=backend_url,
        help="backend URL; a MySQL server URL without a database gets a temporary database "
        "(default: a temporary SQLite file)",
    )
    parser.add_argument("--output", type=Path, help="also write the Markdown report here")
    args = parser.parse_args(argv)
    if args.url:
        reachable([("--url", args.url)])
    with _database(args.url) as url:
        api = open_backend(url)
        try:
            api.create_schema()
            with api.engine.connect() as connection:
                if connection.execute(sa.text("SELECT COUNT(*) FROM volumes")).scalar():
                    raise CommandError(f"{api.url} already holds volumes: give an empty database")
            text = report(measure(api), api.engine_info())
        finally:
            api.close()
    sys.stdout.write(text)
    if args.output:
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
