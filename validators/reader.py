"""Reading the MagnetoDB tables a validator compares: paged scans, in parallel, projected.

A sweep reads each table once, whatever number of pairs use it, asking only
for the attributes those pairs compare (``attributes_to_get``), in large
pages; several tables are read at once by a few threads, so the server works
on the next page while this process compares the last one (pt-table-checksum
reads chunk by chunk for the same reason). Pages are handed, in arrival
order, to one consumer on the calling thread: the comparison itself needs no
locks.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cinderdb.magneto.core import key_of, read_design
from cinderdb.magneto.core import open_client as open_magneto_client
from cinderdb.magneto.designs import ALL_TABLES as TABLE_BY_NAME
from cinderdb.magneto.designs import Design, parse_design
from cinderdb.magneto.keys import decode_item, decode_items, projection

Wire = dict[str, Any]
#: Items per scan page: big pages, few round trips (a volume page is ~1 MB projected).
PAGE_SIZE = 2500
#: Items per page of an inverted table: each holds a property's set of ids (at 1M volumes
#: volume_metadata's 240 items hold 3M ids: one page of them would be ~1 GB decoded).
INVERTED_PAGE_SIZE = 16
#: Scans running at once (the server's workers do the rest).
WORKERS = 4
#: Ranges a big base table is read in at once (one per server worker).
SPLITS = 2
#: Pages read ahead of the consumer at most (decoded: a volume page is ~10 MB of objects).
QUEUED = 8
#: Keys per batch_get_item.
BATCH_GET_SIZE = 100

Sink = Callable[[str, list[Wire], float], None]


def store_design(client: Any) -> Design:
    """The design the store holds (its recorded name; the seed's for a store without one):
    the pairs to check are that design's."""
    return parse_design(read_design(client))


def open_client(url: str) -> Any:
    """A MagnetoDB client for a backend URL (``magnetodb://HOST:PORT/PROJECT`` or
    ``magnetodb+inproc:///PROJECT?data_dir=D``)."""
    return open_magneto_client(url)


class Reader:
    """Scans and batch gets for the validators, over one client."""

    def __init__(
        self,
        client: Any,
        page_size: int = PAGE_SIZE,
        workers: int = WORKERS,
        splits: int = SPLITS,
    ) -> None:
        self.client = client
        self.page_size = page_size
        self.workers = workers
        self.splits = splits
        self.requests = 0
        self.items = 0

    def pages(
        self,
        table: str,
        attributes: Sequence[str] | None = None,
        after: str | None = None,
        until: str | None = None,
    ) -> Iterator[list[Wire]]:
        """The items of ``table`` page by page (all attributes when ``attributes`` is None);
        ``after``/``until`` bound a table keyed by one string to the hash keys in
        ``(after, until]`` (the server stores keys in string order)."""
        spec = TABLE_BY_NAME[table]
        start: Wire | None = {spec.hash_key: {"S": after}} if after is not None else None
        names = list(attributes) if attributes is not None else None
        if names is not None and spec.hash_key not in names:
            names.append(spec.hash_key)
        while True:
            answer = self.client.scan(
                table,
                attributes_to_get=projection(spec, names),
                limit=self.page_size if spec.role != "inverted" else INVERTED_PAGE_SIZE,
                exclusive_start_key=start,
            )
            self.requests += 1
            items = answer.get("items", [])
            start = answer.get("last_evaluated_key")
            hash_key = spec.hash_key
            if until is not None and items and items[-1][hash_key]["S"] > until:
                items = [item for item in items if item[hash_key]["S"] <= until]
                start = None
            self.items += len(items)
            yield decode_items(spec, items)
            if not start:
                return

    def sweep(self, wants: Mapping[str, Sequence[str] | None], sink: Sink) -> None:
        """Scan every table of ``wants`` (``table -> attributes``), several at once; call
        ``sink(table, items, read_at)`` on this thread for each page, in arrival order.
        The largest tables start first, so the last to finish is not a big one."""
        pages: queue.Queue[tuple[str, list[Wire], float] | BaseException | None] = queue.Queue(
            maxsize=QUEUED
        )
        jobs = [
            (table, bounds)
            for table in sorted(wants, key=_size_rank)
            for bounds in self.ranges(table)
        ]
        stop = threading.Event()

        def read(table: str, bounds: tuple[str | None, str | None]) -> None:
            try:
                for items in self.pages(table, wants[table], *bounds):
                    if stop.is_set():
                        return
                    pages.put((table, items, time.time()))
            except BaseException as error:  # handed to the consumer, raised there
                pages.put(error)
            finally:
                pages.put(None)

        with ThreadPoolExecutor(max(1, min(self.workers, len(jobs)))) as pool:
            for table, bounds in jobs:
                pool.submit(read, table, bounds)
            running = len(jobs)
            try:
                while running:
                    entry = pages.get()
                    if entry is None:
                        running -= 1
                    elif isinstance(entry, BaseException):
                        raise entry
                    else:
                        sink(*entry)
            finally:
                stop.set()
                while running:  # unblock readers waiting on a full queue
                    if pages.get() is None:
                        running -= 1

    def ranges(self, table: str) -> list[tuple[str | None, str | None]]:
        """``(after, until)`` hash-key ranges a table is read in, in parallel: base tables
        keyed by one string (uuids: hex digits spread them evenly) are split in
        ``splits``; the others are read whole."""
        spec = TABLE_BY_NAME[table]
        if self.splits < 2 or spec.role != "base" or spec.range_key or spec.key_types:
            return [(None, None)]
        step = 16 // self.splits
        cuts = ["0123456789abcdef"[i * step] for i in range(1, self.splits)]
        bounds = [None, *cuts, None]  # ranges (None, c1], (c1, c2], ... (cn, None)
        return list(itertools.pairwise(bounds))

    def get_many(self, keys: Mapping[str, Iterable[tuple[Any, ...]]]) -> dict[str, list[Wire]]:
        """Items by key (``table -> key tuples``), in batch_get_item requests; missing keys
        are simply not returned."""
        found: dict[str, list[Wire]] = {table: [] for table in keys}
        pending = [
            (table, key_of(TABLE_BY_NAME[table], *key))
            for table, table_keys in keys.items()
            for key in dict.fromkeys(table_keys)
        ]
        while pending:
            chunk, pending = pending[:BATCH_GET_SIZE], pending[BATCH_GET_SIZE:]
            request: dict[str, dict[str, Any]] = {}
            for table, key in chunk:
                request.setdefault(table, {"keys": [], "consistent_read": True})["keys"].append(key)
            answer = self.client.batch_get_item(request)
            self.requests += 1
            for table, items in answer.get("responses", {}).items():
                spec = TABLE_BY_NAME[table]
                found[table].extend(decode_item(spec, item) for item in items)  # type: ignore[misc]
            for table, rest in answer.get("unprocessed_keys", {}).items():
                pending.extend((table, key) for key in rest.get("keys", []))
        return found


def _size_rank(table: str) -> int:
    """Base and inverted tables before index tables: they are the big ones."""
    role = TABLE_BY_NAME[table].role
    return {"base": 0, "inverted": 1, "index": 2}.get(role, 3)
