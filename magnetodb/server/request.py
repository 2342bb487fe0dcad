"""A parsed request, as handlers see it: method, path, its parameters, headers and body.

Built by ``App.handle`` for each request; the JSON body and the query string are
parsed on first use (``validation.json_document``: a body nested deeper than
``JSON_DEPTH_LIMIT`` is refused).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from magnetodb.errors import ValidationError
from magnetodb.server.validation import json_document


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
