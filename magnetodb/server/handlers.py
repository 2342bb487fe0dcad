"""Request handlers: validate (pure), call storage, shape MagnetoDB's response JSON.

Handlers never see sockets; they return a dict (serialized by the app) or
ready JSON bytes when stored item JSON can be spliced in without re-encoding.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from magnetodb.errors import NotFound, TableNotExistsException, ValidationError
from magnetodb.server import validation as v
from magnetodb.server.request import Request
from magnetodb.storage.base import DURABILITY

if TYPE_CHECKING:
    from magnetodb.storage.tables import Storage, TableMeta


class Served(Protocol):
    """What a handler uses of the app that calls it (``app.App``): its storage. Typed by
    this, not by ``App``, so the handlers need not import the app that routes to them."""

    storage: Storage


def _project(req: Request) -> str:
    return v.project_id(req.params["project_id"])


def _table(req: Request) -> str:
    name = req.params["table_name"]
    if not name:  # MagnetoDB's controllers: `if not table_name: pecan.abort(404)`
        raise NotFound(f"The resource could not be found: {req.path[:200]}")
    return v.table_name(name)


def _pop_param(pairs: list[tuple[str, str]], name: str) -> str | None:
    """Remove the first ``name`` from ``pairs`` and give its value (webob's MultiDict.pop)."""
    for i, (k, value) in enumerate(pairs):
        if k == name:
            del pairs[i]
            return value
    return None


# ---------------------------------------------------------------- health

#: MagnetoDB's HealthCheckApp: fullcheck values that mean yes, and its answer's key order
#: (Python 2's order of its dict, which json.dumps kept).
_TRUE_VALUES = frozenset(("true", "1", "yes", "on", "t", "y"))
_FULLCHECK_ORDER = ("Messaging", "API", "Storage", "Identity")


def healthcheck(app: Served, req: Request) -> bytes | tuple[int, bytes]:
    """``{"API": "OK"}`` as MagnetoDB's json.dumps wrote it; with ``?fullcheck=`` yes, each
    subsystem too, and a 503 (the same JSON, no error body) when the storage fails.

    ``&engine=`` yes (not MagnetoDB's, so none of its clients sends it) adds, after
    MagnetoDB's keys, what the store is and whether a commit survives power loss: the
    harness reports both in a run's engine info."""
    pairs = req.query_pairs()
    if _first(pairs, "fullcheck") not in _TRUE_VALUES:
        return _HEALTHY
    engine = app.storage.engine
    try:
        ok = engine.check()
    except Exception:
        ok = False
    status = {
        "API": "OK",
        "Storage": "OK" if ok else "ERROR",
        "Identity": "Not Implemented",
        "Messaging": "Not Implemented",
    }
    ordered = {k: status[k] for k in _FULLCHECK_ORDER}
    if _first(pairs, "engine") in _TRUE_VALUES:
        ordered["Storage engine"] = engine.name
        ordered["Durability"] = DURABILITY[engine.durable_commits]
        if engine.nodes():
            ordered["Storage nodes"] = ",".join(engine.nodes())
    body = json.dumps(ordered).encode()
    return body if ok else (503, body)


_HEALTHY = json.dumps({"API": "OK"}).encode()


def _first(pairs: list[tuple[str, str]], name: str) -> str | None:
    """The first non-empty value of a query parameter."""
    return next((value for key, value in pairs if key == name and value), None)


# ---------------------------------------------------------------- tables


def _key_schema(hash_key: str, range_key: str | None) -> list[dict[str, str]]:
    ks = [{"key_type": "HASH", "attribute_name": hash_key}]
    if range_key is not None:
        ks.append({"key_type": "RANGE", "attribute_name": range_key})
    return ks


def table_description(meta: TableMeta, url: str, always_lsi: bool = False) -> dict[str, Any]:
    schema = meta.schema
    desc: dict[str, Any] = {
        "attribute_definitions": [
            {"attribute_name": n, "attribute_type": t} for n, t in schema.attribute_types.items()
        ],
        "creation_date_time": meta.created,
        "item_count": 0,
        "key_schema": _key_schema(schema.hash_key, schema.range_key),
        "table_id": meta.table_id,
        "table_name": meta.name,
        "table_status": meta.status,
        "table_size_bytes": 0,
        "links": [{"href": url, "rel": "self"}, {"href": url, "rel": "bookmark"}],
    }
    if schema.indexes or always_lsi:
        lsis = []
        for idx in schema.indexes.values():
            proj: dict[str, Any] = {"projection_type": idx.projection_type}
            if idx.projection_type == "INCLUDE":
                proj["non_key_attributes"] = list(idx.non_key_attributes or ())
            lsis.append(
                {
                    "index_name": idx.name,
                    "key_schema": _key_schema(schema.hash_key, idx.range_key),
                    "projection": proj,
                    "item_count": 0,
                    "index_size_bytes": 0,
                }
            )
        desc["local_secondary_indexes"] = lsis
    return desc


def _table_url(req: Request, project: str, table: str) -> str:
    return f"{req.base_url}/v1/data/{project}/tables/{table}"


def create_table(app: Served, req: Request) -> dict[str, Any]:
    project = _project(req)
    name, schema = v.create_table(req.json())
    meta = app.storage.create_table(project, name, schema)
    return {"table_description": table_description(meta, _table_url(req, project, name))}


def describe_table(app: Served, req: Request) -> dict[str, Any]:
    project, table = _project(req), _table(req)
    meta = app.storage.describe_table(project, table)
    return {"table": table_description(meta, _table_url(req, project, table))}


def delete_table(app: Served, req: Request) -> dict[str, Any]:
    project, table = _project(req), _table(req)
    meta = app.storage.delete_table(project, table)
    url = _table_url(req, project, table)
    return {"table_description": table_description(meta, url, always_lsi=True)}


def list_tables(app: Served, req: Request) -> dict[str, Any]:
    project = _project(req)
    params = req.query_pairs()
    start = _pop_param(params, "exclusive_start_table_name")
    if start:
        v.table_name(start)
    limit_text = _pop_param(params, "limit")
    limit = v.integer(limit_text, "limit", 1) if limit_text else None
    v.unexpected_params(params)
    names = app.storage.list_tables(project, limit, start or None)
    out: dict[str, Any] = {}
    if limit is not None and len(names) == limit:
        out["last_evaluated_table_name"] = names[-1]
    out["tables"] = [{"rel": "self", "href": _table_url(req, project, n)} for n in names]
    return out


# ---------------------------------------------------------------- items


def _attributes(item: dict | None) -> dict[str, Any]:
    return {"attributes": item or {}}


def put_item(app: Served, req: Request) -> dict[str, Any]:
    project, table = _project(req), _table(req)
    r = v.put_item(req.json())
    old = app.storage.put_item(project, table, r.item, r.expected, r.return_values)
    if r.return_values == "ALL_OLD" and old:  # MagnetoDB: `if old_item:`; a new key gives {}
        return {"attributes": old}
    if r.return_values == "ALL_NEW":
        return _attributes(r.item)
    return {}


def get_item(app: Served, req: Request) -> bytes | dict[str, Any]:
    project, table = _project(req), _table(req)
    r = v.get_item(req.json())
    if r.attributes_to_get is None:
        raw = app.storage.get_item_raw(project, table, r.key)
        return b'{"item":' + raw + b"}" if raw is not None else b"{}"
    item = app.storage.get_item(project, table, r.key, r.attributes_to_get)
    return {"item": item} if item is not None else {}


def update_item(app: Served, req: Request) -> dict[str, Any]:
    project, table = _project(req), _table(req)
    r = v.update_item(req.json())
    result = app.storage.update_item(project, table, r.key, r.updates, r.expected, r.return_values)
    return {} if r.return_values == "NONE" else _attributes(result)


def delete_item(app: Served, req: Request) -> dict[str, Any]:
    project, table = _project(req), _table(req)
    r = v.delete_item(req.json())
    old = app.storage.delete_item(project, table, r.key, r.expected)
    return _attributes(old) if r.return_values == "ALL_OLD" else {}


# ---------------------------------------------------------------- query / scan


def _select_body(res: Any, with_items: bool, extra: bytes = b"") -> bytes:
    parts = [b'{"count":', str(res.count).encode(), extra]
    if with_items:
        if res.raw_items is not None:
            parts += [b',"items":[', b",".join(res.raw_items), b"]"]
        else:
            parts += [b',"items":', orjson.dumps(res.items)]
    if res.last_key is not None:
        parts += [b',"last_evaluated_key":', orjson.dumps(res.last_key)]
    parts.append(b"}")
    return b"".join(parts)


def query(app: Served, req: Request) -> bytes:
    project, table = _project(req), _table(req)
    r = v.query(req.json())
    res = app.storage.query(
        project,
        table,
        r.conditions,
        index_name=r.index_name,
        select=r.select,
        attributes_to_get=r.attributes_to_get,
        limit=r.limit,
        exclusive_start_key=r.exclusive_start_key,
        forward=r.forward,
    )
    return _select_body(res, r.select != "COUNT")


def scan(app: Served, req: Request) -> bytes:
    project, table = _project(req), _table(req)
    r = v.scan(req.json())
    res = app.storage.scan(
        project,
        table,
        r.scan_filter,
        attributes_to_get=r.attributes_to_get,
        count_only=r.count_only,
        limit=r.limit,
        exclusive_start_key=r.exclusive_start_key,
        segment=r.segment,
        total_segments=r.total_segments,
    )
    return _select_body(res, not r.count_only, b',"scanned_count":%d' % res.scanned_count)


# ---------------------------------------------------------------- batches


def batch_write_item(app: Served, req: Request) -> dict[str, Any]:
    project = _project(req)
    requests = v.batch_write_item(req.json())
    unprocessed = app.storage.batch_write(project, requests)
    return {
        "unprocessed_items": {
            table: [
                {"put_request": {"item": body}}
                if kind == "put"
                else {"delete_request": {"key": body}}
                for kind, body in reqs
            ]
            for table, reqs in unprocessed.items()
        }
    }


def bulk_load(app: Served, req: Request) -> dict[str, Any]:
    """MagnetoDB's streaming bulk load (its port 8481 server, here a route of the data API):
    one item per line of newline-delimited JSON, each put as ``put_item`` would without a
    condition. The first line refused (not JSON, not an item, a key missing or of the wrong
    type, too large) stops the load: it is ``failed``, every later line ``unprocessed``.
    A line the store fails to write is ``failed`` too. Always a 200 once the path is right:
    the counts say what happened."""
    project, table = _project(req), _table(req)
    body = req.body
    lines = body.split(b"\n")
    if lines[-1] == b"":  # the newline that ends the last line starts no other
        lines.pop()
    if not lines:  # MagnetoDB's loop read nothing: nothing checked, not even the table
        return _bulk_answer(0, 0, 0, 0, None, {})
    outcome = app.storage.bulk_put(project, table, _bulk_items(lines))
    ended = body.endswith(b"\n")

    def quoted(index: int) -> str:
        """Line ``index`` as MagnetoDB's ``readline`` gave it: with its newline, if any."""
        text = lines[index].decode("utf-8", "replace")
        return text + "\n" if ended or index < len(lines) - 1 else text

    failed: dict[int, BaseException] = dict(outcome.failed)
    stopped = outcome.refused is not None
    if stopped:
        failed[outcome.taken] = outcome.refused  # type: ignore[assignment]
    return _bulk_answer(
        len(lines),
        outcome.taken - len(outcome.failed),
        len(lines) - outcome.taken - stopped,
        len(outcome.failed) + stopped,
        # the last line MagnetoDB tried: the refused one when the load stopped
        quoted(outcome.taken if stopped else len(lines) - 1),
        {quoted(index): repr(exc) for index, exc in failed.items()},
    )


def _bulk_answer(
    read: int,
    processed: int,
    unprocessed: int,
    failed: int,
    last_item: str | None,
    failed_items: dict[str, str],
) -> dict[str, Any]:
    return {
        "read": read,
        "processed": processed,
        "unprocessed": unprocessed,
        "failed": failed,
        "last_item": last_item,
        "failed_items": failed_items,
    }


def _bulk_items(lines: list[bytes]) -> Any:
    for line in lines:
        yield v.item(v.json_document(line, "item line"))


def batch_get_item(app: Served, req: Request) -> bytes:
    project = _project(req)
    requests = v.batch_get_item(req.json())
    found = app.storage.batch_get(project, requests)
    parts = [b'{"responses":{']
    for table, items in found.items():
        if not items:  # MagnetoDB lists only the tables it found items in
            continue
        if len(parts) > 1:
            parts.append(b",")
        parts += [orjson.dumps(table), b":["]
        parts.append(
            b",".join(x if type(x) is bytes else orjson.dumps(x) for x in items)  # type: ignore[misc]
        )
        parts.append(b"]")
    parts.append(b'},"unprocessed_keys":{}}')
    return b"".join(parts)


# ---------------------------------------------------------------- monitoring

_METRICS = ("size", "item_count")


def _metrics(q: dict[str, str]) -> tuple[str, ...]:
    raw = q.get("metrics")
    if raw is None or raw == "":
        return _METRICS
    names = tuple(m.strip() for m in raw.split(","))
    for m in names:
        if m not in _METRICS:
            raise ValidationError(f"Metric '{m}' isn't allowed; known: {', '.join(_METRICS)}")
    return names


def _usage(app: Served, project: str, table: str, metrics: tuple[str, ...]) -> dict[str, int]:
    stats = app.storage.table_stats(project, table)
    return {m: stats[m] for m in metrics}


def monitoring_all(app: Served, req: Request) -> list[dict[str, Any]]:
    q = req.query  # MagnetoDB's monitoring read the parameters it knew and ignored the rest
    metrics = _metrics(q)
    limit = v.integer(q["limit"], "limit", 1) if "limit" in q else 1000
    lp, lt = q.get("last_evaluated_project"), q.get("last_evaluated_table")
    after = (v.project_id(lp), lt or "") if lp else None
    out = []
    for meta in _monitored_tables(app, req.tenant, after, limit):
        entry: dict[str, Any] = {"tenant": meta.project, "name": meta.name, "status": meta.status}
        try:
            entry["usage_detailes"] = _usage(app, meta.project, meta.name, metrics)
        except TableNotExistsException:  # deleted meanwhile
            continue
        out.append(entry)
    return out


def _monitored_tables(
    app: Served, tenant: str | None, after: tuple[str, str] | None, limit: int
) -> list[TableMeta]:
    """Every project's tables after ``after``; with auth on, the token's project's only."""
    if tenant is None:
        return app.storage.all_tables(after, limit)
    if after is not None and after[0] > tenant:
        return []
    start = after[1] if after is not None and after[0] == tenant and after[1] else None
    metas = []
    for name in app.storage.list_tables(tenant, limit, start):
        try:
            metas.append(app.storage.describe_table(tenant, name))
        except TableNotExistsException:  # deleted meanwhile
            continue
    return metas


def monitoring_project(app: Served, req: Request) -> list[dict[str, Any]]:
    project = _project(req)
    metrics = _metrics(req.query)
    out = []
    for name in app.storage.list_tables(project):
        try:
            usage = _usage(app, project, name, metrics)
        except (TableNotExistsException, ValidationError):  # deleted meanwhile / not ACTIVE
            continue
        out.append({"table_name": name, "usage_detailes": usage})
    return out


def monitoring_table(app: Served, req: Request) -> dict[str, int]:
    project, table = _project(req), _table(req)
    metrics = _metrics(req.query)
    return _usage(app, project, table, metrics)
