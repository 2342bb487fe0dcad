"""``cinderbench bench requests``: what every one of the 110 DB API functions costs each backend.

Seeds the same small dataset through the API on the SQL backend and on the
MagnetoDB backend (``cinderbench.bench.sql_queries.seed``), runs every function of
``cinderdb.api.FUNCTIONS`` once per case on each (reads as admin and as a user
where that changes the work, volume lists with and without a marker and a
metadata filter; each write on objects made for it beforehand, unmeasured),
and prints one Markdown table: the SQL statements by kind, JOINs and tables
(``bench.measure.sql_counters``) next to the MagnetoDB requests by type, items read and
written, and the writes to second copies (``DERIVED_TABLES``), counted from the
client's hooks (``bench.measure.counters.MagnetoProbe``).

- ``--sql-url``: default a temporary SQLite file (a MySQL server URL without a
  database gets a temporary database, as ``sql-queries`` does);
- ``--magnetodb-url``: default ``magnetodb+inproc:///requests`` (in-process);
- ``--output PATH`` writes the report; ``--doc PATH`` replaces the section
  "Requests per function, next to the SQL backend" of a Markdown file with it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.measure.counters import MagnetoProbe
from bench.measure.sql_counters import SQLCounter, SQLCounts
from cinderbench.bench.sql_queries import ADMIN, CASES, USER, Seeded, _database, seed
from cinderbench.checks import ArgumentParser, backend_url, reachable
from cinderdb import RequestContext, open_backend
from cinderdb.api import FUNCTIONS, METADATA_TYPES
from cinderdb.magneto.core import design_url
from cinderdb.magneto.designs import OPTIONS
from cinderdb.quota import default_resources
from cinderdb.records import utcnow

DOC_SECTION = "## Requests per function, next to the SQL backend"

#: Prepares one write case on a seeded backend (unmeasured); returns the call's arguments.
Prepare = Callable[[Any, Seeded], tuple[Any, ...]]

_names = itertools.count()


def _name(prefix: str) -> str:
    return f"{prefix}-{next(_names)}"


# ------------------------------------------------------------------ preparations


def _volume(api: Any, s: Seeded, **values: Any) -> str:
    record = {
        "project_id": "demo",
        "user_id": "demo_user",
        "size": 1,
        "host": "h1#pool",
        "status": "available",
        "volume_type_id": s.volume_type,
        "metadata": {"k0": "v0", "k1": "v1"},
        "admin_metadata": {"readonly": "False"},
        **values,
    }
    return api.volume_create(ADMIN, record)["id"]


def _attachment(api: Any, s: Seeded, attached: bool = False) -> tuple[str, str]:
    volume = _volume(api, s)
    attachment = api.volume_attach(ADMIN, {"volume_id": volume, "attach_status": "attaching"})
    if attached:
        api.volume_attached(ADMIN, attachment["id"], str(uuid.uuid4()), "c1", "/dev/vdb")
    return volume, attachment["id"]


def _snapshot(api: Any, s: Seeded, volume: str | None = None) -> str:
    values = {
        "volume_id": volume or s.volume,
        "project_id": "demo",
        "user_id": "demo_user",
        "volume_size": 1,
        "metadata": {"s": "0"},
    }
    return api.snapshot_create(ADMIN, values)["id"]


def _glance_volume(api: Any, s: Seeded) -> str:
    volume = _volume(api, s)
    api.volume_glance_metadata_create(ADMIN, volume, "image_id", "abc")
    api.volume_glance_metadata_create(ADMIN, volume, "image_name", "cirros")
    return volume


def _glance_snapshot(api: Any, s: Seeded) -> str:
    volume = _glance_volume(api, s)
    snapshot = _snapshot(api, s, volume)
    api.volume_glance_metadata_copy_to_snapshot(ADMIN, snapshot, volume)
    return snapshot


def _type(api: Any, s: Seeded, volumes: int = 0, **values: Any) -> str:
    values = {"name": _name("t"), "extra_specs": {"a": "1", "b": "2"}, **values}
    type_id = api.volume_type_create(ADMIN, values, ["demo"])["id"]
    for _ in range(volumes):
        _volume(api, s, volume_type_id=type_id)
    return type_id


def _qos(api: Any, types: int = 0) -> str:
    spec = api.qos_specs_create(
        ADMIN, {"name": _name("q"), "qos_specs": {"consumer": "back-end", "iops": "1"}}
    )["id"]
    for _ in range(types):
        api.qos_specs_associate(
            ADMIN, spec, api.volume_type_create(ADMIN, {"name": _name("t")})["id"]
        )
    return spec


def _associated(api: Any, s: Seeded) -> tuple[str, str]:
    spec = _qos(api)
    type_id = _type(api, s)
    api.qos_specs_associate(ADMIN, spec, type_id)
    return spec, type_id


def _group(api: Any) -> str:
    return api.consistencygroup_create(ADMIN, {"project_id": "demo", "user_id": "demo_user"})["id"]


def _cgsnapshot(api: Any, s: Seeded) -> str:
    values = {"consistencygroup_id": s.group, "project_id": "demo", "user_id": "demo_user"}
    return api.cgsnapshot_create(ADMIN, values)["id"]


RESOURCES = default_resources()
#: quota_reserve's usual call (brief §10): volumes and gigabytes, plain and of the type.
_DELTAS = ("volumes", "gigabytes", "volumes_lvm", "gigabytes_lvm")


def _reserve_arguments(s: Seeded, expire_hours: int = 24, project: str | None = None) -> tuple:
    resources = {**RESOURCES, **default_resources([{"id": s.volume_type, "name": "lvm"}])}
    deltas = {"volumes": 1, "gigabytes": 2, "volumes_lvm": 1, "gigabytes_lvm": 2}
    expire = utcnow() + dt.timedelta(hours=expire_hours)
    arguments = (resources, dict.fromkeys(deltas, -1), deltas, expire, None, None)
    return arguments if project is None else (*arguments, project)


def _reservations(api: Any, s: Seeded, expire_hours: int = 24) -> list[str]:
    return api.quota_reserve(USER, *_reserve_arguments(s, expire_hours))


def _expired(api: Any, s: Seeded) -> tuple[()]:
    """Four reservations that expired an hour ago: ``reservation_expire`` takes no argument."""
    _reservations(api, s, expire_hours=-1)
    return ()


def _quota_project(api: Any) -> str:
    project = _name("qp")
    for resource, limit in (("volumes", 5), ("gigabytes", 50)):
        api.quota_create(ADMIN, project, resource, limit)
    api.quota_reserve(
        ADMIN,
        RESOURCES,
        {"volumes": 5, "gigabytes": 50},
        {"volumes": 1, "gigabytes": 2},
        utcnow() + dt.timedelta(hours=1),
        None,
        None,
        project,
    )
    return project


def _class(api: Any, resources: int = 1) -> str:
    name = _name("c")
    for resource in ("volumes", "gigabytes", "snapshots")[:resources]:
        api.quota_class_create(ADMIN, name, resource, 7)
    return name


#: (function, case, context, prepare) for every function that writes.
WRITE_CASES: list[tuple[str, str, RequestContext, Prepare]] = [
    # volumes (the other half of the backend; measured here all the same)
    (
        "volume_create",
        "admin, 2 metadata + admin metadata",
        ADMIN,
        lambda a, s: (
            {
                "project_id": "demo",
                "user_id": "demo_user",
                "size": 1,
                "host": "h1#pool",
                "volume_type_id": s.volume_type,
                "consistencygroup_id": s.group,
                "metadata": {"k0": "v0", "k1": "v1"},
                "admin_metadata": {"readonly": "False"},
            },
        ),
    ),
    (
        "volume_create",
        "user, 2 metadata",
        USER,
        lambda a, s: (
            {
                "project_id": "demo",
                "user_id": "demo_user",
                "size": 1,
                "volume_type_id": s.volume_type,
                "metadata": {"k0": "v0", "k1": "v1"},
            },
        ),
    ),
    ("volume_update", "admin, columns", ADMIN, lambda a, s: (_volume(a, s), {"status": "in-use"})),
    (
        "volume_update",
        "user, metadata",
        USER,
        lambda a, s: (_volume(a, s), {"metadata": {"k0": "v9", "k2": "v2"}}),
    ),
    ("volume_destroy", "admin", ADMIN, lambda a, s: (_volume(a, s),)),
    ("finish_volume_migration", "admin", ADMIN, lambda a, s: (_volume(a, s), _volume(a, s))),
    (
        "volume_attach",
        "admin",
        ADMIN,
        lambda a, s: ({"volume_id": _volume(a, s), "attach_status": "attaching"},),
    ),
    (
        "volume_attached",
        "admin",
        ADMIN,
        lambda a, s: (_attachment(a, s)[1], str(uuid.uuid4()), "c1", "/dev/vdb", "rw"),
    ),
    (
        "volume_attachment_update",
        "admin",
        ADMIN,
        lambda a, s: (_attachment(a, s, True)[1], {"mountpoint": "/dev/vdc"}),
    ),
    ("volume_detach", "admin", ADMIN, lambda a, s: (_attachment(a, s, True)[1],)),
    ("volume_detached", "admin", ADMIN, lambda a, s: _attachment(a, s, True)),
    (
        "volume_metadata_update",
        "user, merge 1",
        USER,
        lambda a, s: (_volume(a, s), {"k2": "v2"}, False),
    ),
    (
        "volume_metadata_update",
        "user, replace",
        USER,
        lambda a, s: (_volume(a, s), {"k0": "v9"}, True),
    ),
    (
        "volume_metadata_update",
        "user, image",
        USER,
        lambda a, s: (_volume(a, s), {"image_id": "x"}, False, METADATA_TYPES.image),
    ),
    ("volume_metadata_delete", "user", USER, lambda a, s: (_volume(a, s), "k0")),
    (
        "volume_admin_metadata_update",
        "admin",
        ADMIN,
        lambda a, s: (_volume(a, s), {"attached_mode": "rw"}, False),
    ),
    ("volume_admin_metadata_delete", "admin", ADMIN, lambda a, s: (_volume(a, s), "readonly")),
    (
        "volume_glance_metadata_create",
        "admin",
        ADMIN,
        lambda a, s: (_volume(a, s), "image_id", "abc"),
    ),
    (
        "volume_glance_metadata_copy_to_snapshot",
        "admin",
        ADMIN,
        lambda a, s: (_snapshot(a, s), _glance_volume(a, s)),
    ),
    (
        "volume_glance_metadata_copy_to_volume",
        "admin",
        ADMIN,
        lambda a, s: (_volume(a, s), _glance_snapshot(a, s)),
    ),
    (
        "volume_glance_metadata_copy_from_volume_to_volume",
        "admin",
        ADMIN,
        lambda a, s: (_glance_volume(a, s), _volume(a, s)),
    ),
    (
        "volume_glance_metadata_delete_by_volume",
        "admin",
        ADMIN,
        lambda a, s: (_glance_volume(a, s),),
    ),
    (
        "volume_glance_metadata_delete_by_snapshot",
        "admin",
        ADMIN,
        lambda a, s: (_glance_snapshot(a, s),),
    ),
    (
        "snapshot_create",
        "user",
        USER,
        lambda a, s: (
            {
                "volume_id": s.volume,
                "project_id": "demo",
                "user_id": "demo_user",
                "volume_size": 1,
                "metadata": {"s": "0"},
            },
        ),
    ),
    ("snapshot_update", "user", USER, lambda a, s: (_snapshot(a, s), {"status": "available"})),
    ("snapshot_destroy", "admin", ADMIN, lambda a, s: (_snapshot(a, s),)),
    ("snapshot_metadata_update", "user", USER, lambda a, s: (_snapshot(a, s), {"x": "y"}, False)),
    ("snapshot_metadata_delete", "user", USER, lambda a, s: (_snapshot(a, s), "s")),
    # volume types
    (
        "volume_type_create",
        "admin, 2 specs, 1 project",
        ADMIN,
        lambda a, s: ({"name": _name("t"), "extra_specs": {"a": "1", "b": "2"}}, ["demo"]),
    ),
    (
        "volume_type_update",
        "admin, description",
        ADMIN,
        lambda a, s: (_type(a, s), {"description": "d"}),
    ),
    (
        "volume_type_update",
        "admin, rename, 2 volumes",
        ADMIN,
        lambda a, s: (_type(a, s, volumes=2), {"name": _name("renamed")}),
    ),
    ("volume_type_destroy", "admin", ADMIN, lambda a, s: (_type(a, s),)),
    ("volume_type_qos_associate", "admin", ADMIN, lambda a, s: (_type(a, s), _qos(a))),
    ("volume_type_qos_disassociate", "admin", ADMIN, lambda a, s: tuple(_associated(a, s))),
    ("volume_type_qos_disassociate_all", "admin, 2 types", ADMIN, lambda a, s: (_qos(a, 2),)),
    ("volume_type_access_add", "admin", ADMIN, lambda a, s: (_type(a, s, is_public=False), "p9")),
    (
        "volume_type_access_remove",
        "admin",
        ADMIN,
        lambda a, s: (_type(a, s, is_public=False), "demo"),
    ),
    (
        "volume_type_extra_specs_update_or_create",
        "user, 2 specs",
        USER,
        lambda a, s: (_type(a, s), {"b": "3", "c": "4"}),
    ),
    ("volume_type_extra_specs_delete", "user", USER, lambda a, s: (_type(a, s), "a")),
    # QoS specs
    (
        "qos_specs_create",
        "admin, consumer + 2 keys",
        ADMIN,
        lambda a, s: (
            {"name": _name("q"), "qos_specs": {"consumer": "back-end", "iops": "1", "bw": "2"}},
        ),
    ),
    ("qos_specs_update", "admin, 2 keys", ADMIN, lambda a, s: (_qos(a), {"iops": "2", "bw": "3"})),
    ("qos_specs_item_delete", "admin", ADMIN, lambda a, s: (_qos(a), "iops")),
    ("qos_specs_delete", "admin", ADMIN, lambda a, s: (_qos(a),)),
    ("qos_specs_associate", "admin", ADMIN, lambda a, s: (_qos(a), _type(a, s))),
    ("qos_specs_disassociate", "admin", ADMIN, _associated),
    ("qos_specs_disassociate_all", "admin, 2 types", ADMIN, lambda a, s: (_qos(a, 2),)),
    # groups
    (
        "consistencygroup_create",
        "user",
        USER,
        lambda a, s: ({"project_id": "demo", "user_id": "demo_user", "name": "g"},),
    ),
    ("consistencygroup_update", "user", USER, lambda a, s: (_group(a), {"status": "available"})),
    ("consistencygroup_destroy", "admin", ADMIN, lambda a, s: (_group(a),)),
    (
        "cgsnapshot_create",
        "user",
        USER,
        lambda a, s: (
            {"consistencygroup_id": s.group, "project_id": "demo", "user_id": "demo_user"},
        ),
    ),
    ("cgsnapshot_update", "user", USER, lambda a, s: (_cgsnapshot(a, s), {"status": "available"})),
    ("cgsnapshot_destroy", "admin", ADMIN, lambda a, s: (_cgsnapshot(a, s),)),
    # quotas
    ("quota_create", "admin", ADMIN, lambda a, s: (_name("qp"), "volumes", 5)),
    ("quota_update", "admin", ADMIN, lambda a, s: ("demo", "volumes", 30 + next(_names))),
    ("quota_destroy", "admin", ADMIN, lambda a, s: (_quota_project(a), "volumes")),
    ("quota_destroy_all_by_project", "admin", ADMIN, lambda a, s: (_quota_project(a),)),
    (
        "quota_destroy_all_by_project",
        "admin, only quotas",
        ADMIN,
        lambda a, s: (_quota_project(a), True),
    ),
    ("quota_class_create", "admin", ADMIN, lambda a, s: (_name("c"), "volumes", 5)),
    ("quota_class_update", "admin", ADMIN, lambda a, s: ("gold", "volumes", 50 + next(_names))),
    ("quota_class_destroy", "admin", ADMIN, lambda a, s: (_class(a), "volumes")),
    ("quota_class_destroy_all_by_name", "admin, 3 limits", ADMIN, lambda a, s: (_class(a, 3),)),
    ("quota_reserve", "user, 4 deltas, usages exist", USER, lambda a, s: _reserve_arguments(s)),
    (
        "quota_reserve",
        "admin, 4 deltas, first time",
        ADMIN,
        lambda a, s: _reserve_arguments(s, project="other"),
    ),
    ("reservation_commit", "user, 4 reservations", USER, lambda a, s: (_reservations(a, s),)),
    ("reservation_rollback", "user, 4 reservations", USER, lambda a, s: (_reservations(a, s),)),
    ("reservation_expire", "admin, 4 expired", ADMIN, _expired),
]


# ------------------------------------------------------------------ measuring


@dataclass
class Row:
    function: str
    case: str
    sql: SQLCounts | None = None
    magneto: dict[str, int] = field(default_factory=dict)
    #: option -> the MagnetoDB counts on ``seed+option``
    options: dict[str, dict[str, int]] = field(default_factory=dict)


def _read_cases() -> list[tuple[str, str, RequestContext, Prepare]]:
    return [
        (f, case, c, lambda a, s, arguments=arguments: arguments(s))
        for f, case, c, arguments in CASES
    ]


def all_cases() -> list[tuple[str, str, RequestContext, Prepare]]:
    """Reads first (on the seeded state), then writes (each on its own objects)."""
    return _read_cases() + WRITE_CASES


def _measure_sql(api: Any, cases: list) -> list[SQLCounts]:
    seeded = seed(api)
    counter = SQLCounter(api.engines)
    results = []
    with counter.attached():
        for function, _case, context, prepare in cases:
            arguments = prepare(api, seeded)
            with counter.measure() as counts:
                getattr(api, function)(context, *arguments)
            results.append(counts)
    return results


def measure_magneto(api: Any, cases: list) -> list[dict[str, int]]:
    seeded = seed(api)
    probe = MagnetoProbe(api.client, api.derived_tables)
    probe.attach()
    results = []
    try:
        for function, _case, context, prepare in cases:
            arguments = prepare(api, seeded)
            token = probe.start()
            try:
                getattr(api, function)(context, *arguments)
            finally:
                results.append(probe.stop(token))
    finally:
        probe.detach()
    return results


def _measure_design(url: str, cases: list) -> tuple[list[dict[str, int]], dict[str, Any]]:
    api = open_backend(url)
    try:
        api.create_schema()
        info = api.engine_info()
        return measure_magneto(api, cases), info
    finally:
        api.drop_schema()  # the tables it made (a given server keeps no trace)
        api.close()


def measure(
    sql_url: str, magnetodb_url: str, options: tuple[str, ...] = ()
) -> tuple[list[Row], dict[str, Any]]:
    """Every case on SQL, on the MagnetoDB URL's design, and on ``seed+OPTION`` for each
    of ``options`` (the same URL, its ``?design=`` replaced)."""
    cases = all_cases()
    missing = sorted(set(FUNCTIONS) - {function for function, *_ in cases})
    if missing:
        raise SystemExit(f"requests: no case for {missing}")
    rows = [Row(function, case) for function, case, *_ in cases]
    engines: dict[str, Any] = {}
    sql_api = open_backend(sql_url)
    try:
        sql_api.create_schema()
        engines["sql"] = sql_api.engine_info()
        for row, counts in zip(rows, _measure_sql(sql_api, cases), strict=True):
            row.sql = counts
    finally:
        sql_api.close()
    measured, engines["magnetodb"] = _measure_design(magnetodb_url, cases)
    for row, counts in zip(rows, measured, strict=True):
        row.magneto = counts
    for option in options:
        url = design_url(magnetodb_url, f"seed+{option}")
        for row, counts in zip(rows, _measure_design(url, cases)[0], strict=True):
            row.options[option] = counts
    return rows, engines


# -------------------------------------------------------------------- report

_SQL_KINDS = ("select", "insert", "update", "delete", "other")
#: MagnetoDB request types in report order.
REQUEST_ORDER = (
    "get_item",
    "batch_get_item",
    "query",
    "scan",
    "put_item",
    "update_item",
    "delete_item",
    "batch_write_item",
)


def sql_text(counts: SQLCounts) -> str:
    parts = [f"{counts.by_kind[k]} {k.upper()}" for k in _SQL_KINDS if counts.by_kind[k]]
    return " + ".join(parts) or "0"


def magneto_text(counts: dict[str, int]) -> str:
    parts = [f"{counts[f'requests.{r}']} {r}" for r in REQUEST_ORDER if counts.get(f"requests.{r}")]
    others = counts["requests"] - sum(counts.get(f"requests.{r}", 0) for r in REQUEST_ORDER)
    if others:
        parts.append(f"{others} other")
    text = " + ".join(parts) or "0"
    if counts.get("conditional_check_failed"):
        text += f" ({counts['conditional_check_failed']} conditional failed)"
    return text


def _cells(counts: dict[str, int]) -> tuple[str, str, int]:
    items = f"{counts['items_read']} / {counts['items_written']}"
    return magneto_text(counts), items, counts["dual_writes"]


def option_text(seed: dict[str, int], option: dict[str, int]) -> str:
    """An option's cell: its requests; items; dual writes, or ``=`` when the seed's."""
    cells = _cells(option)
    return "=" if cells == _cells(seed) else "; ".join(str(cell) for cell in cells)


def report(rows: list[Row], engines: dict[str, Any], command: str) -> str:
    sql, magneto = engines.get("sql", {}), engines.get("magnetodb", {})
    lines = [
        f"Generated by `{command}` (`cinderbench/bench/requests.py`): every one of the "
        f"{len(FUNCTIONS)} functions on the same small dataset "
        "(`cinderbench.bench.sql_queries.seed`: 2 projects, 8 volumes with metadata and admin "
        "metadata, 2 attachments, 3 snapshots, 2 volume types, 1 QoS spec, quotas), on the "
        f"SQL backend ({sql.get('engine')} {sql.get('server_version', '')}) and on the "
        f"MagnetoDB backend ({magneto.get('transport', '')}). Reads run on the seeded state; "
        "each write runs on objects made for it just before (not measured), after all the "
        "reads, so a scan reads everything made so far.",
        "",
        "- *SQL*: statements by kind (BEGIN not counted), JOIN clauses, distinct tables "
        "(EXISTS subqueries included), from SQLAlchemy's cursor events "
        "(`bench/measure/sql_counters.py`).",
        "- *MagnetoDB*: requests by type, items read (returned by get/query/batch_get, scanned "
        "by scan) / written, and *dual/index writes*: items written to a table that holds "
        "second copies (`DERIVED_TABLES`: index and inverted tables, `volume_attachment`), "
        "from the client's request hooks (`bench/measure/counters.py`). The copies kept in base "
        "items (a QoS spec's `volume_types` set, the volumes' `volume_type_name`) count as "
        "ordinary writes.",
    ]
    options = list(rows[0].options) if rows else []
    if options:
        lines += [
            "- *seed+OPTION*: the MagnetoDB requests; items read / written; dual/index writes "
            "of the design with that one option (`cinderdb/magneto/designs.py`), where they "
            "differ from the seed's (`=`: the same).",
        ]
    lines += [
        "",
        "| function | case | SQL statements | JOINs | tables | MagnetoDB requests "
        "| items read / written | dual/index writes |"
        + "".join(f" seed+{option} |" for option in options),
        "| --- | --- | --- | --- | --- | --- | --- | --- |" + " --- |" * len(options),
    ]
    for row in sorted(rows, key=lambda r: r.function):
        s, m = row.sql, row.magneto
        assert s is not None
        lines.append(
            f"| `{row.function}` | {row.case} | {sql_text(s)} | {s.joins} | {len(s.tables)} | "
            f"{magneto_text(m)} | {m['items_read']} / {m['items_written']} | {m['dual_writes']} |"
            + "".join(f" {option_text(m, row.options[o])} |" for o in options)
        )
    covered = {row.function for row in rows}
    lines += ["", f"{len(covered)} of the {len(FUNCTIONS)} functions are measured.", ""]
    return "\n".join(lines)


def replace_section(text: str, body: str) -> str:
    """``text`` with the body of its ``DOC_SECTION`` (up to the next ``## `` heading or the
    end) replaced by ``body``."""
    start = text.index(DOC_SECTION) + len(DOC_SECTION)
    end = text.find("\n## ", start)
    rest = "" if end < 0 else text[end:]
    return text[:start] + "\n\n" + body.rstrip("\n") + "\n" + rest


# ---------------------------------------------------------------------- main


@dataclass
class _Options:
    sql_url: str | None
    magnetodb_url: str
    output: Path | None
    doc: Path | None
    options: tuple[str, ...] = ()


def _parse(argv: list[str] | None) -> _Options:
    parser = ArgumentParser(
        prog="cinderbench bench requests",
        description="SQL statements and MagnetoDB requests of every DB API function.",
    )
    parser.add_argument(
        "--sql-url", type=backend_url, help="SQL backend URL (default: a temporary SQLite file)"
    )
    parser.add_argument(
        "--magnetodb-url",
        default="magnetodb+inproc:///requests",
        type=backend_url,
        help="MagnetoDB backend URL (default: in-process)",
    )
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        choices=[*OPTIONS, "all"],
        help="also measure the design seed+OPTION, one column each (repeatable; all: every "
        "declared option)",
    )
    parser.add_argument("--output", type=Path, help="also write the report here")
    parser.add_argument("--doc", type=Path, help=f"replace the section '{DOC_SECTION}' here")
    args = parser.parse_args(argv)
    given = [("--sql-url", args.sql_url)] if args.sql_url else []
    reachable([*given, ("--magnetodb-url", args.magnetodb_url)])
    options = tuple(OPTIONS) if "all" in args.option else tuple(dict.fromkeys(args.option))
    return _Options(args.sql_url, args.magnetodb_url, args.output, args.doc, options)


def main(argv: list[str] | None = None) -> int:
    options = _parse(argv)
    with _database(options.sql_url) as sql_url:
        rows, engines = measure(sql_url, options.magnetodb_url, options.options)
    command = "cinderbench bench requests" + (
        f" --doc {options.doc}" if options.doc is not None else ""
    )
    if options.options:
        every = options.options == tuple(OPTIONS)
        command += " --option all" if every else "".join(f" --option {o}" for o in options.options)
    text = report(rows, engines, command)
    sys.stdout.write(text)
    if options.output is not None:
        options.output.write_text(text)
    if options.doc is not None:
        options.doc.write_text(replace_section(options.doc.read_text(), text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
