"""PutItem, GetItem, UpdateItem, DeleteItem: semantics, conditions, return values, types."""

from __future__ import annotations

import base64
import re

import pytest

from magnetodb.client import MagnetoClient
from magnetodb.errors import (
    ConditionalCheckFailedException,
    InvalidQueryParameter,
    TableNotExistsException,
    ValidationError,
)
from tests.magnetodb.support import N, S, make_table

KEY = {"h": S("f"), "r": S("a")}


@pytest.fixture
def tbl(client: MagnetoClient) -> str:
    make_table(client, "items", extra={"declared": "N"})
    return "items"


def test_put_get_round_trip_all_types(client: MagnetoClient, tbl: str) -> None:
    b = base64.b64encode(b"\x00\xff").decode()
    item = {
        **KEY,
        "s": S(""),
        "n": N(0),
        "declared": N(0),
        "b": {"B": b},
        "ss": {"SS": ["y", "x"]},
        "ns": {"NS": ["2", "10"]},
        "bs": {"BS": [b]},
        "empty": {"SS": []},
        **{
            f"m_{x}{y}": {
                f"{x}{y}M": {{"S": "k", "N": "1", "B": b}[x]: {"S": "v", "N": "2", "B": b}[y]}
            }
            for x in "SNB"
            for y in "SNB"
        },
    }
    assert client.put_item(tbl, item) == {}
    got = client.get_item(tbl, KEY)["item"]
    # falsy values come back (anomaly 1 fixed); sets come back sorted
    assert got["n"] == {"N": "0"}
    assert got["declared"] == {"N": "0"}
    assert got["s"] == {"S": ""}
    assert got["ss"] == {"SS": ["x", "y"]}
    assert got["ns"] == {"NS": ["2", "10"]}
    assert got["empty"] == {"SS": []}
    assert got == {**item, "ss": {"SS": ["x", "y"]}}


def test_get_missing_item_is_empty_object(client: MagnetoClient, tbl: str) -> None:
    assert client.get_item(tbl, {"h": S("nope"), "r": S("x")}) == {}


def test_get_attributes_to_get_and_consistent_read(client: MagnetoClient, tbl: str) -> None:
    client.put_item(tbl, {**KEY, "a": S("1"), "b": S("2")})
    got = client.get_item(tbl, KEY, attributes_to_get=["b", "missing"], consistent_read=True)
    assert got == {"item": {"b": S("2")}}  # key attributes are not added


def test_put_replaces_whole_item(client: MagnetoClient, tbl: str) -> None:
    client.put_item(tbl, {**KEY, "a": S("1")})
    client.put_item(tbl, {**KEY, "b": S("2")})
    assert client.get_item(tbl, KEY)["item"] == {**KEY, "b": S("2")}


def test_numbers_compare_by_value(client: MagnetoClient, tbl: str) -> None:
    client.put_item(tbl, {**KEY, "v": N("1.0")})
    # "1" equals "1.0": no byte-wise JSON comparison
    client.put_item(tbl, {**KEY, "v": N("2")}, expected={"v": {"value": N("1")}})
    assert client.get_item(tbl, KEY)["item"]["v"] == N("2")
    # and N keys are values too: "1.0" and "1" are the same key
    make_table(client, "numkeys", hash_key=("h", "N"), range_key=None)
    client.put_item("numkeys", {"h": N("1.0"), "x": S("a")})
    assert client.get_item("numkeys", {"h": N("1")})["item"]["x"] == S("a")


def test_put_expected_conditions(client: MagnetoClient, tbl: str) -> None:
    # insert-if-absent on hash AND range together is allowed (MagnetoDB gave a 400)
    new = {"h": {"exists": False}, "r": {"exists": False}}
    client.put_item(tbl, {**KEY, "v": N(1)}, expected=new)
    with pytest.raises(ConditionalCheckFailedException) as err:
        client.put_item(tbl, {**KEY, "v": N(2)}, expected=new)
    assert err.value.status == 400
    assert err.value.message == "The conditional request failed"
    client.put_item(tbl, {**KEY, "v": N(3)}, expected={"v": {"value": N(1)}, "h": {"exists": True}})
    with pytest.raises(ConditionalCheckFailedException):
        client.put_item(tbl, {**KEY, "v": N(4)}, expected={"wrong_key": {"value": N(3)}})
    with pytest.raises(ConditionalCheckFailedException):
        client.put_item(tbl, {**KEY, "v": N(4)}, expected={"v": {"value": S("3")}})  # type differs
    client.put_item(tbl, {**KEY, "v": N(5)}, expected={"absent": {"exists": False}})
    assert client.get_item(tbl, KEY)["item"]["v"] == N(5)
    with pytest.raises(ConditionalCheckFailedException):
        client.put_item(tbl, {"h": S("f"), "r": S("new")}, expected={"v": {"exists": True}})
    assert client.get_item(tbl, {"h": S("f"), "r": S("new")}) == {}


def test_put_return_values(client: MagnetoClient, tbl: str) -> None:
    # a new key: no old item, so MagnetoDB answered {} (`if old_item:`)
    assert client.put_item(tbl, {**KEY, "v": N(1)}, return_values="ALL_OLD") == {}
    assert client.put_item(tbl, {**KEY, "v": N(2)}, return_values="ALL_OLD") == {
        "attributes": {**KEY, "v": N(1)}
    }
    # ALL_NEW is honoured (anomaly 7 fixed)
    assert client.put_item(tbl, {**KEY, "v": N(3)}, return_values="ALL_NEW") == {
        "attributes": {**KEY, "v": N(3)}
    }
    assert client.put_item(tbl, {**KEY, "v": N(4)}, return_values="NONE") == {}
    with pytest.raises(ValidationError, match="Return values type 'UPDATED_OLD' isn't allowed"):
        client.put_item(tbl, {**KEY}, return_values="UPDATED_OLD")


def test_put_type_and_key_checks(client: MagnetoClient, tbl: str) -> None:
    with pytest.raises(ValidationError, match="doesn't match table schema"):
        client.put_item(tbl, {**KEY, "declared": S("x")})
    with pytest.raises(ValidationError, match="Couldn't find expected key attribute 'r'"):
        client.put_item(tbl, {"h": S("x")})
    with pytest.raises(ValidationError):
        client.put_item(tbl, {"h": N(1), "r": S("x")})
    with pytest.raises(ValidationError, match="Wrong attribute name"):
        client.put_item(tbl, {**KEY, "bad name": S("x")})
    with pytest.raises(TableNotExistsException):
        client.put_item("missing_table", {**KEY})


def test_item_size_limit(client: MagnetoClient, tbl: str) -> None:
    with pytest.raises(ValidationError, match="maximum allowed size"):
        client.put_item(tbl, {**KEY, "big": S("x" * (16 * 1024 * 1024 + 1))})
    assert client.get_item(tbl, KEY) == {}
    # Far beyond MagnetoDB's documented (never enforced) 64 KiB: the seed's inverted
    # tables hold sets of tens of thousands of ids.
    client.put_item(tbl, {**KEY, "ok": S("x" * 1_000_000)})
    assert len(client.get_item(tbl, KEY)["item"]["ok"]["S"]) == 1_000_000


def test_key_size_limit_is_the_same_on_every_engine(client: MagnetoClient, tbl: str) -> None:
    too_long = {"h": S("h" * 600), "r": S("a")}
    with pytest.raises(ValidationError, match="at most 511"):
        client.put_item(tbl, too_long)
    with pytest.raises(ValidationError, match="at most 511"):
        client.get_item(tbl, too_long)
    long_enough = {"h": S("h" * 400), "r": S("a")}
    client.put_item(tbl, long_enough)
    assert client.get_item(tbl, long_enough)["item"]["h"] == long_enough["h"]


def test_get_key_validation(client: MagnetoClient, tbl: str) -> None:
    for key in ({"h": S("f")}, {**KEY, "x": S("1")}, {"h": S("f"), "zz": S("a")}):
        with pytest.raises(ValidationError, match="doesn't match expected key attributes"):
            client.get_item(tbl, key)
    with pytest.raises(ValidationError, match="not a scalar"):
        client.get_item(tbl, {"h": {"SS": ["f"]}, "r": S("a")})
    with pytest.raises(ValidationError):
        client.get_item(tbl, {"h": N(1), "r": S("a")})


def test_update_actions(client: MagnetoClient, tbl: str) -> None:
    client.put_item(
        tbl,
        {
            **KEY,
            "cnt": N(1),
            "tags": {"SS": ["a", "b"]},
            "m": {"SSM": {"k1": "v1", "k2": "v2"}},
            "gone": S("x"),
        },
    )
    client.update_item(
        tbl,
        KEY,
        {
            "cnt": {"action": "ADD", "value": N("2.5")},
            "tags": {"action": "ADD", "value": {"SS": ["c"]}},
            "m": {"action": "ADD", "value": {"SSM": {"k3": "v3", "k1": "new"}}},
            "gone": {"action": "DELETE"},
            "put": {"action": "PUT", "value": S("p")},
            "missing_del": {"action": "DELETE", "value": {"SS": ["zz"]}},
        },
    )
    got = client.get_item(tbl, KEY)["item"]
    assert got["cnt"] == N("3.5")
    assert got["tags"] == {"SS": ["a", "b", "c"]}
    assert got["m"] == {"SSM": {"k1": "new", "k2": "v2", "k3": "v3"}}
    assert "gone" not in got
    assert "missing_del" not in got
    assert got["put"] == S("p")
    client.update_item(
        tbl,
        KEY,
        {
            "tags": {"action": "DELETE", "value": {"SS": ["a", "zz"]}},
            "m": {"action": "DELETE", "value": {"SS": ["k1"]}},
        },
    )
    got = client.get_item(tbl, KEY)["item"]
    assert got["tags"] == {"SS": ["b", "c"]}
    assert got["m"] == {"SSM": {"k2": "v2", "k3": "v3"}}
    client.update_item(tbl, KEY, {"tags": {"action": "DELETE", "value": {"SS": ["b", "c"]}}})
    assert "tags" not in client.get_item(tbl, KEY)["item"]


def test_update_errors(client: MagnetoClient, tbl: str) -> None:
    client.put_item(tbl, {**KEY, "s": S("x"), "n": N(1)})
    with pytest.raises(
        InvalidQueryParameter, match="ADD allows collections or numbers only"
    ) as err:
        client.update_item(tbl, KEY, {"s": {"action": "ADD", "value": S("y")}})
    assert err.value.status == 400
    with pytest.raises(InvalidQueryParameter, match=r"^Wrong type for n$"):
        client.update_item(tbl, KEY, {"n": {"action": "ADD", "value": {"NS": ["1"]}}})
    with pytest.raises(ValidationError, match="can't be updated"):
        client.update_item(tbl, KEY, {"r": {"action": "PUT", "value": S("z")}})
    with pytest.raises(ValidationError, match="doesn't match table schema"):
        client.update_item(tbl, KEY, {"declared": {"action": "PUT", "value": S("z")}})
    with pytest.raises(ValidationError, match="needs a value"):
        client.update_item(tbl, KEY, {"x": {"action": "PUT"}})
    with pytest.raises(ValidationError, match="Update action 'NOPE' isn't allowed"):
        client.update_item(tbl, KEY, {"x": {"action": "NOPE", "value": S("1")}})
    with pytest.raises(ValidationError, match="Number overflow"):
        client.update_item(
            tbl,
            KEY,
            {"n": {"action": "ADD", "value": N("0.0000000000000000000000000000000000000001")}},
        )
    with pytest.raises(ValidationError, match="Required property 'attribute_updates'"):
        client.request("update_item", "POST", client._table_path(tbl, "update_item"), {"key": KEY})
    with pytest.raises(ValidationError, match="Unexpected properties"):
        client.request(
            "update_item",
            "POST",
            client._table_path(tbl, "update_item"),
            {"key": KEY, "attribute_updates": {}, "time_to_live": 5},
        )
    assert client.get_item(tbl, KEY)["item"] == {**KEY, "s": S("x"), "n": N(1)}


def test_update_missing_item(client: MagnetoClient, tbl: str) -> None:
    # only DELETE actions: nothing is created
    assert client.update_item(tbl, KEY, {"x": {"action": "DELETE"}}, return_values="ALL_OLD") == {
        "attributes": {}
    }
    assert client.get_item(tbl, KEY) == {}
    # ADD on a missing item just sets the value
    client.update_item(tbl, KEY, {"cnt": {"action": "ADD", "value": N(5)}})
    assert client.get_item(tbl, KEY)["item"] == {**KEY, "cnt": N(5)}


def test_update_return_values(client: MagnetoClient, tbl: str) -> None:
    client.put_item(tbl, {**KEY, "a": N(1), "b": S("x")})
    upd = {"a": {"action": "ADD", "value": N(1)}, "c": {"action": "PUT", "value": S("c")}}
    assert client.update_item(tbl, KEY, upd, return_values="UPDATED_OLD") == {
        "attributes": {"a": N(1)}
    }
    assert client.update_item(tbl, KEY, upd, return_values="UPDATED_NEW") == {
        "attributes": {"a": N(3), "c": S("c")}
    }
    assert client.update_item(tbl, KEY, upd, return_values="ALL_OLD") == {
        "attributes": {**KEY, "a": N(3), "b": S("x"), "c": S("c")}
    }
    assert client.update_item(tbl, KEY, upd, return_values="ALL_NEW") == {
        "attributes": {**KEY, "a": N(5), "b": S("x"), "c": S("c")}
    }
    assert client.update_item(tbl, KEY, upd) == {}


def test_update_expected(client: MagnetoClient, tbl: str) -> None:
    client.put_item(tbl, {**KEY, "ver": N(1)})
    client.update_item(
        tbl, KEY, {"ver": {"action": "PUT", "value": N(2)}}, expected={"ver": {"value": N(1)}}
    )
    with pytest.raises(ConditionalCheckFailedException):
        client.update_item(
            tbl, KEY, {"ver": {"action": "PUT", "value": N(3)}}, expected={"ver": {"value": N(1)}}
        )
    with pytest.raises(ConditionalCheckFailedException):
        client.update_item(
            tbl,
            {"h": S("f"), "r": S("none")},
            {"x": {"action": "PUT", "value": N(1)}},
            expected={"h": {"exists": True}},
        )
    assert client.get_item(tbl, {"h": S("f"), "r": S("none")}) == {}
    assert client.get_item(tbl, KEY)["item"]["ver"] == N(2)


def test_expected_validation(client: MagnetoClient, tbl: str) -> None:
    with pytest.raises(
        ValidationError,
        match=re.escape(
            """Can't recognize attribute expected condition format: '{"exists": true, "value": """
        ),
    ):
        client.put_item(tbl, KEY, expected={"a": {"exists": True, "value": N(1)}})
    with pytest.raises(
        ValidationError, match="Can't recognize attribute expected condition format"
    ):
        client.put_item(tbl, KEY, expected={"a": {}})
    with pytest.raises(ValidationError, match="Unsupported condition type found: equals"):
        client.put_item(tbl, KEY, expected={"a": {"equals": N(1)}})
    with pytest.raises(
        ValidationError,
        match=re.escape("""Wrong 'exists' type. Boolean is expected, but "yes" found"""),
    ):
        client.put_item(tbl, KEY, expected={"a": {"exists": "yes"}})


def test_delete_item(client: MagnetoClient, tbl: str) -> None:
    assert client.delete_item(tbl, KEY) == {}  # missing item, no condition: fine
    client.put_item(tbl, {**KEY, "a": S("1")})
    with pytest.raises(ConditionalCheckFailedException):
        client.delete_item(tbl, KEY, expected={"a": {"value": S("2")}})
    # ALL_OLD returns the whole deleted item (anomaly 7 fixed), not just the key
    assert client.delete_item(
        tbl, KEY, expected={"a": {"exists": True}}, return_values="ALL_OLD"
    ) == {"attributes": {**KEY, "a": S("1")}}
    assert client.get_item(tbl, KEY) == {}
    assert client.delete_item(tbl, KEY, return_values="ALL_OLD") == {"attributes": {}}
    with pytest.raises(ValidationError, match="Return values type 'ALL_NEW' isn't allowed"):
        client.delete_item(tbl, KEY, return_values="ALL_NEW")
    with pytest.raises(ValidationError, match="Unexpected properties"):
        client.request(
            "delete_item",
            "POST",
            client._table_path(tbl, "delete_item"),
            {"key": KEY, "returnValues": "ALL_OLD"},
        )


def test_put_time_to_live_is_accepted(client: MagnetoClient, tbl: str) -> None:
    client.request(
        "put_item", "POST", client._table_path(tbl, "put_item"), {"item": KEY, "time_to_live": 10}
    )
    assert client.get_item(tbl, KEY)["item"] == KEY
