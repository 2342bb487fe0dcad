"""What the write-atomicity tests share: the write cases, a seeded in-process store, the
count of each case's writes, and the crash states ``docs/magnetodb-design.md`` allows.

The cases are ``cinderbench bench requests``' (one per write function of the
contract, on objects made for it just before) plus ``EXTRA_CASES``, the
multi-write paths those cases do not take (an index entry that moves, an
attachment moved to another volume...). Which cases write more than once, and
how often, is learned by running each once and counting its write requests
(``write_counts``), so a function that starts writing twice joins the test with
no list to edit.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.drive.faults import WRITE_OPS
from cinderbench.bench.requests import WRITE_CASES
from cinderbench.bench.sql_queries import ADMIN, Seeded, seed
from cinderdb import RequestContext, open_backend
from cinderdb.api import METADATA_TYPES
from cinderdb.base import current_call
from cinderdb.magneto.core import VERSION
from magnetodb.client import MagnetoClient
from magnetodb.client.transports import InProcessTransport
from validators.dualwrite import Validation, validate
from validators.reader import Reader

DESIGN_DOC = Path(__file__).resolve().parents[2] / "docs" / "magnetodb-design.md"
#: The section of the design document that lists, per function, what a crash leaves.
CRASH_SECTION = "### Failures and crashes, write by write"

Prepare = Callable[[Any, Seeded], tuple[Any, ...]]
Case = tuple[str, str, RequestContext, Prepare]


def _volume(api: Any, s: Seeded, **values: Any) -> str:
    record = {
        "project_id": "demo",
        "user_id": "demo_user",
        "size": 1,
        "host": "h1#pool",
        "volume_type_id": s.volume_type,
        "metadata": {"k0": "v0"},
        **values,
    }
    return api.volume_create(ADMIN, record)["id"]


def _attachment(api: Any, s: Seeded) -> str:
    volume = _volume(api, s)
    return api.volume_attach(ADMIN, {"volume_id": volume, "attach_status": "attaching"})["id"]


def _snapshot(api: Any, s: Seeded) -> str:
    values = {"volume_id": _volume(api, s), "project_id": "demo", "volume_size": 1}
    return api.snapshot_create(ADMIN, values)["id"]


def _group(api: Any) -> str:
    return api.consistencygroup_create(ADMIN, {"project_id": "demo", "name": "g"})["id"]


def _image_volume(api: Any, s: Seeded) -> str:
    volume = _volume(api, s)
    api.volume_glance_metadata_create(ADMIN, volume, "image_id", "abc")
    api.volume_glance_metadata_create(ADMIN, volume, "image_name", "cirros")
    return volume


def _type_of_spec(api: Any, s: Seeded) -> str:
    """A type associated with another spec than the seeded one."""
    spec = api.qos_specs_create(ADMIN, {"name": f"q-{uuid.uuid4().hex[:8]}"})["id"]
    vtype = api.volume_type_create(ADMIN, {"name": f"t-{uuid.uuid4().hex[:8]}"})["id"]
    api.qos_specs_associate(ADMIN, spec, vtype)
    return vtype


def _class_of(api: Any, limits: int) -> str:
    name = f"c-{uuid.uuid4().hex[:8]}"
    for n in range(limits):
        api.quota_class_create(ADMIN, name, f"resource{n}", n)
    return name


#: Multi-write paths the requests cases do not take: (function, case, context, prepare).
EXTRA_CASES: list[Case] = [
    ("volume_update", "admin, host moves", ADMIN, lambda a, s: (_volume(a, s), {"host": "h9"})),
    (
        "snapshot_update",
        "admin, volume moves",
        ADMIN,
        lambda a, s: (_snapshot(a, s), {"volume_id": _volume(a, s)}),
    ),
    (
        "consistencygroup_update",
        "admin, project moves",
        ADMIN,
        lambda a, s: (_group(a), {"project_id": "ops"}),
    ),
    (
        "cgsnapshot_update",
        "admin, group moves",
        ADMIN,
        lambda a, s: (
            a.cgsnapshot_create(ADMIN, {"consistencygroup_id": s.group, "project_id": "demo"})[
                "id"
            ],
            {"consistencygroup_id": _group(a)},
        ),
    ),
    (
        "volume_attachment_update",
        "admin, moved to another volume",
        ADMIN,
        lambda a, s: (_attachment(a, s), {"volume_id": _volume(a, s)}),
    ),
    (
        "volume_detached",
        "admin, the attachment of another volume",
        ADMIN,
        lambda a, s: (_volume(a, s), _attachment(a, s)),
    ),
    (
        "volume_metadata_update",
        "admin, image, a value replaced and a key dropped",
        ADMIN,
        lambda a, s: (_image_volume(a, s), {"image_id": "xyz"}, True, METADATA_TYPES.image),
    ),
    (
        "qos_specs_associate",
        "admin, the type moves from another spec",
        ADMIN,
        lambda a, s: (s.qos, _type_of_spec(a, s)),
    ),
    (
        "quota_class_destroy_all_by_name",
        "admin, 30 limits (two batches)",
        ADMIN,
        lambda a, s: (_class_of(a, 30),),
    ),
]

CASES: list[Case] = [*WRITE_CASES, *EXTRA_CASES]


def case_id(case: Case) -> str:
    return f"{case[0]}[{case[1]}]"


@dataclass
class Store:
    """An in-process MagnetoDB backend seeded with ``sql_queries.seed``."""

    api: Any
    seeded: Seeded

    @classmethod
    def open(cls, design: str = "seed") -> Store:
        api = open_backend(f"magnetodb+inproc:///atomic{uuid.uuid4().hex[:8]}?design={design}")
        api.create_schema()
        return cls(api, seed(api))

    def client(self) -> MagnetoClient:
        """Another client of the same store (closing it leaves the store open)."""
        app = self.api.client.transport.app
        return MagnetoClient(None, self.api.project, InProcessTransport(app))

    def validate(self) -> Validation:
        client = self.client()
        try:
            return validate(Reader(client))
        finally:
            client.close()

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        """Every item of every table of the design, as stored, but for ``version``: a
        compensation moves it on (``MagnetoCore.restore``), no reader sees it."""
        tables = {}
        for table in self.api.design.tables:
            items: list[dict[str, Any]] = []
            start = None
            while True:
                answer = self.api.client.scan(table.name, limit=1000, exclusive_start_key=start)
                items.extend(answer.get("items", []))
                start = answer.get("last_evaluated_key")
                if not start:
                    break
            tables[table.name] = [
                {name: value for name, value in item.items() if name != VERSION} for item in items
            ]
        return tables

    def close(self) -> None:
        self.api.close()


def prepare(store: Store, case: Case) -> tuple[Any, ...]:
    """Make the objects the case's call works on; its arguments."""
    return case[3](store.api, store.seeded)


def call(store: Store, case: Case, arguments: tuple[Any, ...]) -> Any:
    function, _, context, _ = case
    return getattr(store.api, function)(context, *arguments)


@functools.cache
def write_counts(design: str = "seed") -> tuple[int, ...]:
    """The write requests each case's call sends, counted on a seeded store."""
    store = Store.open(design)
    writes = 0

    def count(stats: Any) -> None:
        nonlocal writes
        if stats.operation in WRITE_OPS and current_call() is not None:
            writes += 1

    counts = []
    try:
        for function, _case, context, prepare in CASES:
            arguments = prepare(store.api, store.seeded)
            writes = 0
            store.api.client.hooks.append(count)
            try:
                getattr(store.api, function)(context, *arguments)
            finally:
                store.api.client.hooks.remove(count)
            counts.append(writes)
    finally:
        store.close()
    return tuple(counts)


def multi_write_positions(design: str = "seed") -> list[tuple[Case, int]]:
    """(case, write position) of every write of every case that writes twice or more."""
    return [
        (case, position)
        for case, writes in zip(CASES, write_counts(design), strict=True)
        if writes >= 2
        for position in range(1, writes + 1)
    ]


_KIND = re.compile(r"`([a-z_]+):(orphan|missing|stale)`")
_FUNCTION = re.compile(r"`([a-z_]+)`")


@functools.cache
def documented_crash_states() -> dict[str, frozenset[tuple[str, str]]]:
    """function -> the (pair, finding class) a crash of it may leave, as the design
    document's table says (its first column names the functions, its last the findings,
    written `pair:class`)."""
    text = DESIGN_DOC.read_text()
    section = text[text.index(CRASH_SECTION) :]
    end = section.find("\n#", len(CRASH_SECTION))
    section = section[: end if end > 0 else None]
    states: dict[str, set[tuple[str, str]]] = {}
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        kinds = set(_KIND.findall(cells[-1]))
        for function in _FUNCTION.findall(cells[0]):
            states.setdefault(function, set()).update(kinds)
    return {function: frozenset(kinds) for function, kinds in states.items()}
