"""The transport-agnostic application: ``App.handle(method, path, query, headers, body)``.

The HTTP server and the in-process client transport both call ``handle``, so
both go through the same routing, token check, validation and error mapping.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qsl

import orjson

from magnetodb.errors import Forbidden, Unauthorized, ValidationError
from magnetodb.server.errors import error_response
from magnetodb.server.routes import Router
from magnetodb.server.validation import json_document
from magnetodb.storage.tables import Storage

log = logging.getLogger("magnetodb.server")


class Request:
    """A parsed request; the JSON body and the query string are parsed on first use."""

    __slots__ = (
        "_json",
        "_pairs",
        "_query",
        "body",
        "headers",
        "method",
        "params",
        "path",
        "query_string",
        "tenant",
    )

    def __init__(
        self,
        method: str,
        path: str,
        query_string: str,
        headers: dict[str, str],
        body: bytes,
        params: dict[str, str],
    ) -> None:
        self.method = method
        self.path = path
        self.query_string = query_string
        self.headers = headers
        self.body = body
        self.params = params
        #: the project the request's token belongs to (None: auth is off)
        self.tenant: str | None = None
        self._json: Any = None
        self._pairs: list[tuple[str, str]] | None = None
        self._query: dict[str, str] | None = None

    def json(self) -> Any:
        if self._json is None:
            if not self.body:
                raise ValidationError("Request body is empty; a JSON object is expected")
            self._json = json_document(self.body, "request body")
        return self._json

    def query_pairs(self) -> list[tuple[str, str]]:
        """The query string's (name, value) pairs in order, repeats and blanks kept (a copy)."""
        if self._pairs is None:
            try:
                self._pairs = parse_qsl(
                    self.query_string, keep_blank_values=True, max_num_fields=100
                )
            except ValueError as exc:
                raise ValidationError(f"Bad query string: {exc}") from exc
        return list(self._pairs)

    @property
    def query(self) -> dict[str, str]:
        """The query string as a dict; a name given twice is refused."""
        if self._query is None:
            out: dict[str, str] = {}
            for k, v in self.query_pairs():
                if k in out:
                    raise ValidationError(f"Query parameter '{k}' is given more than once")
                out[k] = v
            self._query = out
        return self._query

    @property
    def base_url(self) -> str:
        return "http://" + (self.headers.get("host") or "localhost")


class App:
    """Routes a request to its handler; every failure becomes a MagnetoDB error response."""

    def __init__(
        self,
        storage: Storage,
        tokens: dict[str, str] | None = None,
        *,
        show_trace: bool = False,
    ) -> None:
        self.storage = storage
        self.tokens = tokens
        self.show_trace = show_trace
        self.router = Router()

    def handle(
        self,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
    ) -> tuple[int, bytes]:
        """Serve one request: (status, JSON body). ``headers`` keys are lower-case."""
        try:
            handler, needs_auth, params = self.router.match(method, path)
            req = Request(method, path, query, headers, body, params)
            if needs_auth and self.tokens is not None:
                self._authorize(req)
            result = handler(self, req)
            if type(result) is bytes:
                return 200, result
            if type(result) is tuple:  # (status, body): an answer that is neither 200 nor an error
                return result
            return 200, orjson.dumps(result)
        except Exception as exc:
            return error_response(exc, self.show_trace)

    def _authorize(self, req: Request) -> None:
        """X-Auth-Token must be configured, and its project must be the URL's, exactly.

        MagnetoDB removed dashes from the token's project before comparing (Keystone's ids
        have none); here ids are whatever the token file says, so a token for ``a-b`` is
        ``a-b``'s only, never ``ab``'s.
        """
        token = req.headers.get("x-auth-token")
        if not token:
            raise Unauthorized("The request you have made requires authentication.")
        tenant = self.tokens.get(token)  # type: ignore[union-attr]
        if tenant is None:
            raise Unauthorized("The request you have made requires authentication.")
        project = req.params.get("project_id")
        if project is not None and tenant != project:
            raise Forbidden("No access to project")
        req.tenant = tenant


def load_tokens(path: str | None) -> dict[str, str] | None:
    """A token file: JSON object ``{"token": "project_id", ...}``."""
    if not path:
        return None
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ValueError("expected a JSON object of token -> project id")
    return data
