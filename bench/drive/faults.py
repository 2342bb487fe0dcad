"""Fault injection for the MagnetoDB backend: a crash between two writes, on demand.

The design writes one fact twice in separate requests (``docs/magnetodb-design.md``
orders them so a crash between them leaves a recognisable state). This module
makes that crash happen: ``install(backend, FaultOptions(...))`` wraps the
backend's client transport so that a chosen request *of a chosen DB API call*
is not sent and raises ``InjectedFault`` (a transport error: the backend turns
it into ``DBError``). By default the call then *crashes*: its later requests
fail too, so no cleanup path runs and the store keeps exactly what a process
that died between two writes leaves (``crash=False`` fails the one request
and lets the backend's error handling run: its write journal undoes the call).
``lost_answer`` sends the chosen request and then fails it (``LostAnswer``): the
write stands and the backend cannot know, as after a timeout. Rules select
requests by the call running (``cinderdb.base.current_call()``), the request
type and table, the request's position among the call's writes ("the 2nd write
of ``volume_attach``"), or whether it is conditional; a rate fails a matching
request with that probability. The decision is a hash of the seed and the
request (call, position, type, table, item key), not of thread timing, so the
same seed and workload fail the same requests.

``unsafe_no_conditions`` turns the design's optimistic concurrency off: every
``version`` condition is dropped from ``expected``, so read-modify-writes
(``modify``, metadata rewrites, quota usages) overwrite what raced them, and the
attachments map is written the way the seed's *list* of attachments must be —
read the map, change it locally, write it back whole (``race_window`` seconds
later) — instead of the atomic map ADD/DELETE this backend uses. Concurrent
attaches then lose updates, which the validators must find.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from cinderdb.api import FUNCTIONS
from cinderdb.base import current_call
from magnetodb.errors import MagnetoTransportError

WRITE_OPS = frozenset({"put_item", "update_item", "delete_item", "batch_write_item"})
#: The embedded maps that stand in for the seed's lists: unsafe mode rewrites them whole.
LIST_MAPS = frozenset({("volumes", "volume_attachment")})


class InjectedFault(MagnetoTransportError):
    """A request the fault injector refused to send (the backend crashed before it)."""

    default_message = "injected fault"
    sent = False


class LostAnswer(InjectedFault):
    """A request the fault injector sent, then lost its answer: the server applied it, the
    backend cannot know (``FaultOptions(lost_answer=True)``)."""

    sent = None


@dataclass(frozen=True)
class FaultRule:
    """Which requests may fail. Every given filter must match; ``None`` matches anything.

    ``write`` is the request's position among the writes of its call (1-based),
    ``nth`` its position among the requests of its call that match the other
    filters. Requests outside a DB API call (schema, bulk load) never match.
    """

    name: str
    calls: frozenset[str] | None = None
    ops: frozenset[str] | None = None
    tables: frozenset[str] | None = None
    write: int | None = None
    nth: int | None = None
    conditional: bool | None = None
    rate: float | None = None  # overrides the options' rate

    def selects(
        self, call: str, op: str, tables: frozenset[str], write: int | None, body: Any
    ) -> bool:
        """The filters other than ``nth`` (a batch matches a table it writes or reads)."""
        if self.calls is not None and call not in self.calls:
            return False
        if self.ops is not None and op not in self.ops:
            return False
        if self.tables is not None and not self.tables & tables:
            return False
        if self.write is not None and write != self.write:
            return False
        return self.conditional is None or bool(body().get("expected")) == self.conditional


#: The named plans of ``--fault-plan``.
PLANS: dict[str, tuple[FaultRule, ...]] = {
    # a crash between the first and the second write of any call that writes twice or more
    "second-write": (FaultRule("2nd write of a call", write=2),),
    # the 2nd write of volume_attach: an attachment row no volume lists
    "attach": (
        FaultRule("2nd write of volume_attach", calls=frozenset({"volume_attach"}), write=2),
    ),
    # a conditional write (read-modify-write, claim, visibility-guarded update) fails
    "conditional": (FaultRule("conditional write", ops=WRITE_OPS, conditional=True),),
    # any write, any call
    "writes": (FaultRule("any write", ops=WRITE_OPS),),
    # any request, reads included
    "requests": (FaultRule("any request"),),
}
DEFAULT_PLAN = "second-write"
_RULE_FIELDS = {"call": "calls", "op": "ops", "table": "tables"}


def parse_plan(spec: str) -> tuple[FaultRule, ...]:
    """A named plan, or one rule as ``call=NAME,op=OP,table=T,write=N,nth=N,conditional=1``
    (``call``, ``op`` and ``table`` take ``|``-separated alternatives)."""
    if spec in PLANS:
        return PLANS[spec]
    if "=" not in spec:
        raise ValueError(f"unknown fault plan {spec!r}; named plans: {', '.join(sorted(PLANS))}")
    values: dict[str, Any] = {}
    for part in spec.split(","):
        key, _, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if key in _RULE_FIELDS:
            values[_RULE_FIELDS[key]] = frozenset(value.split("|"))
        elif key in ("write", "nth"):
            values[key] = int(value)
        elif key == "conditional":
            values[key] = value.lower() in ("1", "true", "yes")
        elif key == "rate":
            values[key] = float(value)
        else:
            raise ValueError(f"unknown fault rule field {key!r} in {spec!r}")
    unknown = set(values.get("calls") or ()) - set(FUNCTIONS)
    if unknown:
        raise ValueError(f"not DB API functions: {', '.join(sorted(unknown))}")
    return (FaultRule(spec, **values),)


@dataclass
class FaultOptions:
    """What ``--fault-rate``, ``--fault-plan`` and ``--unsafe-no-conditions`` ask for."""

    rate: float = 0.0
    plan: str = DEFAULT_PLAN
    unsafe_no_conditions: bool = False
    seed: int = 1
    max_faults: int | None = None
    race_window: float = 0.0
    #: a fault kills its call: every later request of that call fails too, so no cleanup
    #: runs (a process crash); False fails the one request (the backend's error path runs)
    crash: bool = True
    #: a fault sends its request and loses the answer (``LostAnswer``: applied, and the
    #: backend cannot tell) instead of not sending it
    lost_answer: bool = False
    rules: tuple[FaultRule, ...] | None = None  # instead of ``plan``

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"a fault rate is between 0 and 1, not {self.rate}")
        self.plan_rules()  # an unknown plan is refused before anything runs

    @property
    def active(self) -> bool:
        return self.rate > 0 or self.unsafe_no_conditions or bool(self.rules)

    def plan_rules(self) -> tuple[FaultRule, ...]:
        return self.rules if self.rules is not None else parse_plan(self.plan)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["rules"] = [rule.name for rule in self.plan_rules()]
        return data


# ----------------------------------------------------------------- injector


@dataclass
class _CallState:
    """The requests of one outermost DB API call on one thread."""

    name: str
    seq: int
    requests: int = 0
    writes: int = 0
    matches: dict[int, int] = field(default_factory=dict)
    crashed: Fault | None = None


@dataclass(frozen=True)
class Fault:
    """One request that was made to fail."""

    id: int
    t: float
    call: str
    call_seq: int
    op: str
    table: str | None
    request: int
    write: int | None
    rule: str
    key: Any
    thread: str

    def message(self) -> str:
        where = f"write {self.write}" if self.write else f"request {self.request}"
        table = f" {self.table}" if self.table else ""
        return f"injected fault #{self.id}: {self.op}{table} ({where} of {self.call})"


class FaultInjector:
    """Decides, per request, whether it fails; keeps the faults it injected."""

    def __init__(self, options: FaultOptions, log_path: str | Path | None = None) -> None:
        self.options = options
        self.rules = options.plan_rules() if options.rate > 0 or options.rules else ()
        self.faults: list[Fault] = []
        self.requests = 0
        self._local = threading.local()
        self._calls = itertools.count(1)
        self._lock = threading.Lock()
        self._log = open(log_path, "wb") if log_path else None  # noqa: SIM115 - close()

    def begin_call(self, name: str) -> None:
        """An outermost DB API call starts on this thread: positions count from here."""
        self._local.state = _CallState(name, next(self._calls))

    def _state(self, call: str) -> _CallState:
        state = getattr(self._local, "state", None)
        if state is None or state.name != call:  # the call was not entered through install()
            state = _CallState(call, next(self._calls))
            self._local.state = state
        return state

    def check(self, op: str, table: str | None, body: Any) -> Fault | None:
        """Raise ``InjectedFault`` if this request (of the running call) is to fail; with
        ``lost_answer``, return the fault instead (the request is sent, then fails)."""
        call = current_call()
        if call is None or not self.rules:
            return None
        state = self._state(call)
        if state.crashed is not None:
            raise InjectedFault(f"{state.crashed.message()} (the call has crashed)")
        state.requests += 1
        write = None
        if op in WRITE_OPS:
            state.writes += 1
            write = state.writes
        if table is None and op.startswith("batch_"):  # a batch: the tables it names
            table = ",".join(sorted(body().get("request_items", {}))) or None
        tables = frozenset(table.split(",")) if table else frozenset()
        for index, rule in enumerate(self.rules):
            if not rule.selects(call, op, tables, write, body):
                continue
            state.matches[index] = nth = state.matches.get(index, 0) + 1
            if rule.nth is not None and nth != rule.nth:
                continue
            rate = self.options.rate if rule.rate is None else rule.rate
            key = _request_key(body())
            if not self._decide(rate, call, op, table, state.requests, key):
                continue
            with self._lock:
                if (
                    self.options.max_faults is not None
                    and len(self.faults) >= self.options.max_faults
                ):
                    return None
                fault = Fault(
                    len(self.faults) + 1,
                    time.time(),
                    call,
                    state.seq,
                    op,
                    table,
                    state.requests,
                    write,
                    rule.name,
                    key,
                    threading.current_thread().name,
                )
                self.faults.append(fault)
                if self.options.crash:
                    state.crashed = fault
                if self._log is not None:
                    self._log.write(orjson.dumps(dataclasses.asdict(fault)) + b"\n")
                    self._log.flush()
            if self.options.lost_answer:
                return fault
            raise InjectedFault(fault.message())
        return None

    def _decide(
        self, rate: float, call: str, op: str, table: str | None, pos: int, key: Any
    ) -> bool:
        if rate >= 1.0:
            return True
        if rate <= 0.0:
            return False
        text = f"{self.options.seed}|{call}|{pos}|{op}|{table}|{orjson.dumps(key).decode()}"
        digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64 < rate

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


def _request_key(body: Mapping[str, Any]) -> Any:
    """What identifies the items a request touches (for the decision and the fault log)."""
    if "key" in body:
        return body["key"]
    if "item" in body:
        return body["item"].get("id") or body["item"].get("name") or sorted(body["item"])[:2]
    if "request_items" in body:
        keys = []
        for table, requests in sorted(body["request_items"].items()):
            for request in requests if isinstance(requests, list) else requests.get("keys", []):
                inner = request.get("put_request", {}).get("item") or request.get(
                    "delete_request", {}
                ).get("key", request)
                keys.append([table, inner])
        return keys[:4]
    return None


# ---------------------------------------------------------------- transport


def _parse_path(path: str) -> tuple[str, str | None]:
    """``(request type, table)`` of a data API path."""
    parts = path.split("?", 1)[0].rstrip("/").split("/")
    if len(parts) >= 2 and parts[-3:-2] == ["tables"]:
        return parts[-1], parts[-2]
    return parts[-1], None


class FaultTransport:
    """A client transport that injects faults and, in unsafe mode, rewrites conditions."""

    def __init__(self, inner: Any, injector: FaultInjector) -> None:
        self.inner = inner
        self.injector = injector
        self.unsafe = injector.options.unsafe_no_conditions

    def handle_request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        op, table = _parse_path(path)
        parsed = functools.cache(lambda: orjson.loads(body) if body else {})
        self.injector.requests += 1
        lost = self.injector.check(op, table, parsed)
        if self.unsafe and op in ("put_item", "update_item", "delete_item"):
            request = _without_version(parsed())
            if op == "update_item" and _list_map_change(table, request):
                request = self._rewrite_whole(path, request, headers, table)
            body = orjson.dumps(request)
        answer = self.inner.handle_request(method, path, body, headers)
        if lost is not None:
            raise LostAnswer(f"{lost.message()} (sent; its answer was lost)")
        return answer

    def _rewrite_whole(
        self, path: str, request: dict[str, Any], headers: dict[str, str], table: str | None
    ) -> dict[str, Any]:
        """The seed's list write: read the map, apply the change locally, write it whole."""
        read_path = path.rsplit("/", 1)[0] + "/get_item"
        maps = [a for t, a in LIST_MAPS if t == table and a in request["attribute_updates"]]
        query = orjson.dumps({"key": request["key"], "attributes_to_get": maps})
        status, raw = self.inner.handle_request("POST", read_path, query, headers)
        item = orjson.loads(raw).get("item", {}) if status < 300 else {}
        time.sleep(self.injector.options.race_window)
        updates = dict(request["attribute_updates"])
        for attribute in maps:
            current = dict(item.get(attribute, {}).get("SSM", {}))
            action = updates[attribute]
            if action["action"] == "ADD":
                current.update(action["value"]["SSM"])
            elif action["action"] == "DELETE":
                for member in action.get("value", {}).get("SS", list(current)):
                    current.pop(member, None)
            else:
                continue
            updates[attribute] = (
                {"action": "PUT", "value": {"SSM": current}} if current else {"action": "DELETE"}
            )
        return {**request, "attribute_updates": updates}

    def close(self) -> None:
        self.inner.close()
        self.injector.close()


def _without_version(request: dict[str, Any]) -> dict[str, Any]:
    """The request with its ``version`` condition dropped (optimistic concurrency off)."""
    expected = request.get("expected")
    if not expected or "version" not in expected:
        return request
    rest = {name: condition for name, condition in expected.items() if name != "version"}
    request = {k: v for k, v in request.items() if k != "expected"}
    if rest:
        request["expected"] = rest
    return request


def _list_map_change(table: str | None, request: dict[str, Any]) -> bool:
    updates = request.get("attribute_updates", {})
    return any(
        t == table and updates.get(a, {}).get("action") in ("ADD", "DELETE") for t, a in LIST_MAPS
    )


# ------------------------------------------------------------------ install


#: The injector installed on each backend (``uninstall`` finds it here, not on the backend).
INSTALLED: weakref.WeakKeyDictionary[Any, FaultInjector] = weakref.WeakKeyDictionary()


def install(
    backend: Any, options: FaultOptions, log_path: str | Path | None = None
) -> FaultInjector | None:
    """Make ``backend`` (a MagnetoDB backend) fail as ``options`` say; None when inactive or
    not a MagnetoDB backend. Install before wrapping the backend (``Instrumented``): the
    backend's API methods are wrapped so each outermost call restarts the positions."""
    if not options.active or backend.side != "magnetodb":
        return None
    uninstall(backend)
    injector = FaultInjector(options, log_path)
    INSTALLED[backend] = injector
    client = backend.client
    client.transport = FaultTransport(client.transport, injector)
    for name in FUNCTIONS:
        setattr(backend, name, _entered(injector, name, getattr(backend, name)))
    return injector


def uninstall(backend: Any) -> None:
    """Undo ``install`` (a no-op when nothing is installed)."""
    injector = INSTALLED.pop(backend, None)
    if injector is None:
        return
    transport = backend.client.transport
    if isinstance(transport, FaultTransport):
        backend.client.transport = transport.inner
    for name in FUNCTIONS:
        backend.__dict__.pop(name, None)
    injector.close()


def _entered(injector: FaultInjector, name: str, method: Any) -> Any:
    @functools.wraps(method)
    def entered(*args: Any, **kwargs: Any) -> Any:
        if current_call() is None:
            injector.begin_call(name)
        return method(*args, **kwargs)

    return entered
