"""The URL map: one table of (method, template, handler, needs_auth), as MagnetoDB v1 has it.

A path that matches a template but not its method is a 405; no match is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from magnetodb.errors import MethodNotAllowed, NotFound
from magnetodb.server import handlers as h

DATA = "/v1/data/{project_id}"
MONITORING = "/v1/monitoring/projects"
#: Matched paths remembered (then forgotten all at once: fuzzed paths must not grow it)
MATCH_CACHE_SIZE = 4096

#: (method, template, handler, token check applies)
ROUTES: list[tuple[str, str, Callable[..., Any], bool]] = [
    ("GET", "/healthcheck", h.healthcheck, False),
    ("POST", DATA + "/tables", h.create_table, True),
    ("GET", DATA + "/tables", h.list_tables, True),
    ("GET", DATA + "/tables/{table_name}", h.describe_table, True),
    ("DELETE", DATA + "/tables/{table_name}", h.delete_table, True),
    ("POST", DATA + "/tables/{table_name}/put_item", h.put_item, True),
    ("POST", DATA + "/tables/{table_name}/get_item", h.get_item, True),
    ("POST", DATA + "/tables/{table_name}/update_item", h.update_item, True),
    ("POST", DATA + "/tables/{table_name}/delete_item", h.delete_item, True),
    ("POST", DATA + "/tables/{table_name}/query", h.query, True),
    ("POST", DATA + "/tables/{table_name}/scan", h.scan, True),
    ("POST", DATA + "/batch_write_item", h.batch_write_item, True),
    ("POST", DATA + "/batch_get_item", h.batch_get_item, True),
    # MagnetoDB served it on a port of its own (8481, magnetodb-streaming-api-server)
    ("POST", DATA + "/tables/{table_name}/bulk_load", h.bulk_load, True),
    # MagnetoDB's monitoring pipeline had no token check; here it has the data API's, since
    # usage figures name every project's tables (magnetodb/README.md, departures)
    ("GET", MONITORING, h.monitoring_all, True),
    ("GET", MONITORING + "/{project_id}", h.monitoring_project, True),
    ("GET", MONITORING + "/{project_id}/tables/{table_name}", h.monitoring_table, True),
]


@dataclass
class Route:
    template: str
    segments: tuple[str, ...]
    literals: tuple[tuple[int, str], ...]
    params: tuple[tuple[int, str], ...]
    methods: dict[str, tuple[Callable[..., Any], bool]] = field(default_factory=dict)


class Router:
    def __init__(self, routes: list[tuple[str, str, Callable[..., Any], bool]] = ROUTES) -> None:
        by_template: dict[str, Route] = {}
        for method, template, handler, auth in routes:
            route = by_template.get(template)
            if route is None:
                segs = tuple(template.strip("/").split("/"))
                route = Route(
                    template,
                    segs,
                    tuple((i, s) for i, s in enumerate(segs) if not s.startswith("{")),
                    tuple((i, s[1:-1]) for i, s in enumerate(segs) if s.startswith("{")),
                )
                by_template[template] = route
            route.methods[method] = (handler, auth)
        self._by_len: dict[int, list[Route]] = {}
        for route in by_template.values():
            self._by_len.setdefault(len(route.segments), []).append(route)
        #: (method, path) -> match: a client repeats a few paths (its tables' operations)
        self._matched: dict[tuple[str, str], tuple[Callable[..., Any], bool, dict[str, str]]] = {}

    def match(self, method: str, path: str) -> tuple[Callable[..., Any], bool, dict[str, str]]:
        """(handler, needs_auth, path params); raises NotFound or MethodNotAllowed.

        The params dict is shared by every request of the same path: read, never change it.
        """
        key = (method, path)
        found = self._matched.get(key)
        if found is None:
            found = self._match(method, path)
            if len(self._matched) >= MATCH_CACHE_SIZE:
                self._matched.clear()
            self._matched[key] = found
        return found

    def _match(self, method: str, path: str) -> tuple[Callable[..., Any], bool, dict[str, str]]:
        segs = path[1:].split("/") if path.startswith("/") else path.split("/")
        for route in self._by_len.get(len(segs), ()):
            if all(segs[i] == lit for i, lit in route.literals):
                entry = route.methods.get(method)
                if entry is None:
                    raise MethodNotAllowed(
                        f"The method {method} is not allowed for this resource. "
                        f"Allowed: {', '.join(sorted(route.methods))}"
                    )
                params = {
                    name: (unquote(segs[i]) if "%" in segs[i] else segs[i])
                    for i, name in route.params
                }
                return entry[0], entry[1], params
        raise NotFound(f"The resource could not be found: {path[:200]}")
