"""Answers as MagnetoDB gave them to its own clients: the exact texts of its messages (its
last live commit: api/validation.py, api/openstack/v1/parser.py and data/*.py,
storage/models.py, table_info_repo/cassandra_impl.py), what it accepted, and its bodies."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest

from magnetodb.client import MagnetoClient
from magnetodb.errors import NotFound, TableAlreadyExistsException, ValidationError
from magnetodb.server.app import App
from magnetodb.storage import open_storage
from tests.magnetodb.support import N, S, make_table

KEY = {"h": S("f"), "r": S("a")}
HASH_EQ = {"comparison_operator": "EQ", "attribute_value_list": [S("f")]}


@pytest.fixture
def tbl(client: MagnetoClient) -> str:
    make_table(client, "tbl", extra={"declared": "N"})
    return "tbl"


def _raises(client: MagnetoClient, message: str, operation: str, path: str, body: Any) -> None:
    """The request is refused with exactly ``message`` (a ValidationError, a 400)."""
    with pytest.raises(ValidationError, match=f"^{re.escape(message)}$") as err:
        client.request(operation, "POST", path, body)
    assert err.value.status == 400


def _op(client: MagnetoClient, table: str, operation: str) -> tuple[str, str]:
    return operation, client._table_path(table, operation)


# ---------------------------------------------------------------- message texts


def test_table_exists_names_the_table_unquoted(client: MagnetoClient) -> None:
    make_table(client, "twice")
    with pytest.raises(TableAlreadyExistsException, match=r"^Table twice already exists$"):
        make_table(client, "twice")


def _table_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "table_name": "made",
        "attribute_definitions": [
            {"attribute_name": "h", "attribute_type": "S"},
            {"attribute_name": "r", "attribute_type": "S"},
            {"attribute_name": "i", "attribute_type": "S"},
        ],
        "key_schema": [
            {"attribute_name": "h", "key_type": "HASH"},
            {"attribute_name": "r", "key_type": "RANGE"},
        ],
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def _index(name: str = "idx", **changes: Any) -> dict[str, Any]:
    index: dict[str, Any] = {
        "index_name": name,
        "key_schema": [
            {"attribute_name": "h", "key_type": "HASH"},
            {"attribute_name": "i", "key_type": "RANGE"},
        ],
        "projection": {"projection_type": "ALL"},
    }
    index.update(changes)
    return {k: v for k, v in index.items() if v is not None}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"table_name": None}, "Required property 'table name' wasn't found or it's value is null"),
        ({"table_name": 5}, "Wrong 'table name' type. String is expected, but 5 found"),
        (
            {"key_schema": [{"key_type": "HASH"}]},
            "Required property 'attribute name' wasn't found or it's value is null",
        ),
        (
            {"key_schema": [{"attribute_name": "h", "key_type": "PRIMARY"}]},
            "Only 'RANGE' or 'HASH' key types are allowed, but 'PRIMARY' is found",
        ),
        (
            {"key_schema": [{"attribute_name": "h"}]},
            "Only 'RANGE' or 'HASH' key types are allowed, but 'None' is found",
        ),
        (
            {"key_schema": "h"},
            """Wrong 'key_schema' type. List is expected, but "h" found""",
        ),
        (
            {"attribute_definitions": None},
            "Required property 'attribute_definitions' wasn't found or it's value is null",
        ),
        (
            {"local_secondary_indexes": [_index(), _index()]},
            "Two or more indexes with the same name",
        ),
        (
            {"local_secondary_indexes": [_index("x y")]},
            "Wrong index name 'x y' found",
        ),
        (
            {"local_secondary_indexes": [_index(index_name=None)]},
            "Required property 'index name' wasn't found or it's value is null",
        ),
        (
            {"local_secondary_indexes": [_index(projection=None)]},
            "Required property 'projection' wasn't found or it's value is null",
        ),
        (
            {"local_secondary_indexes": [_index(size=1)]},
            """Unexpected properties were found for 'local_secondary_index': {"size": 1}""",
        ),
        (
            {
                "key_schema": [
                    {"attribute_name": "h", "key_type": "HASH", "order": "asc"},
                ]
            },
            """Unexpected properties were found for 'key_definition': {"order": "asc"}""",
        ),
    ],
)
def test_create_table_messages(client: MagnetoClient, changes: dict, message: str) -> None:
    _raises(client, message, "create_table", client.prefix + "/tables", _table_body(**changes))


def test_unexpected_properties_are_json_and_all_of_them(client: MagnetoClient, tbl: str) -> None:
    body = {"item": KEY, "colour": "blü", "n": [1, None, True]}
    _raises(
        client,
        """Unexpected properties were found for 'body': """
        """{"colour": "bl\\u00fc", "n": [1, null, true]}""",
        *_op(client, tbl, "put_item"),
        body,
    )


def test_a_missing_required_property_is_reported_before_unexpected_ones(
    client: MagnetoClient, tbl: str
) -> None:
    _raises(
        client,
        "Required property 'item' wasn't found or it's value is null",
        *_op(client, tbl, "put_item"),
        {"itme": KEY},
    )
    _raises(
        client,
        "Required property 'key_conditions' wasn't found or it's value is null",
        *_op(client, tbl, "query"),
        {"keyconditions": {}},
    )
    _raises(
        client,
        "Required property 'request_items' wasn't found or it's value is null",
        "batch_write_item",
        client.prefix + "/batch_write_item",
        {"requests": {}},
    )


def test_limit_and_integer_messages(client: MagnetoClient, tbl: str) -> None:
    query = {"key_conditions": {"h": HASH_EQ}}
    _raises(
        client,
        """Wrong 'limit' type. Integer is expected, but "lots" found""",
        *_op(client, tbl, "query"),
        {**query, "limit": "lots"},
    )
    _raises(
        client,
        "Wrong 'limit' type. Integer is expected, but 1.5 found",
        *_op(client, tbl, "query"),
        {**query, "limit": 1.5},
    )
    _raises(
        client,
        "'limit' property value[-2] is less then min_value[1].",
        *_op(client, tbl, "scan"),
        {"limit": -2},
    )
    _raises(
        client,
        "'time_to_live' property value[-1] is less then min_value[0].",
        *_op(client, tbl, "put_item"),
        {"item": KEY, "time_to_live": -1},
    )
    for query_string, message in [
        ("limit=-2", "'limit' property value[-2] is less then min_value[1]."),
        ("limit=abc", """Wrong 'limit' type. Integer is expected, but "abc" found"""),
    ]:
        with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
            client.request("list_tables", "GET", f"{client.prefix}/tables?{query_string}")


def test_unexpected_query_parameters_as_multidict(client: MagnetoClient) -> None:
    for query_string, shown in [
        ("start_table_name=aaa", "MultiDict([(u'start_table_name', u'aaa')])"),
        ("limit=1&limit=2&x=%C3%A9", "MultiDict([(u'limit', u'2'), (u'x', u'\\xe9')])"),
    ]:
        message = "Unexpected properties were found for 'params': " + shown
        with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
            client.request("list_tables", "GET", f"{client.prefix}/tables?{query_string}")


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        (
            {"r": {"comparison_operator": "GT", "attribute_value_list": [S("a"), S("b")]}},
            "IndexedCondition of type['GT'] requires exactly 1 arguments, but 2 found",
        ),
        (
            {"r": {"comparison_operator": "LE"}},
            "IndexedCondition of type['LE'] requires exactly 1 arguments, but 0 found",
        ),
        (
            {"r": {"comparison_operator": "BETWEEN", "attribute_value_list": [S("a")]}},
            "BETWEEN condition type requires exactly 2 arguments, but 1 given",
        ),
        (
            {"r": {"comparison_operator": "BETWEEN", "attribute_value_list": [S("a"), N(1)]}},
            "BETWEEN condition type requires arguments of the same type, but different types given",
        ),
        (
            {"r": {"comparison_operator": "BEGINS_WITH", "attribute_value_list": [S("a"), S("b")]}},
            "IndexedCondition of type['GE'] requires exactly 1 arguments, but 2 found",
        ),
        (
            {"r": {"comparison_operator": "BEGINS_WITH", "attribute_value_list": [N(1)]}},
            "BEGINS_WITH condition type is not allowed forargument of the N type",
        ),
        (
            {"r": {"comparison_operator": "CONTAINS", "attribute_value_list": [S("a")]}},
            "IndexedCondition of type['CONTAINS'] is not allowed",
        ),
        (
            {"r": {"comparison_operator": "EQ", "attribute_value_list": [{"SS": ["a"]}]}},
            "IndexedCondition of type['EQ'] allows only primitive arguments",
        ),
        (
            {"r": {"comparison_operator": "EQ", "attribute_value_list": S("a")}},
            """Wrong 'attribute_value_list' type. List is expected, but {"S": "a"} found""",
        ),
        (
            {"r": {"comparison_operator": "EQ", "attribute_value_list": [S("a")], "x": 1}},
            """Unexpected properties were found for 'r': {"x": 1}""",
        ),
    ],
)
def test_query_argument_messages(
    client: MagnetoClient, tbl: str, conditions: dict, message: str
) -> None:
    body = {"key_conditions": {"h": HASH_EQ, **conditions}}
    _raises(client, message, *_op(client, tbl, "query"), body)


def test_an_empty_table_name_in_the_path_is_a_404() -> None:
    app = App(open_storage("memory"))
    for method, path in [
        ("POST", "/v1/data/p1/tables//put_item"),
        ("POST", "/v1/data/p1/tables//get_item"),
        ("POST", "/v1/data/p1/tables//query"),
        ("GET", "/v1/data/p1/tables/"),
        ("DELETE", "/v1/data/p1/tables/"),
        ("GET", "/v1/monitoring/projects/p1/tables/"),
    ]:
        status, body = app.handle(method, path, "", {}, orjson.dumps({"key": KEY}))
        assert status == 404, (method, path)
        assert orjson.loads(body)["error"]["type"] == NotFound.__name__


# ---------------------------------------------------------------- what MagnetoDB accepted


def test_an_empty_attributes_to_get_reads_the_whole_item(client: MagnetoClient, tbl: str) -> None:
    whole = {**KEY, "v": N(1), "w": S("x")}
    client.put_item(tbl, whole)
    assert client.get_item(tbl, KEY, attributes_to_get=[]) == {"item": whole}
    got = client.batch_get_item({tbl: {"keys": [KEY], "attributes_to_get": []}})
    assert got["responses"] == {tbl: [whole]}


def test_delete_with_a_scalar_value(client: MagnetoClient, tbl: str) -> None:
    missing = {"h": S("f"), "r": S("none")}
    update = {"v": {"action": "DELETE", "value": S("x")}}
    assert client.update_item(tbl, missing, update) == {}
    assert client.get_item(tbl, missing) == {}  # nothing was created
    # on an item, MagnetoDB's driver removed a scalar attribute whatever the value named
    client.put_item(tbl, {**KEY, "v": S("y"), "w": N(2)})
    assert client.update_item(tbl, KEY, update) == {}
    assert client.get_item(tbl, KEY) == {"item": {**KEY, "w": N(2)}}


# ---------------------------------------------------------------- bodies


def test_put_all_old_on_a_new_key_is_empty(client: MagnetoClient, tbl: str) -> None:
    assert client.put_item(tbl, KEY, return_values="ALL_OLD") == {}
    assert client.put_item(tbl, {**KEY, "v": N(1)}, return_values="ALL_OLD") == {"attributes": KEY}


def test_batch_get_lists_only_tables_with_found_items(client: MagnetoClient, tbl: str) -> None:
    make_table(client, "other", range_key=None)
    nothing = client.batch_get_item({tbl: {"keys": [KEY]}, "other": {"keys": [{"h": S("z")}]}})
    assert nothing == {"responses": {}, "unprocessed_keys": {}}
    client.put_item("other", {"h": S("z")})
    some = client.batch_get_item({tbl: {"keys": [KEY]}, "other": {"keys": [{"h": S("z")}]}})
    assert some == {"responses": {"other": [{"h": S("z")}]}, "unprocessed_keys": {}}


def test_healthcheck_bytes() -> None:
    app = App(open_storage("memory"))
    assert app.handle("GET", "/healthcheck", "", {}, b"") == (200, b'{"API": "OK"}')
    # unknown parameters are ignored; fullcheck takes MagnetoDB's yes-words
    assert app.handle("GET", "/healthcheck", "verbose=1&fullcheck=no", {}, b"") == (
        200,
        b'{"API": "OK"}',
    )
    full = (
        b'{"Messaging": "Not Implemented", "API": "OK", "Storage": "OK", '
        b'"Identity": "Not Implemented"}'
    )
    for yes in ("true", "1", "yes", "on", "t", "y"):
        assert app.handle("GET", "/healthcheck", f"fullcheck={yes}", {}, b"") == (200, full)


def test_healthcheck_bytes_over_http(http_client: MagnetoClient) -> None:
    assert http_client.transport.handle_request("GET", "/healthcheck", None, {}) == (
        200,
        b'{"API": "OK"}',
    )


def test_two_writes_to_one_key_in_a_batch(client: MagnetoClient, tbl: str) -> None:
    put = {"put_request": {"item": KEY}}
    delete = {"delete_request": {"key": KEY}}
    _raises(
        client,
        "Can't execute request: More than one operation requested for item with keys "
        """{"h": {"S": "f"}, "r": {"S": "a"}} in table 'tbl'""",
        "batch_write_item",
        client.prefix + "/batch_write_item",
        {"request_items": {tbl: [put, delete]}},
    )


def test_a_failing_storage_is_a_503_with_the_same_json(monkeypatch: pytest.MonkeyPatch) -> None:
    app = App(open_storage("memory"))
    monkeypatch.setattr(app.storage.engine, "check", lambda: False)  # the injected fault
    assert app.handle("GET", "/healthcheck", "fullcheck=true", {}, b"") == (
        503,
        b'{"Messaging": "Not Implemented", "API": "OK", "Storage": "ERROR", '
        b'"Identity": "Not Implemented"}',
    )
    assert app.handle("GET", "/healthcheck", "", {}, b"") == (200, b'{"API": "OK"}')
