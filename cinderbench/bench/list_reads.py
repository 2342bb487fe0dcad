"""``cinderbench bench list-reads``: the items Cinder's list operations read, per DB API
call and design (what option ``glance_map`` does to ``volume_glance_metadata_get_all``).

Loads the same generated dataset (default: 5,000 volumes in 20 projects, the
``compare`` default) into in-process MagnetoDB stores, one per design, and runs
the DB calls of ``list``, ``list_paged`` and ``list_filtered``
(``bench/workload/catalog/listing.py``: the project's volumes as admin, then every
image property the user may see) for one project, printing the requests and
items each call reads (the client's hooks: deterministic counts, not times).
The answers must be the same on every design.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.drive.arguments import POSITIVE_INT
from cinderbench.checks import ArgumentParser

DESIGNS = ("seed", "seed+glance_map", "improved")
LIVE = {"no_migration_targets": True}
NEWEST = (["created_at"], ["desc"])
#: operation -> the volume_get_all_by_project arguments after the project
LISTS: dict[str, tuple[Any, ...]] = {
    "list": (None, 1000, *NEWEST, LIVE),
    "list_paged (page of 20)": (None, 20, *NEWEST, LIVE),
    "list_filtered (status)": (None, 1000, *NEWEST, {**LIVE, "status": "available"}),
}


def _counted(api: Any, call: Callable[..., Any], *args: Any) -> tuple[int, int, Any]:
    """(requests, items read, answer) of ``call(*args)``."""
    seen = {"requests": 0, "items": 0}

    def hook(stats: Any) -> None:
        seen["requests"] += 1
        seen["items"] += stats.items_read

    api.client.hooks.append(hook)
    try:
        answer = call(*args)
    finally:
        api.client.hooks.remove(hook)
    return seen["requests"], seen["items"], answer


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="cinderbench bench list-reads", description=__doc__)
    parser.add_argument("--volumes", type=POSITIVE_INT, default=5000, help="volumes (5000)")
    parser.add_argument("--projects", type=POSITIVE_INT, default=20, help="projects (20)")
    parser.add_argument("--seed", type=int, default=42, help="dataset seed (42)")
    args = parser.parse_args(argv)

    from bench.workload.datasets import DatasetSpec, build_dataset, load_dataset
    from cinderdb import RequestContext, open_backend

    data = build_dataset(
        DatasetSpec(volumes=args.volumes, projects=args.projects, seed=args.seed)
    ).data
    project = data.volumes[0]["project_id"]
    user = RequestContext(user_id="bench", project_id=project)
    admin = user.elevated()
    #: (operation, call) -> per design: (requests, items, answer)
    rows: dict[tuple[str, str], list[tuple[int, int, Any]]] = {}
    for design in DESIGNS:
        api = open_backend(f"magnetodb+inproc:///lists?design={design}")
        try:
            load_dataset(api, data, quiet=True)
            for label, list_args in LISTS.items():
                page = _counted(api, api.volume_get_all_by_project, admin, project, *list_args)
                glance = _counted(api, api.volume_glance_metadata_get_all, user)
                rows.setdefault((label, "volume_get_all_by_project"), []).append(page)
                rows.setdefault((label, "volume_glance_metadata_get_all"), []).append(glance)
        finally:
            api.close()
    size = sum(1 for v in data.volumes if v["project_id"] == project)
    print(f"one project of {size} volumes ({args.volumes} volumes, {args.projects} projects)")
    print(f"requests / items read by design: {', '.join(DESIGNS)}")
    for (label, function), per_design in rows.items():
        if any(answer != per_design[0][2] for _, _, answer in per_design):
            print(f"{label} {function}: the designs answered differently")
            return 1
        cells = "".join(f"{f'{r} / {i}':>14}" for r, i, _ in per_design)
        print(f"{label:<26}{function:<32}{cells}")
    return 0
