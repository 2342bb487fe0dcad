"""CreateTable, DescribeTable, ListTables (paging), DeleteTable: shapes and validation."""

from __future__ import annotations

import re
from typing import Any

import pytest

from magnetodb.client import MagnetoClient
from magnetodb.errors import (
    TableAlreadyExistsException,
    TableNotExistsException,
    ValidationError,
)
from tests.magnetodb.support import make_table

DESC_KEYS = {
    "attribute_definitions",
    "creation_date_time",
    "item_count",
    "key_schema",
    "table_id",
    "table_name",
    "table_status",
    "table_size_bytes",
    "links",
}


def test_create_describe_delete_shapes(client: MagnetoClient) -> None:
    created = make_table(
        client,
        "Thread",
        extra={"L": "S"},
        lsis=[("LastPostIndex", "L", {"projection_type": "KEYS_ONLY"})],
    )["table_description"]
    assert set(created) == DESC_KEYS | {"local_secondary_indexes"}
    assert created["table_status"] == "ACTIVE"  # SimpleStorageManager: synchronous
    assert created["item_count"] == 0
    assert created["table_size_bytes"] == 0
    assert created["key_schema"] == [
        {"key_type": "HASH", "attribute_name": "h"},
        {"key_type": "RANGE", "attribute_name": "r"},
    ]
    assert created["local_secondary_indexes"] == [
        {
            "index_name": "LastPostIndex",
            "key_schema": [
                {"key_type": "HASH", "attribute_name": "h"},
                {"key_type": "RANGE", "attribute_name": "L"},
            ],
            "projection": {"projection_type": "KEYS_ONLY"},
            "item_count": 0,
            "index_size_bytes": 0,
        }
    ]
    assert [link["rel"] for link in created["links"]] == ["self", "bookmark"]
    assert created["links"][0]["href"].endswith(f"/v1/data/{client.project}/tables/Thread")
    assert len(created["creation_date_time"]) >= 19  # str(datetime) in UTC

    described = client.describe_table("Thread")["table"]
    assert described["table_id"] == created["table_id"]
    assert set(described) == set(created)

    deleted = client.delete_table("Thread")["table_description"]
    assert deleted["table_status"] == "DELETING"
    with pytest.raises(TableNotExistsException) as err:
        client.describe_table("Thread")
    assert err.value.status == 404
    assert err.value.message == "Table 'Thread' does not exist"
    with pytest.raises(TableNotExistsException):
        client.delete_table("Thread")


def test_describe_without_indexes_has_no_lsi_key_but_delete_has(client: MagnetoClient) -> None:
    make_table(client, "plain", range_key=None)
    assert "local_secondary_indexes" not in client.describe_table("plain")["table"]
    assert client.delete_table("plain")["table_description"]["local_secondary_indexes"] == []


def test_duplicate_table(client: MagnetoClient) -> None:
    make_table(client, "dup")
    with pytest.raises(TableAlreadyExistsException) as err:
        make_table(client, "dup")
    assert err.value.status == 400


def test_recreated_table_is_empty(client: MagnetoClient) -> None:
    make_table(client, "again", range_key=None)
    client.put_item("again", {"h": {"S": "x"}})
    client.delete_table("again")
    make_table(client, "again", range_key=None)
    assert client.get_item("again", {"h": {"S": "x"}}) == {}
    assert client.scan("again")["count"] == 0


def test_list_tables_paging(client: MagnetoClient) -> None:
    names = ["tab_c", "tab_a", "tab_b", "tab_d", "tab_e"]
    for n in names:
        make_table(client, n, range_key=None)
    everything = client.list_tables()
    assert "last_evaluated_table_name" not in everything
    assert client.table_names(everything) == sorted(names)
    assert all(t["rel"] == "self" for t in everything["tables"])
    seen, start = [], None
    while True:
        page = client.list_tables(limit=2, exclusive_start_table_name=start)
        seen += client.table_names(page)
        start = page.get("last_evaluated_table_name")
        if start is None:
            break
        assert start == seen[-1]
    assert seen == sorted(names)


def test_list_tables_bad_params(client: MagnetoClient) -> None:
    with pytest.raises(ValidationError):
        client.request("list_tables", "GET", client.prefix + "/tables?bogus=1")
    with pytest.raises(ValidationError):
        client.list_tables(limit=0)
    with pytest.raises(ValidationError):
        client.request("list_tables", "GET", client.prefix + "/tables?limit=abc")
    with pytest.raises(ValidationError):
        client.list_tables(exclusive_start_table_name="x")


def _create(client: MagnetoClient, **body: Any) -> None:
    base: dict[str, Any] = {
        "table_name": "good_name",
        "attribute_definitions": [
            {"attribute_name": "h", "attribute_type": "S"},
            {"attribute_name": "r", "attribute_type": "N"},
            {"attribute_name": "i", "attribute_type": "S"},
            {"attribute_name": "set", "attribute_type": "SS"},
        ],
        "key_schema": [
            {"attribute_name": "h", "key_type": "HASH"},
            {"attribute_name": "r", "key_type": "RANGE"},
        ],
    }
    base.update(body)
    base = {k: v for k, v in base.items() if v is not None}
    client.request("create_table", "POST", client.prefix + "/tables", base)


def _lsi(rng: str, hash_: str = "h", **extra: Any) -> dict[str, Any]:
    d = {
        "index_name": "idx",
        "key_schema": [
            {"attribute_name": hash_, "key_type": "HASH"},
            {"attribute_name": rng, "key_type": "RANGE"},
        ],
        "projection": {"projection_type": "ALL"},
    }
    d.update(extra)
    return d


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"table_name": "ab"}, "Wrong table name 'ab' found"),
        ({"table_name": "bad name"}, "Wrong table name"),
        ({"table_name": None}, "Required property 'table name' wasn't found"),
        ({"extra": 1}, "Unexpected properties were found for 'body'"),
        (
            {"attribute_definitions": [{"attribute_name": "h", "attribute_type": "KK"}]},
            "Attribute type 'KK' is not recognized",
        ),
        (
            {"attribute_definitions": [{"attribute_name": "", "attribute_type": "S"}]},
            "Wrong attribute name '' found",
        ),
        ({"key_schema": [{"attribute_name": "r", "key_type": "RANGE"}]}, "HASH key is missing"),
        (
            {
                "key_schema": [
                    {"attribute_name": "h", "key_type": "HASH"},
                    {"attribute_name": "r", "key_type": "HASH"},
                ]
            },
            "Only one 'HASH' key is allowed",
        ),
        (
            {"key_schema": [{"attribute_name": "zz", "key_type": "HASH"}]},
            r"Definition for attribute\['zz'\] wasn't found",
        ),
        (
            {"key_schema": [{"attribute_name": "set", "key_type": "HASH"}]},
            "Type 'SS' is not a scalar type",
        ),
        ({"local_secondary_indexes": [_lsi("i", hash_="r")]}, "must be the same as primary"),
        ({"local_secondary_indexes": [_lsi("r")]}, "unique key schema"),
        ({"local_secondary_indexes": [_lsi("zz")]}, "wasn't found"),
        ({"local_secondary_indexes": [_lsi("set")]}, "not a scalar type"),
        (
            {
                "local_secondary_indexes": [
                    {**_lsi("i"), "key_schema": [{"attribute_name": "h", "key_type": "HASH"}]}
                ]
            },
            "Range key in index wasn't specified",
        ),
        (
            {"local_secondary_indexes": [_lsi("i", projection=None)]},
            "Required property 'projection'",
        ),
        (
            {
                "local_secondary_indexes": [
                    _lsi("i", projection={"projection_type": "ALL", "non_key_attributes": ["x"]})
                ]
            },
            re.escape("Unexpected properties were found for 'projection': {\"non_key_attributes"),
        ),
        (
            {"local_secondary_indexes": [_lsi("i"), _lsi("i")]},
            "Two or more indexes with the same name",
        ),
        (
            {
                "key_schema": [{"attribute_name": "h", "key_type": "HASH"}],
                "local_secondary_indexes": [_lsi("i")],
            },
            "Table without range key in primary key schema can not have indices",
        ),
    ],
)
def test_create_table_validation(client: MagnetoClient, body: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as err:
        _create(client, **body)
    assert err.value.status == 400
    assert client.list_tables()["tables"] == []


def test_projection_normalization(client: MagnetoClient) -> None:
    lsis = [
        {**_lsi("i"), "index_name": "inc", "projection": {"non_key_attributes": ["a", "b"]}},
        {**_lsi("x"), "index_name": "none", "projection": {}},
        {
            **_lsi("y"),
            "index_name": "empty",
            "projection": {"projection_type": "INCLUDE", "non_key_attributes": []},
        },
    ]
    defs = [
        {"attribute_name": n, "attribute_type": t}
        for n, t in (("h", "S"), ("r", "N"), ("i", "S"), ("x", "N"), ("y", "B"))
    ]
    _create(client, attribute_definitions=defs, local_secondary_indexes=lsis)
    got = {
        i["index_name"]: i["projection"]
        for i in client.describe_table("good_name")["table"]["local_secondary_indexes"]
    }
    assert got == {
        "inc": {"projection_type": "INCLUDE", "non_key_attributes": ["a", "b"]},
        "none": {"projection_type": "ALL"},
        "empty": {"projection_type": "KEYS_ONLY"},
    }
