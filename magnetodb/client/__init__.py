"""MagnetoDB client: ``connect(url, project)`` (HTTP) and ``connect_inproc(project)``."""

from __future__ import annotations

from magnetodb.client.api import MagnetoClient, connect, connect_inproc
from magnetodb.client.hooks import RequestStats, StatsCollector
from magnetodb.client.transports import (
    HTTPTransport,
    InProcessTransport,
    ServersTransport,
    Transport,
)

__all__ = [
    "HTTPTransport",
    "InProcessTransport",
    "MagnetoClient",
    "RequestStats",
    "ServersTransport",
    "StatsCollector",
    "Transport",
    "connect",
    "connect_inproc",
]
