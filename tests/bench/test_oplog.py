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
