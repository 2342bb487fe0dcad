"""etcd v3 engine: the store is an etcd cluster (Raft), shared by any number of API servers.

etcd orders its keys and keeps every revision until compaction, so the engine
interface maps onto it directly:

* **Read snapshots** are ranges at one revision: the first read of a
  transaction is linearizable and fixes the revision; the later reads ask for
  that revision (serializable, on the same member, so no second ReadIndex round).
* **Write transactions** are optimistic, because etcd's transactions are not
  interactive: the body reads at a revision, recording each key's
  ``mod_revision`` (0 when absent) and each scanned range, and buffers its
  writes; the commit is one etcd ``Txn`` that compares every key read
  (``MOD == seen``) and every scanned range (``MOD < revision + 1`` over the
  range: nothing inserted or changed; each key seen is compared too: nothing
  deleted) and applies the writes. A failed comparison means a concurrent
  writer won: :meth:`EtcdEngine.transact` runs the body again on a fresh
  snapshot. This is the cost profile of Cassandra's lightweight transactions
  (read, then a conditional commit through consensus), which MagnetoDB used.
* **Durability**: etcd fsyncs its WAL before acknowledging a commit.

The client is gRPC through the protobuf stubs of ``etcd-sdk-python`` (see
magnetodb/README.md for the measurement behind the choice). Failover is the
engine's own, because only the engine knows which failures are safe to retry:
a request that never reached a member (connection refused) or that a member
refused for lack of a leader is sent to the next member; a read that failed in
flight is read again; a commit that failed in flight has an unknown outcome and
is an error for the request (``EngineError``: MagnetoDB's 500), as a Cassandra
write timeout was.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import grpc
from pyetcd import etcdrpc

from magnetodb.storage.base import Engine, EngineError, EngineLimitError, Txn
from magnetodb.storage.etcd_settings import ETCD_MAX_REQUEST_BYTES, ETCD_MAX_TXN_OPS

T = TypeVar("T")

#: Attempts of one write body before a persistent conflict is an error.
MAX_ATTEMPTS = 64
#: Seconds one request may take; how long a request keeps trying other members.
CALL_TIMEOUT = 5.0
FAILOVER_FOR = 20.0
#: Keys per range request of a scan: small first (a query often wants a few), then larger.
FIRST_PAGE = 32
LAST_PAGE = 2048
#: Sent with every request: a member without a leader refuses at once (etcd's
#: ``WithRequireLeader``) instead of waiting, and the request goes elsewhere.
REQUIRE_LEADER = (("hasleader", "true"),)
_CHANNEL_OPTIONS = (
    ("grpc.max_send_message_length", -1),
    ("grpc.max_receive_message_length", -1),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
)

# How a gRPC failure is handled (``classify``).
UNSENT = "unsent"  # never reached a member: try the next one
NO_LEADER = "no leader"  # refused before any work: try the next one
IN_FLIGHT = "in flight"  # may have been applied: retry reads, fail commits
TOO_LARGE = "too large"
FUTURE = "future revision"  # a serializable read on a member behind the revision
FATAL = "fatal"


def classify(error: grpc.RpcError) -> str:
    """What a failed etcd call means for retrying it (etcd 3.4's error strings)."""
    code, details = error.code(), error.details() or ""
    if code == grpc.StatusCode.UNAVAILABLE:
        if "failed to connect" in details or "Connection refused" in details:
            return UNSENT
        if "no leader" in details or "not capable" in details:
            return NO_LEADER
        return IN_FLIGHT  # leader changed, request timed out, server stopped, socket closed
    if code in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED):
        return IN_FLIGHT
    if "request is too large" in details or "too many operations" in details:
        return TOO_LARGE
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED and "message larger than max" in details:
        return TOO_LARGE
    if code == grpc.StatusCode.OUT_OF_RANGE and "future revision" in details:
        return FUTURE
    return FATAL


class EtcdConnection:
    """gRPC channels to the members, and the engine's failover between them.

    Each process starts on a different member (by pid) so the API servers spread
    their load; a failure that allows it moves this process to the next member.
    Thread-safe (gRPC stubs are).
    """

    def __init__(
        self,
        endpoints: Sequence[str],
        *,
        max_request_bytes: int = ETCD_MAX_REQUEST_BYTES,
        call_timeout: float = CALL_TIMEOUT,
        failover_for: float = FAILOVER_FOR,
    ) -> None:
        if not endpoints:
            raise ValueError("the etcd engine needs at least one endpoint (HOST:PORT)")
        self.endpoints = list(endpoints)
        self.max_request_bytes = max_request_bytes
        self.call_timeout = call_timeout
        self.failover_for = failover_for
        self.current = os.getpid() % len(self.endpoints)
        self._stubs: dict[int, Any] = {}
        self._channels: list[grpc.Channel] = []
        self._lock = threading.Lock()
        self.failovers = 0

    def _stub(self, index: int) -> Any:
        stub = self._stubs.get(index)
        if stub is None:
            with self._lock:
                stub = self._stubs.get(index)
                if stub is None:
                    channel = grpc.insecure_channel(self.endpoints[index], options=_CHANNEL_OPTIONS)
                    self._channels.append(channel)
                    stub = self._stubs[index] = etcdrpc.KVStub(channel)
        return stub

    def _move_on(self, index: int) -> None:
        if self.current == index:
            self.current = (index + 1) % len(self.endpoints)
            self.failovers += 1

    def call(
        self,
        method: str,
        request: Any,
        *,
        commit: bool = False,
        pin: tuple[int, Any] | None = None,
    ) -> tuple[Any, int]:
        """(response, member index) of ``KV.<method>(request)``, failing over as allowed.

        ``commit``: the request changes the store, so a failure in flight is not
        retried. ``pin``: (member, setter): ``setter(request, same_member)`` adjusts
        the request to the member it goes to (a serializable read on the member that
        fixed the revision, a linearizable one elsewhere).
        """
        deadline = time.monotonic() + self.failover_for
        attempt = 0
        last = ""
        while True:
            index = self.current
            if pin is not None:
                pin[1](request, index == pin[0])
            try:
                answer = getattr(self._stub(index), method)(
                    request, timeout=self.call_timeout, metadata=REQUIRE_LEADER
                )
                return answer, index
            except grpc.RpcError as error:
                kind = classify(error)
                last = f"{self.endpoints[index]}: {error.code().name}: {error.details()}"
                if kind == TOO_LARGE:
                    raise EngineLimitError(
                        request.ByteSize(), self.max_request_bytes, "etcd cluster (it refused)"
                    ) from None
                if kind == FUTURE and pin is not None:
                    pin = (-1, pin[1])  # read it linearizably: the member catches up first
                    continue
                if kind == FATAL or (kind == IN_FLIGHT and commit):
                    what = "commit outcome unknown" if kind == IN_FLIGHT else "request failed"
                    raise EngineError(f"etcd {what}: {last}") from None
                self._move_on(index)  # this member cannot serve the request now: the next
            if time.monotonic() > deadline:
                raise EngineError(f"etcd unavailable for {self.failover_for:g}s: {last}")
            time.sleep(min(0.5, 0.01 * 2**attempt) * random.uniform(0.5, 1.0))
            attempt += 1

    def close(self) -> None:
        with self._lock:
            for channel in self._channels:
                channel.close()
            self._channels.clear()
            self._stubs.clear()


def _set_serializable(request: Any, same_member: bool) -> None:
    request.serializable = same_member


def _set_txn_serializable(request: Any, same_member: bool) -> None:
    for op in request.success:
        op.request_range.serializable = same_member


class EtcdReadTxn(Txn):
    """Reads at one revision, fixed by the first (linearizable) read."""

    def __init__(self, conn: EtcdConnection) -> None:
        self.conn = conn
        self.revision = 0
        self.member = -1

    def _range(self, request: Any) -> Any:
        if self.revision:
            request.revision = self.revision
            answer, _ = self.conn.call("Range", request, pin=(self.member, _set_serializable))
            return answer
        answer, self.member = self.conn.call("Range", request)
        self.revision = answer.header.revision
        return answer

    def _get_kv(self, key: bytes) -> Any:
        kvs = self._range(etcdrpc.RangeRequest(key=key)).kvs
        return kvs[0] if kvs else None

    def _get_kvs(self, keys: list[bytes]) -> list[Any]:
        """KeyValues (None where absent) of several keys in one request: a read-only Txn
        of ranges, at the revision."""
        if len(keys) == 1:
            return [self._get_kv(keys[0])]
        ranges = [etcdrpc.RangeRequest(key=key, revision=self.revision) for key in keys]
        request = etcdrpc.TxnRequest(success=[etcdrpc.RequestOp(request_range=r) for r in ranges])
        if self.revision:
            answer, _ = self.conn.call("Txn", request, pin=(self.member, _set_txn_serializable))
        else:
            answer, self.member = self.conn.call("Txn", request)
            self.revision = answer.header.revision
        return [
            one.response_range.kvs[0] if one.response_range.kvs else None
            for one in answer.responses
        ]

    def get(self, key: bytes) -> bytes | None:
        kv = self._get_kv(key)
        return kv.value if kv is not None else None

    def get_many(self, keys: list[bytes]) -> list[bytes | None]:
        if not keys:
            return []
        return [kv.value if kv is not None else None for kv in self._get_kvs(keys)]

    def put(self, key: bytes, value: bytes) -> None:
        raise PermissionError("read-only transaction")

    def delete(self, key: bytes) -> None:
        raise PermissionError("read-only transaction")

    def delete_range(self, start: bytes, stop: bytes) -> None:
        raise PermissionError("read-only transaction")

    def _scan_kvs(self, start: bytes, stop: bytes, reverse: bool) -> Iterator[Any]:
        """KeyValues with ``start <= key < stop`` in pages of growing size, at the revision.

        etcd 3.4 walks its whole in-memory index over the range for each request,
        and a descending range reads every key of it before sorting: both costs
        are etcd's, reported rather than hidden.
        """
        limit = FIRST_PAGE
        lo, hi = start, stop
        order = etcdrpc.RangeRequest.DESCEND if reverse else etcdrpc.RangeRequest.NONE
        while lo < hi:
            request = etcdrpc.RangeRequest(
                key=lo,
                range_end=hi,
                limit=limit,
                sort_order=order,
                sort_target=etcdrpc.RangeRequest.KEY,
            )
            answer = self._range(request)
            yield from answer.kvs
            if not answer.more or not answer.kvs:
                return
            last = answer.kvs[-1].key
            if reverse:
                hi = last
            else:
                lo = last + b"\x00"
            limit = min(limit * 4, LAST_PAGE)

    def scan(
        self, start: bytes, stop: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        for kv in self._scan_kvs(start, stop, reverse):
            yield kv.key, kv.value


class _Conflict(Exception):
    """A key or range this transaction read changed before its commit."""


def _in_ranges(key: bytes, ranges: list[tuple[bytes, bytes]]) -> bool:
    return any(lo <= key < hi for lo, hi in ranges)


class EtcdWriteTxn(EtcdReadTxn):
    """An optimistic transaction: reads at a revision, buffered writes, one conditional commit."""

    def __init__(self, conn: EtcdConnection) -> None:
        super().__init__(conn)
        #: key -> mod_revision it had at the revision (0: absent)
        self.seen: dict[bytes, int] = {}
        #: [lo, hi) ranges scanned (as far as the body consumed them)
        self.scanned: list[list[bytes]] = []
        #: key -> new value (None: deleted)
        self.writes: dict[bytes, bytes | None] = {}
        self.deleted_ranges: list[tuple[bytes, bytes]] = []

    # ---------------------------------------------------------------- reads
    def get(self, key: bytes) -> bytes | None:
        if key in self.writes:
            return self.writes[key]
        if _in_ranges(key, self.deleted_ranges):
            return None
        kv = self._get_kv(key)
        self.seen.setdefault(key, kv.mod_revision if kv is not None else 0)
        return kv.value if kv is not None else None

    def get_many(self, keys: list[bytes]) -> list[bytes | None]:
        found: dict[bytes, bytes | None] = {}
        remote = []
        for key in keys:
            if key in self.writes:
                found[key] = self.writes[key]
            elif _in_ranges(key, self.deleted_ranges):
                found[key] = None
            else:
                remote.append(key)
        if remote:
            for key, kv in zip(remote, self._get_kvs(remote), strict=True):
                self.seen.setdefault(key, kv.mod_revision if kv is not None else 0)
                found[key] = kv.value if kv is not None else None
        return [found[key] for key in keys]

    def scan(
        self, start: bytes, stop: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """The snapshot's pairs overlaid with this transaction's own writes."""
        record = [stop, stop] if reverse else [start, start]
        self.scanned.append(record)
        own = sorted(
            (k for k in self.writes if start <= k < stop and self.writes[k] is not None),
            reverse=reverse,
        )
        stored = self._scan_recording(start, stop, reverse, record)
        ahead = (lambda a, b: a > b) if reverse else (lambda a, b: a < b)
        i = 0
        for key, value in stored:
            while i < len(own) and ahead(own[i], key):
                yield own[i], self.writes[own[i]]  # type: ignore[misc]
                i += 1
            if key in self.writes or _in_ranges(key, self.deleted_ranges):
                continue  # overwritten (yielded from ``own``) or deleted here
            yield key, value
        for key in own[i:]:
            yield key, self.writes[key]  # type: ignore[misc]

    def _scan_recording(
        self, start: bytes, stop: bytes, reverse: bool, record: list[bytes]
    ) -> Iterator[tuple[bytes, bytes]]:
        for kv in self._scan_kvs(start, stop, reverse):
            self.seen.setdefault(kv.key, kv.mod_revision)
            if reverse:
                record[0] = kv.key
            else:
                record[1] = kv.key + b"\x00"
            yield kv.key, kv.value
        record[:] = [start, stop]

    # ---------------------------------------------------------------- writes
    def put(self, key: bytes, value: bytes) -> None:
        self.writes[key] = bytes(value)

    def delete(self, key: bytes) -> None:
        self.writes[key] = None

    def delete_range(self, start: bytes, stop: bytes) -> None:
        for key in [k for k in self.writes if start <= k < stop]:
            del self.writes[key]
        self.deleted_ranges.append((start, stop))

    # ---------------------------------------------------------------- commit
    def _compares(self) -> list[Any]:
        mod, equal, less = etcdrpc.Compare.MOD, etcdrpc.Compare.EQUAL, etcdrpc.Compare.LESS
        compares = [
            etcdrpc.Compare(key=key, target=mod, result=equal, mod_revision=revision)
            for key, revision in self.seen.items()
        ]
        compares += [
            etcdrpc.Compare(
                key=lo, range_end=hi, target=mod, result=less, mod_revision=self.revision + 1
            )
            for lo, hi in self.scanned
            if lo < hi
        ]
        return compares

    def _operations(self) -> list[Any]:
        ops = []
        puts = sorted(k for k, v in self.writes.items() if v is not None)
        for start, hi in self.deleted_ranges:
            # etcd refuses a put inside a range the same Txn deletes: cut the range around it
            lo = start
            for key in (k for k in puts if start <= k < hi):
                if lo < key:
                    ops.append(_delete_op(lo, key))
                lo = key + b"\x00"
            if lo < hi:
                ops.append(_delete_op(lo, hi))
        for key, value in self.writes.items():
            if value is None:
                if not _in_ranges(key, self.deleted_ranges):
                    ops.append(_delete_op(key))
            else:
                ops.append(etcdrpc.RequestOp(request_put=etcdrpc.PutRequest(key=key, value=value)))
        return ops

    def commit(self) -> None:
        """Apply the writes if nothing read has changed; raises ``_Conflict`` otherwise."""
        ops = self._operations()
        if not ops:
            return  # read only: the snapshot was consistent, nothing to apply
        request = etcdrpc.TxnRequest(compare=self._compares(), success=ops)
        size = request.ByteSize()
        if size > self.conn.max_request_bytes:
            raise EngineLimitError(size, self.conn.max_request_bytes, "etcd --max-request-bytes")
        if max(len(request.compare), len(ops)) > ETCD_MAX_TXN_OPS:
            raise EngineLimitError(
                max(len(request.compare), len(ops)), ETCD_MAX_TXN_OPS, "etcd --max-txn-ops"
            )
        answer, _ = self.conn.call("Txn", request, commit=True)
        if not answer.succeeded:
            raise _Conflict()


def _delete_op(key: bytes, range_end: bytes | None = None) -> Any:
    request = etcdrpc.DeleteRangeRequest(key=key)
    if range_end is not None:
        request.range_end = range_end
    return etcdrpc.RequestOp(request_delete_range=request)


class EtcdEngine(Engine):
    """The store on an etcd v3 cluster; every API server process opens its own connection."""

    name = "etcd"
    multi_process = True
    durable_commits = True  # etcd fsyncs its WAL before it acknowledges a commit

    def __init__(
        self,
        endpoints: Sequence[str] | str,
        *,
        max_request_bytes: int = ETCD_MAX_REQUEST_BYTES,
        call_timeout: float = CALL_TIMEOUT,
        failover_for: float = FAILOVER_FOR,
    ) -> None:
        if isinstance(endpoints, str):
            endpoints = [e.strip() for e in endpoints.split(",") if e.strip()]
        self.conn = EtcdConnection(
            endpoints,
            max_request_bytes=max_request_bytes,
            call_timeout=call_timeout,
            failover_for=failover_for,
        )
        #: write bodies run again after a conflict (for the benchmark and tests)
        self.conflicts = 0

    @property
    def endpoints(self) -> list[str]:
        return self.conn.endpoints

    @contextlib.contextmanager
    def read(self) -> Iterator[Txn]:
        yield EtcdReadTxn(self.conn)

    @contextlib.contextmanager
    def write(self) -> Iterator[Txn]:
        """One attempt: a conflict is an ``EngineError`` (``transact`` retries instead)."""
        txn = EtcdWriteTxn(self.conn)
        yield txn
        try:
            txn.commit()
        except _Conflict:
            self.conflicts += 1
            raise EngineError("write conflict: a key this transaction read has changed") from None

    def transact(self, body: Callable[[Txn], T]) -> T:
        for attempt in range(MAX_ATTEMPTS):
            txn = EtcdWriteTxn(self.conn)
            result = body(txn)
            try:
                txn.commit()
            except _Conflict:
                self.conflicts += 1
                time.sleep(random.uniform(0, min(0.05, 0.0005 * 2**attempt)))
                continue
            return result
        raise EngineError(f"write conflict persisted over {MAX_ATTEMPTS} attempts")

    def describe(self) -> str:
        return f"etcd endpoints={','.join(self.endpoints)} (Raft, WAL fsync per commit)"

    def nodes(self) -> list[str]:
        return list(self.endpoints)

    def close(self) -> None:
        self.conn.close()
