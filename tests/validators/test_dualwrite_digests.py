"""The digest path of the dual-write validation finds exactly what the whole comparison does.

A store of a few thousand items (buckets hold several entries each) gets every
corruption of ``test_dualwrite_checks`` at once, plus the findings a check makes
item by item (a property item whose pair is not its key, an emptied set, a map
entry whose row another item owns); ``validate`` by digests and without them must
then give the same findings, in the same order, with the same values and counts. The
``improved`` design's pairs (glance maps of copies; sorted indexes, compared whole)
likewise, with an item of each pair's second copy deleted and a ghost id in each set.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from cinderdb.magneto.designs import ALL_TABLES as TABLE_BY_NAME
from cinderdb.magneto.designs import parse_design
from tests.validators.corruptions_support import CORRUPTIONS, GHOST
from tests.validators.dualwrite_support import TINY, Store, loaded_store
from validators.dualwrite import Validation, validate
from validators.findings import MISSING, ORPHAN, STALE
from validators.pairs import base
from validators.pairs.base import BUCKETS
from validators.reader import Reader, open_client

#: Enough items that the digests agree on most buckets and differ on a few.
LARGER = dataclasses.replace(TINY, volumes=1500, projects=3)


@pytest.fixture(name="store", scope="module")
def larger_store(magnetodb_server_url: str) -> Iterator[Store]:
    with loaded_store(magnetodb_server_url, LARGER, "d") as store:
        yield store


def _validate(store: Store, *, digests: bool) -> tuple[Validation, Reader]:
    reader = Reader(open_client(store.url))
    try:
        return validate(reader, digests=digests), reader
    finally:
        reader.client.close()


def _facts(validation: Validation) -> list[tuple[Any, ...]]:
    return [
        (f.check, f.cls, f.table, f.key, f.field, f.expected, f.actual) for f in validation.findings
    ]


def _counts(validation: Validation) -> list[tuple[Any, ...]]:
    return [(s.name, s.checked, s.missing, s.orphan, s.stale) for s in validation.summaries]


def test_a_clean_store_is_one_sweep_holding_no_entries(store: Store) -> None:
    exact, exact_reader = _validate(store, digests=False)
    digested, reader = _validate(store, digests=True)
    assert exact.ok
    assert digested.ok, digested.findings
    assert _counts(digested) == _counts(exact)
    assert reader.requests == exact_reader.requests  # no second sweep
    index = digested.check("volumes_by_project")
    assert index.expected == ([], [])  # folded away page by page
    assert index.actual == ([], [])


def _extra_findings(client: Any, store: Store) -> list[tuple[str, str]]:
    """Findings made item by item, and a map entry whose row another item owns."""
    client.put_item(  # a property item whose pair is not the one it is keyed by
        "volume_metadata",
        {
            "property": {"S": '["digest","test"]'},
            "key": {"S": "other"},
            "value": {"S": "pair"},
            "volume_ids": {"SS": ["dead0000-0000-4000-8000-000000000001"]},
        },
    )
    client.put_item(  # an emptied property item: nothing calls for it
        "volume_admin_metadata",
        {"property": {"S": '["digest","empty"]'}, "key": {"S": "digest"}, "value": {"S": "empty"}},
    )
    owner, other = [v for v in store.data.volumes if v["attachments"] and not v["deleted"]][-2:]
    row = next(a for a in owner["attachments"] if not a["deleted"])
    listed = client.get_item("volumes", {"id": {"S": owner["id"]}})["item"]
    encoded = listed["volume_attachment"]["SSM"][row["id"]]
    client.update_item(
        "volumes",
        {"id": {"S": other["id"]}},
        {"volume_attachment": {"action": "PUT", "value": {"SSM": {row["id"]: encoded}}}},
    )
    return [("volume_metadata", STALE), ("volume_admin_metadata", ORPHAN)]


@pytest.fixture(name="buckets", params=[BUCKETS, 64])
def buckets_fixture(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """The default buckets (about one entry each here), and few (dozens of entries each:
    a diverging bucket's agreeing entries are read again and must not be findings)."""
    monkeypatch.setattr(base, "BUCKETS", request.param)
    return request.param


@pytest.fixture(name="corrupted", scope="module")
def corrupted_fixture(store: Store) -> list[tuple[str, str]]:
    """Every corruption at once (the pair and class of the finding each gives alone)."""
    client = store.client()
    try:
        wanted = [
            (want["check"], want["cls"])
            for want in (corrupt(client, store) for corrupt in CORRUPTIONS.values())
        ]
        wanted += _extra_findings(client, store)
    finally:
        client.close()
    return wanted


def test_every_divergence_is_found_exactly_by_the_digests(
    store: Store, corrupted: list[tuple[str, str]], buckets: int
) -> None:
    exact, exact_reader = _validate(store, digests=False)
    digested, reader = _validate(store, digests=True)
    assert _facts(digested) == _facts(exact)
    assert _counts(digested) == _counts(exact)
    # (some corruptions hit the same item, the later one's class is found)
    found = {f.check for f in digested.findings}
    assert {check for check, _ in corrupted} <= found
    assert {MISSING, ORPHAN, STALE} <= {f.cls for f in digested.findings}
    assert reader.requests > exact_reader.requests  # the diverging buckets read again


@pytest.fixture(name="improved", scope="module")
def improved_store(magnetodb_server_url: str) -> Iterator[Store]:
    """LARGER on the ``improved`` design (glance copies, sorted indexes...), with the last
    of the first items of each pair's second copy deleted and a ghost id in the first
    set of each inverted table."""
    with loaded_store(magnetodb_server_url, LARGER, "i", "improved") as store:
        client = open_client(store.url)
        try:
            for pair in parse_design("improved").pairs:
                table = TABLE_BY_NAME[pair.target.partition(".")[0]]
                items = client.scan(table.name, limit=3).get("items", [])
                if not items:
                    continue
                key = {name: items[-1][name] for name in table.key_attributes()}
                client.delete_item(table.name, key)
                ids = pair.params.get("ids_attribute")
                if ids and ids in items[0]:
                    ghost = {"action": "ADD", "value": {"SS": [GHOST]}}
                    first = {name: items[0][name] for name in table.key_attributes()}
                    client.update_item(table.name, first, {ids: ghost})
            yield store
        finally:
            client.close()


def test_the_improved_designs_pairs_are_found_exactly_by_the_digests(
    improved: Store, buckets: int
) -> None:
    exact, _ = _validate(improved, digests=False)
    digested, _ = _validate(improved, digests=True)
    assert _facts(digested) == _facts(exact)
    assert _counts(digested) == _counts(exact)
    assert {MISSING, ORPHAN} <= {f.cls for f in digested.findings}
    assert {"volume_glance_map", "volumes_by_project_size"} <= {f.check for f in digested.findings}
