"""One map from exception class to (status, MagnetoDB error JSON); looked up along the MRO.

Handlers and storage raise; only this module knows how an error looks on the
wire. Anything unmapped is a 500 with MagnetoDB's "An Internal Error Occurred"
and the traceback goes to the log, never to the client (unless show_trace).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

import orjson

from magnetodb.errors import (
    BackendInteractionException,
    InternalServerError,
    MagnetoError,
    RequestEntityTooLarge,
)
from magnetodb.storage.base import EngineError, EngineLimitError

log = logging.getLogger("magnetodb.server")


def _magneto(exc: BaseException) -> MagnetoError:
    return exc  # type: ignore[return-value]


def _engine(exc: BaseException) -> MagnetoError:
    log.error("storage failure: %s", exc)
    return BackendInteractionException(f"Storage failure: {exc}")


def _engine_limit(exc: BaseException) -> MagnetoError:
    return RequestEntityTooLarge(str(exc))


def _internal(exc: BaseException) -> MagnetoError:
    log.error("unhandled error\n%s", "".join(traceback.format_exception(exc)))
    err = InternalServerError("An Internal Error Occurred")
    err._type = type(exc).__name__
    return err


#: exception class -> converter to the MagnetoError whose body is sent
ERROR_MAP: dict[type[BaseException], Callable[[BaseException], MagnetoError]] = {
    MagnetoError: _magneto,
    EngineError: _engine,
    EngineLimitError: _engine_limit,
    Exception: _internal,
}


def error_response(exc: BaseException, show_trace: bool = False) -> tuple[int, bytes]:
    """(status, body) for an exception raised while handling a request."""
    for cls in type(exc).__mro__:
        conv = ERROR_MAP.get(cls)
        if conv is not None:
            break
    else:  # BaseException subclasses that are not Exception
        conv = _internal
    err = conv(exc)
    tb = "".join(traceback.format_exception(exc)) if show_trace else None
    return err.status or 500, orjson.dumps(err.to_body(tb))
