"""Query (key conditions, LSIs, select, paging, order) and Scan (filters, paging, segments)."""

from __future__ import annotations

import functools
import operator
import re
from typing import Any

import pytest

from magnetodb.client import MagnetoClient
from magnetodb.errors import TableNotExistsException, ValidationError
from tests.magnetodb.support import N, S, make_table


def EQ(v: dict) -> dict[str, Any]:
    return {"comparison_operator": "EQ", "attribute_value_list": [v]}


def cond(op: str, *vals: dict) -> dict[str, Any]:
    return {"comparison_operator": op, "attribute_value_list": list(vals)}


@pytest.fixture
def forum(client: MagnetoClient) -> str:
    """Thread(h, r:N) with LSIs on 'date' (KEYS_ONLY) and 'title' (INCLUDE views)."""
    make_table(
        client,
        "thread",
        hash_key=("h", "S"),
        range_key=("r", "N"),
        extra={"date": "S", "title": "S"},
        lsis=[
            ("by_date", "date", {"projection_type": "KEYS_ONLY"}),
            ("by_title", "title", {"projection_type": "INCLUDE", "non_key_attributes": ["views"]}),
        ],
    )
    for i in range(10):
        client.put_item(
            "thread",
            {
                "h": S("f1"),
                "r": N(i),
                "date": S(f"2015-0{9 - i}"),
                "title": S(f"t{i % 3}-{i}"),
                "views": N(i * 10),
                "body": S("x" * i),
            },
        )
    client.put_item("thread", {"h": S("f2"), "r": N(0), "title": S("other")})
    client.put_item("thread", {"h": S("f1"), "r": N(-5)})  # no date/title: not in the LSIs
    return "thread"


def rs(result: dict) -> list[str]:
    return [it["r"]["N"] for it in result["items"]]


def test_query_range_operators(client: MagnetoClient, forum: str) -> None:
    h = {"h": EQ(S("f1"))}
    all_ = client.query(forum, h)
    assert all_["count"] == 11
    assert rs(all_) == ["-5", *map(str, range(10))]
    assert "last_evaluated_key" not in all_
    assert rs(client.query(forum, {**h, "r": EQ(N(3))})) == ["3"]
    assert rs(client.query(forum, {**h, "r": cond("LT", N(2))})) == ["-5", "0", "1"]
    assert rs(client.query(forum, {**h, "r": cond("LE", N(2))})) == ["-5", "0", "1", "2"]
    assert rs(client.query(forum, {**h, "r": cond("GT", N(7))})) == ["8", "9"]
    assert rs(client.query(forum, {**h, "r": cond("GE", N("7.0"))})) == ["7", "8", "9"]
    assert rs(client.query(forum, {**h, "r": cond("BETWEEN", N(2), N(4))})) == ["2", "3", "4"]
    assert client.query(forum, {"h": EQ(S("nobody"))}) == {"count": 0, "items": []}


def test_query_begins_with_is_exact(client: MagnetoClient) -> None:
    make_table(client, "words")
    for w in ["ab", "abc", "abd", "ac", "b", "a"]:
        client.put_item("words", {"h": S("x"), "r": S(w)})
    got = client.query("words", {"h": EQ(S("x")), "r": cond("BEGINS_WITH", S("ab"))})
    # "ac" is p' (p with its last char incremented): MagnetoDB matched it (anomaly 2)
    assert [i["r"]["S"] for i in got["items"]] == ["ab", "abc", "abd"]
    with pytest.raises(ValidationError, match="BEGINS_WITH"):
        client.query("words", {"h": EQ(S("x")), "r": cond("BEGINS_WITH", N(1))})


def test_query_order_limit_and_paging(client: MagnetoClient, forum: str) -> None:
    h = {"h": EQ(S("f1"))}
    back = client.query(forum, h, scan_index_forward=False, consistent_read=True)
    assert rs(back) == [*map(str, range(9, -1, -1)), "-5"]
    for forward in (True, False):
        seen, start = [], None
        while True:
            page = client.query(
                forum, h, limit=3, exclusive_start_key=start, scan_index_forward=forward
            )
            seen += rs(page)
            start = page.get("last_evaluated_key")
            if start is None:
                break
            assert page["count"] == 3
            assert set(start) == {"h", "r"}
        assert seen == (rs(client.query(forum, h)) if forward else rs(back))
    # EQ plus exclusive_start_key (a 500 in MagnetoDB, anomaly 5)
    page = client.query(forum, {**h, "r": EQ(N(3))}, exclusive_start_key={"h": S("f1"), "r": N(3)})
    assert page["count"] == 0
    with pytest.raises(ValidationError):
        client.query(forum, h, exclusive_start_key={"h": S("f1")})
    with pytest.raises(ValidationError):
        client.query(forum, h, exclusive_start_key={"h": S("f2"), "r": N(1)})


def test_query_select(client: MagnetoClient, forum: str) -> None:
    h = {"h": EQ(S("f1"))}
    assert client.query(forum, h, select="COUNT") == {"count": 11}
    # COUNT with limit == count pages instead of failing (anomaly 9)
    counted = client.query(forum, h, select="COUNT", limit=4)
    assert counted["count"] == 4
    assert counted["last_evaluated_key"]["r"] == N(2)
    specific = client.query(forum, {**h, "r": EQ(N(1))}, attributes_to_get=["views", "nope"])
    assert specific["items"] == [{"views": N(10)}]
    assert client.query(
        forum, {**h, "r": EQ(N(1))}, select="SPECIFIC_ATTRIBUTES", attributes_to_get=["r"]
    )["items"] == [{"r": N(1)}]
    with pytest.raises(ValidationError, match="Attribute list is only expected"):
        client.query(forum, h, select="ALL_ATTRIBUTES", attributes_to_get=["r"])
    # SPECIFIC_ATTRIBUTES naming no attribute: whole items, as MagnetoDB's driver read them
    whole = client.query(forum, {**h, "r": EQ(N(1))})["items"]
    assert client.query(forum, {**h, "r": EQ(N(1))}, select="SPECIFIC_ATTRIBUTES")["items"] == whole
    assert (
        client.query(
            forum, {**h, "r": EQ(N(1))}, select="SPECIFIC_ATTRIBUTES", attributes_to_get=[]
        )["items"]
        == whole
    )
    with pytest.raises(ValidationError, match="Attribute list is only expected"):
        client.query(forum, h, attributes_to_get=[])
    with pytest.raises(ValidationError, match="Select type 'X' isn't allowed"):
        client.query(forum, h, select="X")


def test_query_lsi(client: MagnetoClient, forum: str) -> None:
    h = {"h": EQ(S("f1"))}
    by_date = client.query(forum, h, index_name="by_date")
    # ordered by date (descending r), items without 'date' are not in the index
    assert rs(by_date) == list(map(str, range(9, -1, -1)))
    assert by_date["items"][0]["body"] == S("x" * 9)  # ALL_ATTRIBUTES: whole items
    proj = client.query(forum, h, index_name="by_date", select="ALL_PROJECTED_ATTRIBUTES", limit=1)
    assert proj["items"] == [{"h": S("f1"), "r": N(9), "date": S("2015-00")}]
    inc = client.query(
        forum,
        {**h, "title": cond("BEGINS_WITH", S("t1"))},
        index_name="by_title",
        select="ALL_PROJECTED_ATTRIBUTES",
    )
    assert inc["items"] == [
        {"h": S("f1"), "r": N(i), "title": S(f"t1-{i}"), "views": N(i * 10)} for i in (1, 4, 7)
    ]
    # paging over an index never skips or repeats (anomaly 3)
    seen, start = [], None
    while True:
        page = client.query(
            forum,
            h,
            index_name="by_title",
            limit=2,
            exclusive_start_key=start,
            scan_index_forward=False,
        )
        seen += rs(page)
        start = page.get("last_evaluated_key")
        if not start:
            break
        assert set(start) == {"h", "r", "title"}
    assert seen == rs(client.query(forum, h, index_name="by_title", scan_index_forward=False))
    assert sorted(seen, key=int) == list(map(str, range(10)))


def test_lsi_entries_follow_updates_and_deletes(client: MagnetoClient, forum: str) -> None:
    h = {"h": EQ(S("f1"))}
    key = {"h": S("f1"), "r": N(0)}
    client.update_item(forum, key, {"date": {"action": "PUT", "value": S("2099")}})
    assert rs(client.query(forum, {**h, "date": cond("GE", S("2099"))}, index_name="by_date")) == [
        "0"
    ]
    client.update_item(forum, key, {"date": {"action": "DELETE"}})
    assert (
        client.query(forum, {**h, "date": cond("GE", S("2099"))}, index_name="by_date")["count"]
        == 0
    )
    client.delete_item(forum, {"h": S("f1"), "r": N(1)})
    assert "1" not in rs(client.query(forum, h, index_name="by_title"))
    client.put_item(forum, {"h": S("f1"), "r": N(2)})  # replace drops the index attributes
    assert "2" not in rs(client.query(forum, h, index_name="by_date"))


def test_query_errors(client: MagnetoClient, forum: str) -> None:
    with pytest.raises(ValidationError, match="Only equality condition is allowed for HASH"):
        client.query(forum, {"h": cond("GT", S("a"))})
    with pytest.raises(ValidationError, match="Only equality condition"):
        client.query(forum, {"r": EQ(N(1))})
    with pytest.raises(ValidationError, match="don't match table schema"):
        client.query(forum, {"h": EQ(S("f1")), "views": EQ(N(1))})
    with pytest.raises(ValidationError, match="don't match table schema"):
        client.query(forum, {"h": EQ(S("f1")), "r": EQ(N(1))}, index_name="by_date")
    with pytest.raises(ValidationError, match="Index 'nope' doesn't exist"):
        client.query(forum, {"h": EQ(S("f1"))}, index_name="nope")
    with pytest.raises(ValidationError):
        client.query(forum, {"h": EQ(N(1))})
    with pytest.raises(ValidationError):
        client.query(forum, {"h": EQ(S("f1")), "r": cond("BETWEEN", N(1))})
    with pytest.raises(
        ValidationError, match=re.escape("IndexedCondition of type['NE'] is not allowed")
    ):
        client.query(forum, {"h": cond("NE", S("f1"))})
    with pytest.raises(ValidationError):
        client.query(forum, {"h": EQ(S("f1"))}, limit=0)
    with pytest.raises(ValidationError, match="must not be empty"):
        client.query(forum, {})
    with pytest.raises(TableNotExistsException):
        client.query("no_such_table", {"h": EQ(S("f1"))})
    assert client.query(forum, {"h": EQ(S("f1"))}, limit="2")["count"] == 2  # numeric string


@pytest.fixture
def people(client: MagnetoClient) -> str:
    make_table(client, "people", hash_key=("id", "N"), range_key=None)
    for i in range(20):
        item: dict[str, Any] = {
            "id": N(i),
            "age": N(i * 5),
            "name": S(f"n{i:02d}"),
            "tags": {"SS": [f"t{i % 4}", "all"]},
        }
        if i % 2:
            item["m"] = {"SNM": {f"k{i}": "1"}}
        client.put_item("people", item)
    return "people"


def ids(result: dict) -> list[int]:
    return sorted(int(i["id"]["N"]) for i in result["items"])


def test_scan_filters(client: MagnetoClient, people: str) -> None:
    full = client.scan(people)
    assert full["count"] == full["scanned_count"] == 20
    assert "last_evaluated_key" not in full
    f = lambda **c: ids(client.scan(people, scan_filter=c))  # noqa: E731
    assert f(age=cond("GT", N(80))) == [17, 18, 19]
    assert f(age=cond("LE", N(5))) == [0, 1]
    assert f(age=cond("LT", N(5))) == [0]
    assert f(age=cond("GE", N(90))) == [18, 19]
    assert f(age=cond("EQ", N(10))) == [2]
    assert f(age=cond("NE", N(10))) == [i for i in range(20) if i != 2]
    assert f(age=cond("BETWEEN", N(10), N(20))) == [2, 3, 4]
    assert f(age=cond("IN", N(0), N(95), S("x"))) == [0, 19]
    assert f(name=cond("BEGINS_WITH", S("n1"))) == list(range(10, 20))
    assert f(name=cond("CONTAINS", S("9"))) == [9, 19]
    assert f(tags=cond("CONTAINS", S("t3"))) == [3, 7, 11, 15, 19]
    assert f(tags=cond("NOT_CONTAINS", S("t3"))) == [i for i in range(20) if i % 4 != 3]
    assert f(m=cond("CONTAINS", S("k5"))) == [5]  # map-key membership
    assert f(age=cond("CONTAINS", N(5))) == []  # false for N
    assert f(m=cond("NULL")) == list(range(0, 20, 2))
    assert f(m=cond("NOT_NULL")) == list(range(1, 20, 2))
    # hash-key filters of every kind work (anomaly 6: NE/IN/NULL gave 500, GT missed items)
    assert f(id=cond("GT", N(15))) == [16, 17, 18, 19]
    assert f(id=cond("NE", N(0)), age=cond("LT", N(10))) == [1]
    assert f(id=cond("IN", N(3), N(4))) == [3, 4]
    assert f(id=cond("EQ", N(4))) == [4]
    assert f(id=cond("EQ", S("4"))) == []
    assert f(id=cond("NULL")) == []
    projected = client.scan(people, scan_filter={"id": EQ(N(3))}, attributes_to_get=["name"])
    assert projected["items"] == [{"name": S("n03")}]
    counted = client.scan(people, scan_filter={"age": cond("GT", N(50))}, select="COUNT")
    assert counted == {"count": 9, "scanned_count": 20}


def test_scan_paging_has_no_duplicates(client: MagnetoClient, people: str) -> None:
    # hash-only table: MagnetoDB re-read rows here (anomaly 4)
    seen, start, pages = [], None, 0
    while True:
        page = client.scan(
            people, limit=6, exclusive_start_key=start, scan_filter={"age": cond("GE", N(0))}
        )
        pages += 1
        assert page["scanned_count"] <= 6
        seen += [int(i["id"]["N"]) for i in page["items"]]
        start = page.get("last_evaluated_key")
        if start is None:
            break
        assert set(start) == {"id"}
    assert sorted(seen) == list(range(20))
    assert len(seen) == 20
    assert pages == 4


def test_scan_segments_partition_the_table(client: MagnetoClient, people: str) -> None:
    parts = [ids(client.scan(people, segment=s, total_segments=3)) for s in range(3)]
    assert sorted(functools.reduce(operator.iadd, parts, [])) == list(range(20))
    assert sum(len(p) for p in parts) == 20
    # MagnetoDB's bounds: segment up to total_segments (which names no part here), the
    # defaults segment 0 of 1 (the whole table)
    assert client.scan(people, segment=3, total_segments=3)["items"] == []
    assert ids(client.scan(people, segment=0)) == list(range(20))
    assert ids(client.scan(people, total_segments=1)) == list(range(20))
    with pytest.raises(
        ValidationError, match=re.escape("'segment' property value[4] is more then max_value[3].")
    ):
        client.scan(people, segment=4, total_segments=3)
    with pytest.raises(
        ValidationError,
        match=re.escape("'total_segments' property value[4097] is more then max_value[4096]."),
    ):
        client.scan(people, segment=0, total_segments=4097)


def test_scan_errors(client: MagnetoClient, people: str) -> None:
    with pytest.raises(ValidationError, match="Unexpected properties"):
        client.request(
            "scan", "POST", client._table_path(people, "scan"), {"consistent_read": True}
        )
    with pytest.raises(
        ValidationError,
        match=re.escape("ScanCondition of type['GT'] requires exactly 1 arguments, but 0 found"),
    ):
        client.scan(people, scan_filter={"age": cond("GT")})
    with pytest.raises(
        ValidationError,
        match=re.escape("ScanCondition of type['NULL'] requires exactly 0 arguments, but 1 found"),
    ):
        client.scan(people, scan_filter={"age": cond("NULL", N(1))})
    with pytest.raises(
        ValidationError,
        match=re.escape(
            "ScanCondition of type['IN'] requires from 1 to 9223372036854775807 arguments "
            "provided, but 0 found"
        ),
    ):
        client.scan(people, scan_filter={"age": cond("IN")})
    with pytest.raises(
        ValidationError,
        match=re.escape("ScanCondition of type['GT'] allows only primitive arguments"),
    ):
        client.scan(people, scan_filter={"age": cond("GT", {"NS": ["1"]})})
    with pytest.raises(ValidationError, match="Select type"):
        client.scan(people, select="ALL_PROJECTED_ATTRIBUTES")
    with pytest.raises(ValidationError):
        client.scan(people, exclusive_start_key={"nope": N(1)})
