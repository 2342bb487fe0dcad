"""The operation log's codec: every argument type a DB API call takes survives a round trip."""

from __future__ import annotations

import datetime as dt
import gzip

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.measure.oplog import (
    OpLogWriter,
    decode,
    decode_call,
    dumps_line,
    encode,
    encode_call,
    loads_line,
    read_oplog,
)
from cinderdb import METADATA_TYPES, RequestContext
from cinderdb.quota import default_resources


def round_trip(value):
    return decode(orjson.loads(orjson.dumps(encode(value))))


def test_every_tagged_type_round_trips():
    context = RequestContext(user_id="u", project_id="p", quota_class="gold", read_deleted="yes")
    value = {
        "context": context,
        "when": dt.datetime(2015, 10, 15, 12, 30, 1),
        "day": dt.date(2015, 10, 15),
        "resources": default_resources([{"id": "t1", "name": "gold"}]),
        "meta_type": METADATA_TYPES.image,
        "pair": ("a", 1),
        "names": {"x", "y"},
        "by_number": {1: "one", 2: "two"},
        "tricky": {"$t": "not a tag", "v": 1},
        "raw": b"\x00\xff",
        "nested": [{"deltas": {"volumes": -1}}, None, True, 1.5],
    }
    decoded = round_trip(value)
    assert decoded == value
    assert isinstance(decoded["context"], RequestContext)
    assert decoded["context"].request_id == context.request_id
    assert decoded["resources"]["gigabytes_gold"].volume_type_id == "t1"


def test_admin_context_keeps_its_rights():
    context = RequestContext(user_id="u", project_id="p").elevated()
    decoded = round_trip(context)
    assert decoded.is_admin
    assert decoded.roles == ["admin"]
    assert decoded == context


def test_calls_decode_to_what_was_called():
    context = RequestContext(user_id="u", project_id="p")
    expire = dt.datetime(2030, 1, 1)
    entry = encode_call(
        "quota_reserve",
        (context, default_resources(), {"volumes": 10}, {"volumes": 1}, expire, 0, 0),
        {"project_id": "p"},
    )
    name, args, kwargs = decode_call(loads_line(dumps_line(entry)))
    assert name == "quota_reserve"
    assert args == [context, default_resources(), {"volumes": 10}, {"volumes": 1}, expire, 0, 0]
    assert kwargs == {"project_id": "p"}


def test_unknown_values_and_tags_are_refused():
    with pytest.raises(TypeError, match="cannot encode"):
        encode(object())
    with pytest.raises(ValueError, match="unknown operation-log tag"):
        decode({"$t": "pickle", "v": "..."})


int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)  # what JSON numbers carry here
json_leaves = st.none() | st.booleans() | int64 | st.text(max_size=8)
values = st.recursive(
    json_leaves
    | st.datetimes(min_value=dt.datetime(1970, 1, 1)).map(lambda d: d.replace(microsecond=0))
    | st.tuples(int64, st.text(max_size=4)),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=6), inner, max_size=4)
        | st.dictionaries(int64, inner, max_size=3)
    ),
    max_leaves=20,
)


@given(values)
def test_any_nesting_round_trips(value):
    assert round_trip(value) == value


def test_writer_and_reader(tmp_path):
    writer = OpLogWriter(tmp_path / "oplog.jsonl")
    lines = [
        {"seq": i, "plan": encode({"when": dt.datetime(2015, 1, 1, 0, 0, i)})} for i in range(5)
    ]
    for line in lines:
        writer.write(line)
    writer.close()
    assert writer.lines == 5
    assert list(read_oplog(tmp_path / "oplog.jsonl")) == lines
    with gzip.open(tmp_path / "oplog.jsonl.gz", "wb") as stream:
        stream.write((tmp_path / "oplog.jsonl").read_bytes())
    assert list(read_oplog(tmp_path / "oplog.jsonl.gz")) == lines
    assert decode(lines[3]["plan"])["when"].second == 3


# ------------------------------------------------ where a logged call's time went


def _logged_run(tmp_path, steps=6):
    """Six operations on SQLite and in-process MagnetoDB, logged; the log's lines."""
    from bench.drive.runner import Run
    from bench.workload.datasets import build_dataset, load_dataset
    from cinderdb import open_backend
    from tests.bench.support import SMALL

    dataset = build_dataset(SMALL)
    sql = open_backend("sqlite://")
    magneto = open_backend(f"magnetodb+inproc:///oplog-{tmp_path.name}")
    for backend in (sql, magneto):
        load_dataset(backend, dataset.data, quiet=True)
    path = tmp_path / "oplog.jsonl"
    run = Run(
        [("sql", sql), ("magnetodb", magneto)],
        dataset,
        {"create": 1, "show": 1, "list": 1},
        seed=3,
        oplog_path=path,
    )
    try:
        worker = run.worker(0)
        for _ in range(steps):
            run.step(worker)
    finally:
        run.close()
        sql.close()
        magneto.close()
    return list(read_oplog(path))


def test_each_logged_call_carries_its_client_cpu_and_the_store_s_time(tmp_path):
    lines = _logged_run(tmp_path)
    assert lines
    for line in lines:
        for arm, run in line["runs"].items():
            assert run["calls"]
            for call in run["calls"]:
                assert call["cpu_us"] >= 0
                if arm == "magnetodb":
                    assert 0 <= call["store_us"] <= call["us"]
                else:
                    assert "store_us" not in call  # SQLite reports no store time
                decode_call(call)  # the extra fields leave the call as it was
            # the operation's sums: at least the sum of its calls' truncated µs
            assert run["cpu_us"] >= sum(call["cpu_us"] for call in run["calls"])
            assert ("store_us" in run) == (arm == "magnetodb")


def test_where_client_cpu_is_not_measured_the_fields_are_absent(tmp_path, monkeypatch):
    """Under gevent (``cpu_clock`` None) no client CPU is logged; the store's time still is."""
    monkeypatch.setattr("bench.measure.instrument.cpu_clock", lambda: None)
    lines = _logged_run(tmp_path, steps=3)
    assert lines
    for line in lines:
        for arm, run in line["runs"].items():
            assert "cpu_us" not in run
            assert all("cpu_us" not in call for call in run["calls"])
            assert ("store_us" in run) == (arm == "magnetodb")


def test_an_old_line_without_the_times_still_reads_and_decodes(tmp_path):
    line = _logged_run(tmp_path, steps=1)[0]
    for run in line["runs"].values():
        run.pop("cpu_us", None)
        run.pop("store_us", None)
        for call in run["calls"]:
            call.pop("cpu_us", None)
            call.pop("store_us", None)
    old = tmp_path / "old.jsonl"
    old.write_bytes(dumps_line(line))
    (read,) = read_oplog(old)
    assert read == line
    for run in read["runs"].values():
        assert [decode_call(call)[0] for call in run["calls"]]
