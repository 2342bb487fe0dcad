"""Cinder's DB API (Liberty), defined once and implemented on two storage designs.

``open_backend(url)`` picks the implementation by URL scheme, importing its
driver only then (SQLAlchemy's dialect registry in miniature)::

    sqlite:///PATH  sqlite://                 SQL backend on SQLite (file, memory)
    mysql+pymysql://USER@HOST:PORT/DB         SQL backend on MySQL/MariaDB
    mysql+pymysql://USER@H1:P1,H2:P2/DB       SQL backend on a Galera cluster (cinderdb.sql.galera)
    magnetodb://HOST:PORT/PROJECT             MagnetoDB design over HTTP
    magnetodb+inproc:///PROJECT[?data_dir=D]  MagnetoDB design, server in-process
"""

from __future__ import annotations

import importlib
from contextlib import AbstractContextManager
from typing import Any

from cinderdb import exception
from cinderdb.api import FUNCTIONS, METADATA_TYPES, CinderDB
from cinderdb.base import Backend, Features
from cinderdb.context import RequestContext, get_admin_context

__all__ = [
    "BACKENDS",
    "EMBEDDED_URLS",
    "FUNCTIONS",
    "METADATA_TYPES",
    "Backend",
    "CinderDB",
    "Features",
    "RequestContext",
    "backend_class",
    "embedded_store",
    "exception",
    "features_of",
    "get_admin_context",
    "open_backend",
    "side_of",
]

#: URL scheme -> "module:Class" of the backend that serves it.
BACKENDS: dict[str, str] = {
    "sqlite": "cinderdb.sql.backend:SQLBackend",
    "mysql+pymysql": "cinderdb.sql.backend:SQLBackend",
    "magnetodb": "cinderdb.magneto.backend:MagnetoBackend",
    "magnetodb+inproc": "cinderdb.magneto.backend:MagnetoBackend",
}


#: Per side, an embedded store of it in memory: what a replay runs on unless told otherwise.
#: Its keys are the sides, in the order a comparison puts them (SQL, the baseline, first).
EMBEDDED_URLS: dict[str, str] = {"sql": "sqlite://", "magnetodb": "magnetodb+inproc:///replay"}


def scheme_of(url: str) -> str:
    """The scheme of a backend URL (``mysql+pymysql`` for ``mysql+pymysql://...``)."""
    if "://" not in url:
        known = ", ".join(sorted(BACKENDS))
        raise ValueError(
            f"not a backend URL: {url!r} (expected SCHEME://...; known schemes: {known})"
        )
    return url.split("://", 1)[0].lower()


def backend_class(url: str) -> type[Backend]:
    """The class serving ``url`` (imported, not connected); an unknown scheme lists the known."""
    scheme = scheme_of(url)
    try:
        target = BACKENDS[scheme]
    except KeyError:
        known = ", ".join(sorted(BACKENDS))
        raise ValueError(f"unknown backend scheme {scheme!r}; known schemes: {known}") from None
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)


def features_of(url: str) -> Features:
    """What a backend at ``url`` can do, without connecting to it."""
    return backend_class(url).features_for(url)


def side_of(url: str) -> str:
    """The design a URL's backend implements: ``sql`` or ``magnetodb``."""
    return backend_class(url).side


def embedded_store(
    side: str, directory: str, *, durable: bool = False
) -> AbstractContextManager[str]:
    """The URL of a store of ``side``'s own under ``directory`` while the block runs (the
    default a command starts when given no URL for that side; ``Backend.embedded_store``)."""
    return backend_class(EMBEDDED_URLS[side]).embedded_store(directory, durable=durable)


def open_backend(url: str, **options: Any) -> Backend:
    """The backend for ``url``; an unknown scheme lists the known ones."""
    return backend_class(url)(url, **options)
