"""Cinder's DB API (Liberty), defined once and implemented on two storage designs.

``open_backend(url)`` picks the implementation by URL scheme, importing its
driver only then (SQLAlchemy's dialect registry in miniature)::

    sqlite:///PATH  sqlite://                 SQL backend on SQLite (file, memory)
    mysql+pymysql://USER@HOST:PORT/DB         SQL backend on MySQL/MariaDB
    magnetodb://HOST:PORT/PROJECT             MagnetoDB design over HTTP
    magnetodb+inproc:///PROJECT[?data_dir=D]  MagnetoDB design, server in-process
"""

from __future__ import annotations

import importlib
from typing import Any

from cinderdb import exception
from cinderdb.api import FUNCTIONS, METADATA_TYPES, CinderDB
from cinderdb.base import Backend
from cinderdb.context import RequestContext, get_admin_context

__all__ = [
    "BACKENDS",
    "FUNCTIONS",
    "METADATA_TYPES",
    "Backend",
    "CinderDB",
    "RequestContext",
    "exception",
    "get_admin_context",
    "open_backend",
]

#: URL scheme -> "module:Class" of the backend that serves it.
BACKENDS: dict[str, str] = {
    "sqlite": "cinderdb.sql.backend:SQLBackend",
    "mysql+pymysql": "cinderdb.sql.backend:SQLBackend",
    "magnetodb": "cinderdb.magneto.backend:MagnetoBackend",
    "magnetodb+inproc": "cinderdb.magneto.backend:MagnetoBackend",
}


def scheme_of(url: str) -> str:
    """The scheme of a backend URL (``mysql+pymysql`` for ``mysql+pymysql://...``)."""
    if "://" not in url:
        raise ValueError(f"not a backend URL: {url!r} (expected SCHEME://...)")
    return url.split("://", 1)[0].lower()


def open_backend(url: str, **options: Any) -> Backend:
    """The backend for ``url``; an unknown scheme lists the known ones."""
    scheme = scheme_of(url)
    try:
        target = BACKENDS[scheme]
    except KeyError:
        known = ", ".join(sorted(BACKENDS))
        raise ValueError(f"unknown backend scheme {scheme!r}; known schemes: {known}") from None
    module_name, class_name = target.split(":")
    backend_class = getattr(importlib.import_module(module_name), class_name)
    return backend_class(url, **options)
