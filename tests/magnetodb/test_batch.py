"""BatchWriteItem and BatchGetItem: validation up front, unprocessed items, no cap."""

from __future__ import annotations

import pytest

from magnetodb.client import MagnetoClient
from magnetodb.errors import TableNotExistsException, ValidationError
from tests.magnetodb.support import N, S, failing_second_write, make_table


def put(h: str, **attrs: dict) -> dict:
    return {"put_request": {"item": {"h": S(h), **attrs}}}


def delete(h: str) -> dict:
    return {"delete_request": {"key": {"h": S(h)}}}


def test_batch_write_and_get(client: MagnetoClient) -> None:
    make_table(client, "one", range_key=None)
    make_table(client, "two", range_key=None)
    reqs = [put(f"k{i}", v=N(i)) for i in range(60)]  # more than one chunk of 25
    assert client.batch_write_item({"one": reqs, "two": [put("x")]}) == {"unprocessed_items": {}}
    assert client.scan("one")["count"] == 60
    got = client.batch_get_item(
        {
            "one": {"keys": [{"h": S(f"k{i}")} for i in (1, 2, 999)], "consistent_read": True},
            "two": {"keys": [{"h": S("x")}], "attributes_to_get": ["h"]},
        }
    )
    assert got["unprocessed_keys"] == {}
    assert sorted(i["v"]["N"] for i in got["responses"]["one"]) == ["1", "2"]  # missing omitted
    assert got["responses"]["two"] == [{"h": S("x")}]
    out = client.batch_write_item({"one": [delete("k1"), put("k2", v=N(-1)), delete("absent")]})
    assert out == {"unprocessed_items": {}}
    assert client.get_item("one", {"h": S("k1")}) == {}
    assert client.get_item("one", {"h": S("k2")})["item"]["v"] == N(-1)


def test_batch_keeps_lsis_in_step(client: MagnetoClient) -> None:
    make_table(client, "idx", extra={"d": "S"}, lsis=[("by_d", "d", {"projection_type": "ALL"})])
    client.batch_write_item(
        {
            "idx": [
                {"put_request": {"item": {"h": S("a"), "r": S(str(i)), "d": S(f"d{9 - i}")}}}
                for i in range(5)
            ]
        }
    )
    q = client.query(
        "idx",
        {"h": {"comparison_operator": "EQ", "attribute_value_list": [S("a")]}},
        index_name="by_d",
    )
    assert [i["r"]["S"] for i in q["items"]] == ["4", "3", "2", "1", "0"]
    client.batch_write_item({"idx": [{"delete_request": {"key": {"h": S("a"), "r": S("4")}}}]})
    q = client.query(
        "idx",
        {"h": {"comparison_operator": "EQ", "attribute_value_list": [S("a")]}},
        index_name="by_d",
    )
    assert q["count"] == 4


def test_batch_validation_fails_the_whole_call(client: MagnetoClient) -> None:
    make_table(client, "one", range_key=None)
    with pytest.raises(TableNotExistsException):
        client.batch_write_item({"one": [put("a")], "missing_tbl": [put("b")]})
    with pytest.raises(ValidationError, match="More than one operation requested"):
        client.batch_write_item({"one": [put("a"), delete("a")]})
    with pytest.raises(ValidationError):
        client.batch_write_item({"one": [put("a"), {"put_request": {"item": {"nokey": S("1")}}}]})
    # MagnetoDB ran every request a write request names: here two on one key
    with pytest.raises(ValidationError, match="More than one operation requested"):
        client.batch_write_item(
            {
                "one": [
                    {
                        "put_request": {"item": {"h": S("a")}},
                        "delete_request": {"key": {"h": S("a")}},
                    }
                ]
            }
        )
    with pytest.raises(ValidationError, match="Unsupported request type found: update"):
        client.batch_write_item({"one": [{"update": {"key": {"h": S("a")}}}]})
    with pytest.raises(ValidationError, match="Unexpected properties"):
        client.batch_write_item(
            {"one": [{"put_request": {"item": {"h": S("a")}, "time_to_live": 1}}]}
        )
    assert client.scan("one")["count"] == 0  # nothing written
    with pytest.raises(TableNotExistsException):
        client.batch_get_item({"missing_tbl": {"keys": [{"h": S("a")}]}})
    with pytest.raises(ValidationError):
        client.batch_get_item({"one": {"keys": [{"h": N(1)}]}})
    with pytest.raises(ValidationError, match="Required property 'request_items'"):
        client.request("batch_get_item", "POST", client.prefix + "/batch_get_item", {})
    # empty request_items: an empty answer, not MagnetoDB's 500
    assert client.batch_get_item({}) == {"responses": {}, "unprocessed_keys": {}}
    assert client.batch_write_item({}) == {"unprocessed_items": {}}


def test_failed_chunk_is_returned_unprocessed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inject an engine failure into the second write transaction only."""
    client, storage, real_write = failing_second_write(monkeypatch)
    reqs = [put(f"k{i:02d}") for i in range(60)]
    out = client.batch_write_item({"one": reqs})
    unprocessed = out["unprocessed_items"]["one"]
    assert unprocessed == reqs[25:50]
    monkeypatch.setattr(storage.engine, "write", real_write)
    assert client.scan("one")["count"] == 35
    assert client.batch_write_item({"one": unprocessed}) == {"unprocessed_items": {}}
    assert client.scan("one")["count"] == 60
