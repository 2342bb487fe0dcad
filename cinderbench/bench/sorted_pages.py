"""``cinderbench bench sorted-pages``: what a page costs with and without the sorted
project indexes (option ``sorted_project_index``).

Loads the same generated dataset (default: 5,000 volumes in 20 projects, the
``compare`` default) into two in-process MagnetoDB stores, the seed's design and
``seed+sorted_project_index``, and prints, for the ``volume_get_all_by_project``
calls Cinder's list sends (a page sorted by the default or another key, the
filters of ``cinder list``), the requests and items each design reads (the
client's hooks: deterministic counts, not times) and the volumes returned,
which are the same on both.
"""

from __future__ import annotations

from typing import Any

from bench.drive.arguments import POSITIVE_INT
from cinderbench.checks import ArgumentParser

DESIGNS = ("seed", "seed+sorted_project_index")
LIVE = {"no_migration_targets": True}


def _cases(data: Any, project: str) -> dict[str, tuple[Any, ...]]:
    mine = [v for v in data.volumes if v["project_id"] == project]
    key, value = next(iter(next(v["metadata"] for v in mine if v["metadata"]).items()))
    name = next(v["display_name"] for v in mine if v["display_name"])
    newest = ["created_at"], ["desc"]
    return {
        "page of 20, created_at desc": (None, 20, *newest, LIVE),
        "page of 20, display_name asc": (None, 20, ["display_name"], ["asc"], LIVE),
        "page of 20, updated_at asc": (None, 20, ["updated_at"], ["asc"], LIVE),
        "status=available": (None, 1000, *newest, {**LIVE, "status": "available"}),
        "display_name=NAME": (None, 1000, *newest, {**LIVE, "display_name": name}),
        "metadata k=v": (None, 1000, *newest, {**LIVE, "metadata": {key: value}}),
        "no filter": (None, 1000, *newest, LIVE),
    }


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="cinderbench bench sorted-pages", description=__doc__)
    parser.add_argument("--volumes", type=POSITIVE_INT, default=5000, help="volumes (5000)")
    parser.add_argument("--projects", type=POSITIVE_INT, default=20, help="projects (20)")
    parser.add_argument("--seed", type=int, default=42, help="dataset seed (42)")
    args = parser.parse_args(argv)

    from bench.workload.datasets import DatasetSpec, build_dataset, load_dataset
    from cinderdb import get_admin_context, open_backend

    spec = DatasetSpec(volumes=args.volumes, projects=args.projects, seed=args.seed)
    data = build_dataset(spec).data
    admin = get_admin_context()
    project = data.volumes[0]["project_id"]
    cases = _cases(data, project)
    counts: dict[str, list[tuple[int, int, list[str]]]] = {label: [] for label in cases}
    for design in DESIGNS:
        api = open_backend(f"magnetodb+inproc:///pages?design={design}")
        try:
            load_dataset(api, data, quiet=True)
            for label, call in cases.items():
                seen = {"requests": 0, "items": 0}

                def hook(stats: Any, seen: dict[str, int] = seen) -> None:
                    seen["requests"] += 1
                    seen["items"] += stats.items_read

                api.client.hooks.append(hook)
                try:
                    page = api.volume_get_all_by_project(admin, project, *call)
                finally:
                    api.client.hooks.remove(hook)
                ids = [volume["id"] for volume in page]
                counts[label].append((seen["requests"], seen["items"], ids))
        finally:
            api.close()
    size = sum(1 for v in data.volumes if v["project_id"] == project)
    print(f"one project of {size} volumes ({args.volumes} volumes, {args.projects} projects)")
    head = ("volume_get_all_by_project", "seed req/items", "sorted req/items", "volumes")
    print(f"{head[0]:<30}{head[1]:>16}{head[2]:>18}{head[3]:>9}")
    for label, ((r1, i1, ids1), (r2, i2, ids2)) in counts.items():
        if ids1 != ids2:
            print(f"{label}: the designs answered differently")
            return 1
        print(f"{label:<30}{f'{r1} / {i1}':>16}{f'{r2} / {i2}':>18}{len(ids1):>9}")
    return 0
