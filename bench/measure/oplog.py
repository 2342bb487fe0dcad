"""The operation log's JSON codec: DB API arguments that a replayer decodes back exactly.

A run logs every DB API call with its arguments so the validators can replay
it on another backend. Plain JSON loses the types those arguments carry, so
values that JSON cannot hold are written as tagged objects ``{"$t": TAG, "v":
...}``, which ``decode`` turns back into the same Python values:

=============  =======================================  ==========================
tag            Python value                              ``v``
=============  =======================================  ==========================
``ctx``        ``cinderdb.context.RequestContext``       its fields as an object
``dt``         naive ``datetime.datetime``               ISO 8601 text
``date``       ``datetime.date``                         ISO 8601 text
``quota``      ``cinderdb.quota.QuotaResource``          ``[name, sync, type id, type name]``
``meta``       ``cinderdb.api.METADATA_TYPES``           the member's value
``tuple``      ``tuple``                                 a list
``set``        ``set`` / ``frozenset``                   a sorted list
``dict``       a dict whose keys are not all text, or    ``[[key, value], ...]``
               that itself has a ``"$t"`` key
``bytes``      ``bytes``                                 base64 text
=============  =======================================  ==========================

Everything else (text, numbers, booleans, None, lists, dicts with text keys)
is written as is. ``encode``/``decode`` are inverse for every value built
from these types; ``tests/bench/test_oplog.py`` checks the round trip.

One log line is one planned operation (see ``docs/results-format.md``):
``dumps_line``/``loads_line`` read and write it, and ``read_oplog`` streams a
file.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from bench.locks import os_lock
from cinderdb.api import METADATA_TYPES
from cinderdb.context import RequestContext
from cinderdb.quota import QuotaResource

TAG = "$t"
_CONTEXT_FIELDS = ("user_id", "project_id", "is_admin", "read_deleted", "roles", "quota_class")


_SCALARS = frozenset({str, int, float, bool, type(None)})


def encode(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """``value`` as JSON-compatible data, tagging what JSON cannot hold.

    ``memo`` caches the encoding of contexts by identity: the calls of one
    operation share two context objects, encoded once.
    """
    kind = type(value)
    if kind in _SCALARS:
        return value
    # Scalars are tested inline below, not by a call each: this runs on every operation.
    if kind is dict:
        if TAG not in value:
            plain: dict[str, Any] = {}
            for key, item in value.items():
                if type(key) is not str:
                    break
                plain[key] = item if type(item) in _SCALARS else encode(item, memo)
            else:
                return plain
        return {TAG: "dict", "v": [[encode(k, memo), encode(v, memo)] for k, v in value.items()]}
    if kind is list:
        return [item if type(item) in _SCALARS else encode(item, memo) for item in value]
    if isinstance(value, RequestContext):
        if memo is not None and id(value) in memo:
            return memo[id(value)]
        fields = {name: getattr(value, name) for name in _CONTEXT_FIELDS}
        fields["request_id"] = value.request_id
        encoded = {TAG: "ctx", "v": encode(fields)}
        if memo is not None:
            memo[id(value)] = encoded
        return encoded
    if isinstance(value, dt.datetime):
        return {TAG: "dt", "v": value.isoformat()}
    if isinstance(value, dt.date):
        return {TAG: "date", "v": value.isoformat()}
    if isinstance(value, QuotaResource):
        resource = [value.name, value.sync, value.volume_type_id, value.volume_type_name]
        return {TAG: "quota", "v": resource}
    if isinstance(value, METADATA_TYPES):
        return {TAG: "meta", "v": value.value}
    if isinstance(value, tuple):
        return {TAG: "tuple", "v": [encode(item, memo) for item in value]}
    if isinstance(value, set | frozenset):
        return {TAG: "set", "v": sorted((encode(item, memo) for item in value), key=repr)}
    if isinstance(value, bytes):
        return {TAG: "bytes", "v": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Mapping):
        return encode(dict(value), memo)
    raise TypeError(f"the operation log cannot encode {type(value).__name__}: {value!r}")


def _decode_context(fields: dict[str, Any]) -> RequestContext:
    return RequestContext(**fields)


_DECODERS = {
    "dt": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat,
    "ctx": lambda v: _decode_context(decode(v)),
    "quota": lambda v: QuotaResource(*v),
    "meta": METADATA_TYPES,
    "tuple": lambda v: tuple(decode(item) for item in v),
    "set": lambda v: {decode(item) for item in v},
    "dict": lambda v: {decode(k): decode(item) for k, item in v},
    "bytes": base64.b64decode,
}


def decode(data: Any) -> Any:
    """The Python value ``encode`` turned into ``data``."""
    if isinstance(data, dict):
        tag = data.get(TAG)
        if tag is not None:
            try:
                decoder = _DECODERS[tag]
            except KeyError:
                raise ValueError(f"unknown operation-log tag {tag!r}") from None
            return decoder(data["v"])
        return {key: decode(item) for key, item in data.items()}
    if isinstance(data, list):
        return [decode(item) for item in data]
    return data


def encode_call(
    name: str,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    memo: dict[int, Any] | None = None,
) -> dict[str, Any]:
    """One DB API call as logged: ``{"fn", "args", "kwargs"}`` (context first in ``args``)."""
    return {
        "fn": name,
        "args": [encode(arg, memo) for arg in args],
        "kwargs": {key: encode(value, memo) for key, value in kwargs.items()},
    }


def decode_call(call: Mapping[str, Any]) -> tuple[str, list[Any], dict[str, Any]]:
    """``(function name, positional args, keyword args)`` of a logged call, ready to re-issue."""
    return call["fn"], decode(call["args"]), decode(call["kwargs"])


def dumps_line(record: Mapping[str, Any]) -> bytes:
    """One log line (already-encoded values), newline included."""
    return orjson.dumps(record) + b"\n"


def loads_line(line: bytes | str) -> dict[str, Any]:
    """One log line as stored (arguments still encoded; see ``decode_call``)."""
    return orjson.loads(line)


def read_oplog(path: str | Path) -> Iterator[dict[str, Any]]:
    """Stream the lines of ``oplog.jsonl`` (or ``oplog.jsonl.gz``); a damaged line is a
    ``ValueError`` naming the file and the line, never skipped."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        for number, line in enumerate(stream, 1):
            if line.strip():
                try:
                    yield loads_line(line)
                except orjson.JSONDecodeError as error:
                    raise ValueError(f"{path}, line {number}: not a JSON line: {error}") from None


class OpLogWriter:
    """Appends log lines from any thread to ``oplog.jsonl`` (buffered, one lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._stream = open(self.path, "ab")  # noqa: SIM115 - closed by close()
        self._lock = os_lock()
        self.lines = 0

    def write(self, record: Mapping[str, Any]) -> None:
        line = dumps_line(record)
        with self._lock:
            self._stream.write(line)
            self.lines += 1

    def flush(self) -> None:
        """Write what is buffered, so a reader of the file sees every line so far."""
        with self._lock:
            if not self._stream.closed:
                self._stream.flush()

    def close(self) -> None:
        with self._lock:
            if not self._stream.closed:
                self._stream.close()
