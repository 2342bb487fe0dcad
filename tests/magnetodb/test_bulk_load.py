"""The streaming bulk load (MagnetoDB's port-8481 API, here a route of the data API):
newline-delimited items, the counts MagnetoDB answered, the first refused line stopping it."""

from __future__ import annotations

import orjson
import pytest

from magnetodb.client import MagnetoClient
from magnetodb.errors import MethodNotAllowed
from magnetodb.storage.tables import BULK_CHUNK
from tests.magnetodb.support import N, S, failing_second_write, make_table


def lines(*items: dict) -> bytes:
    return b"".join(orjson.dumps(item) + b"\n" for item in items)


def test_every_line_put_and_counted(client: MagnetoClient) -> None:
    make_table(client, "tbl", range_key=("r", "N"))
    body = lines(
        {"h": S("a"), "r": N(1), "v": {"SS": ["y", "x", "y"]}}, {"h": S("b"), "r": N("02.50")}
    )
    assert client.bulk_load("tbl", body) == {
        "read": 2,
        "processed": 2,
        "unprocessed": 0,
        "failed": 0,
        "last_item": '{"h":{"S":"b"},"r":{"N":"02.50"}}\n',
        "failed_items": {},
    }
    # stored canonical, as put_item stores them
    assert client.scan("tbl")["items"] == [
        {"h": S("a"), "r": N(1), "v": {"SS": ["x", "y"]}},
        {"h": S("b"), "r": N("2.5")},
    ]
    # the last line needs no newline; a line puts over an item as put_item does
    answer = client.bulk_load("tbl", b'{"h":{"S":"a"},"r":{"N":"1"}}')
    assert (answer["processed"], answer["last_item"]) == (1, '{"h":{"S":"a"},"r":{"N":"1"}}')
    assert client.get_item("tbl", {"h": S("a"), "r": N(1)})["item"] == {"h": S("a"), "r": N(1)}


def test_the_first_refused_line_stops_the_load(client: MagnetoClient) -> None:
    make_table(client, "tbl", range_key=None)
    good = lines({"h": S("a")}, {"h": S("b")})
    for bad, reason in (
        (b'{"h": {"S": "c"', "Can't parse item line as JSON"),
        (b'{"x": {"S": "c"}}', "Couldn't find expected key attribute 'h'"),
        (b'{"h": {"N": "1"}}', "doesn't match table schema"),
        (b'{"h": {"S": "c"}, "v": {"Q": "1"}}', "Attribute type 'Q' is not recognized"),
        (b"", "Can't parse item line as JSON"),  # a blank line is no item
    ):
        answer = client.bulk_load("tbl", good + bad + b"\n" + lines({"h": S("d")}, {"h": S("e")}))
        assert answer["read"] == 5
        assert (answer["processed"], answer["failed"], answer["unprocessed"]) == (2, 1, 2)
        assert answer["last_item"] == bad.decode() + "\n"  # the last line tried
        ((line, error),) = answer["failed_items"].items()
        assert line == bad.decode() + "\n"
        assert error.startswith("ValidationError(")
        assert reason in error
    assert sorted(i["h"]["S"] for i in client.scan("tbl")["items"]) == ["a", "b"]


def test_an_item_over_the_size_limit_is_refused(client: MagnetoClient) -> None:
    make_table(client, "tbl", range_key=None)
    big = {"h": S("big"), "v": S("x" * (16 * 1024 * 1024))}
    answer = client.bulk_load("tbl", lines({"h": S("a")}, big))
    assert (answer["processed"], answer["failed"], answer["unprocessed"]) == (1, 1, 0)
    assert "maximum allowed size" in next(iter(answer["failed_items"].values()))


def test_an_unknown_table_fails_the_first_line(client: MagnetoClient) -> None:
    answer = client.bulk_load("missing", lines({"h": S("a")}, {"h": S("b")}))
    assert (answer["read"], answer["processed"], answer["failed"], answer["unprocessed"]) == (
        2,
        0,
        1,
        1,
    )
    assert "TableNotExistsException" in next(iter(answer["failed_items"].values()))


def test_nothing_to_load_and_only_post(client: MagnetoClient) -> None:
    make_table(client, "tbl", range_key=None)
    assert client.bulk_load("tbl", b"") == {
        "read": 0,
        "processed": 0,
        "unprocessed": 0,
        "failed": 0,
        "last_item": None,
        "failed_items": {},
    }
    # nothing read, nothing checked: not even the table (MagnetoDB's loop never ran)
    assert client.bulk_load("missing", b"")["failed"] == 0
    with pytest.raises(MethodNotAllowed):
        client.request("bulk_load", "GET", client._table_path("tbl", "bulk_load"))


def test_index_entries_kept_in_step(client: MagnetoClient) -> None:
    make_table(client, "tbl", extra={"d": "S"}, lsis=[("by_d", "d", {"projection_type": "ALL"})])
    client.bulk_load("tbl", lines({"h": S("a"), "r": S("1"), "d": S("old")}))
    client.bulk_load(
        "tbl", lines({"h": S("a"), "r": S("1"), "d": S("new")}, {"h": S("a"), "r": S("2")})
    )
    a = {"h": {"comparison_operator": "EQ", "attribute_value_list": [S("a")]}}
    found = client.query("tbl", a, index_name="by_d")["items"]
    assert found == [{"h": S("a"), "r": S("1"), "d": S("new")}]


def test_a_transaction_the_engine_fails_fails_its_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    client, _, _ = failing_second_write(monkeypatch)
    count = 2 * BULK_CHUNK + 10
    answer = client.bulk_load("one", lines(*({"h": S(f"k{i:05d}")} for i in range(count))))
    assert (answer["processed"], answer["failed"], answer["unprocessed"]) == (
        count - BULK_CHUNK,
        BULK_CHUNK,
        0,
    )
    assert len(answer["failed_items"]) == BULK_CHUNK
    assert all("disk full" in error for error in answer["failed_items"].values())
    assert f'{{"h":{{"S":"k{BULK_CHUNK:05d}"}}}}\n' in answer["failed_items"]
    assert client.scan("one", limit=count)["count"] == count - BULK_CHUNK
