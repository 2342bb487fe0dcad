"""The replay's building blocks: log order, generated ids, canonical answers, differences."""

from __future__ import annotations

import datetime as dt
import random

from cinderdb import exception
from validators.canonical import Canonicalizer, IdMap, difference, focus, same
from validators.replicas import generated_ids, in_seq_order


def test_a_log_in_completion_order_replays_in_start_order():
    lines = [{"seq": i} for i in range(200)]
    shuffled = []
    for start in range(0, 200, 4):  # 4 threads: each batch finishes in any order
        batch = lines[start : start + 4]
        random.Random(start).shuffle(batch)
        shuffled += batch
    assert [line["seq"] for line in in_seq_order(shuffled)] == list(range(200))
    missing = [line for line in lines if line["seq"] != 7]  # a harness failure logs nothing
    assert [line["seq"] for line in in_seq_order(missing, window=8)] == [
        i for i in range(200) if i != 7
    ]


def test_generated_ids_are_those_the_arguments_did_not_name():
    given = {"id": "v1", "size": 1}
    assert generated_ids("volume_create", [None, given], {"id": "v1"}) == []
    assert generated_ids("qos_specs_create", [None, {"name": "q"}], {"id": "x9"}) == ["x9"]
    assert generated_ids("quota_reserve", [], ["r1", "r2"]) == ["r1", "r2"]
    assert generated_ids("volume_get", [None, "v1"], {"id": "zz"}) == []


def test_generated_ids_become_the_token_of_the_call_that_made_them():
    first, second = IdMap(), IdMap()
    first.add("aaa", "<qos_specs_create@3.0>")
    second.add("bbb", "<qos_specs_create@3.0>")
    second.add("ccc", "<qos_specs_create@9.0>")
    a = Canonicalizer(first).result("qos_specs_get", {"id": "aaa", "name": "q"})
    b = Canonicalizer(second).result("qos_specs_get", {"id": "bbb", "name": "q"})
    wrong = Canonicalizer(second).result("qos_specs_get", {"id": "ccc", "name": "q"})
    assert same(a, b)
    assert not same(a, wrong)  # a reference to another creation still differs


def test_order_is_free_only_where_the_contract_leaves_it_free():
    canon = Canonicalizer(IdMap())
    rows = [{"id": "b"}, {"id": "a"}]
    assert canon.result("volume_get_all_by_host", rows) == [{"id": "a"}, {"id": "b"}]
    assert canon.result("volume_get_all", rows) == rows  # sorted by the call's sort keys
    assert canon.ignored["order"] == 1


def test_values_keep_their_types_and_timestamps_compare_exactly():
    canon = Canonicalizer(IdMap())
    stamp = dt.datetime(2015, 10, 15, 12, 0, 1)
    assert canon.result("volume_get", {"created_at": stamp}) == {
        "created_at": "2015-10-15T12:00:01"
    }
    assert not same({"deleted": False}, {"deleted": 0})
    assert not same({"size": 1}, {"size": 1.0})


def test_errors_compare_by_class_and_arguments_and_storage_text_is_ignored():
    canon = Canonicalizer(IdMap())
    assert canon.error(exception.VolumeNotFound(volume_id="v")) == {
        "error": "VolumeNotFound",
        "kwargs": {"volume_id": "v", "code": 404},
    }
    sql = canon.error(exception.DBError(reason="(sqlite3.OperationalError) locked"))
    magneto = canon.error(exception.DBError(reason="ConditionalCheckFailedException: ..."))
    assert same(sql, magneto)
    assert canon.ignored["storage_error_text"] == 2


def test_a_difference_reads_as_what_is_missing_or_changed():
    first = [{"id": "v1", "status": "available"}, {"id": "v2", "status": "in-use"}]
    second = [{"id": "v1", "status": "error"}]
    text = difference(first, second)
    assert "second lacks [id=v2]" in text
    assert '[id=v1].status: "available" != "error"' in text
    many = [{"id": str(i)} for i in range(30)]
    shown_a, shown_b = focus(many, many[:-1])
    assert shown_a[1:] == [{"id": "29"}]
    assert shown_b[1:] == []
