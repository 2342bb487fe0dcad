"""``cinderbench bench hot-sets``: the seed's hottest inverted item against option
``split_hot_sets``.

Loads the same generated dataset into two in-process MagnetoDB stores on LMDB
(temporary directories), one of the seed's design and one with
``split_hot_sets``, then prints for each: the items of ``volume_admin_metadata``
and the largest (bytes as the wire JSON, ids), and the service time of a
``volume_admin_metadata_update`` that flips ``readonly`` on a volume and back
(each flip adds the id to one property and removes it from the other: in the
seed, a rewrite of the item that holds most volume ids). The flips alternate
between the two stores, so the ratio holds on a noisy machine.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from typing import Any

import orjson

from bench.drive.arguments import POSITIVE_INT
from cinderbench.checks import ArgumentParser

DESIGNS = ("seed", "seed+split_hot_sets")
TABLE = "volume_admin_metadata"


def _largest(api: Any) -> tuple[int, int, int, str]:
    """(items, largest item's bytes, its ids, its property) of the admin metadata table."""
    largest = (0, 0, "")
    count = 0
    start = None
    while True:
        answer = api.client.scan(TABLE, limit=1000, exclusive_start_key=start)
        for item in answer.get("items", []):
            count += 1
            size = len(orjson.dumps(item))
            if size > largest[0]:
                ids = len(item.get("volume_ids", {}).get("SS", ()))
                largest = (size, ids, item["property"]["S"])
        start = answer.get("last_evaluated_key")
        if not start:
            return count, *largest


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="cinderbench bench hot-sets", description=__doc__)
    parser.add_argument("--volumes", type=POSITIVE_INT, default=20_000, help="volumes (20000)")
    parser.add_argument("--flips", type=POSITIVE_INT, default=100, help="readonly flips (100)")
    parser.add_argument("--seed", type=int, default=42, help="dataset seed (42)")
    args = parser.parse_args(argv)

    from bench.workload.datasets import DatasetSpec, build_dataset, load_dataset
    from cinderdb import get_admin_context, open_backend

    data = build_dataset(DatasetSpec(volumes=args.volumes, seed=args.seed)).data
    admin = get_admin_context()
    with tempfile.TemporaryDirectory(prefix="hot-sets-") as root:
        apis = {}
        for n, design in enumerate(DESIGNS):
            api = open_backend(f"magnetodb+inproc:///hot?data_dir={root}/{n}&design={design}")
            load_dataset(api, data, quiet=True)
            apis[design] = api
        try:
            volumes = [v["id"] for v in data.volumes if not v["deleted"]][: args.flips]
            times: dict[str, list[float]] = {design: [] for design in DESIGNS}
            for volume_id in volumes:
                for design, api in apis.items():
                    started = time.perf_counter()
                    api.volume_admin_metadata_update(admin, volume_id, {"readonly": "True"}, False)
                    api.volume_admin_metadata_update(admin, volume_id, {"readonly": "False"}, False)
                    times[design].append((time.perf_counter() - started) * 1000 / 2)
            print(f"{args.volumes} volumes, in-process LMDB, {len(volumes)} readonly flips")
            print(f"{'design':<22}{'items':>7}{'largest B':>11}{'its ids':>9}{'p50 ms':>8}")
            for design, api in apis.items():
                items, size, ids, prop = _largest(api)
                p50 = statistics.median(times[design])
                print(f"{design:<22}{items:>7}{size:>11}{ids:>9}{p50:>8.2f}  {prop}")
            seed, split = (statistics.median(times[d]) for d in DESIGNS)
            print(f"split / seed, median flip: {split / seed:.2f}")
        finally:
            for api in apis.values():
                api.close()
    return 0
