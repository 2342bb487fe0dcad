"""MagnetoDB error tree, shared by the server (raise) and the client (re-raise).

Class names are MagnetoDB's ``error.type`` strings, so the server can put
``type(exc).__name__`` in the error body and the client can map it back with
:func:`error_from_body`. The tree (httpx style):

* MagnetoError
    * ValidationError (400)
    * InvalidQueryParameter (400)
    * ResourceInUseException (400)
    * TableAlreadyExistsException (400)
    * ConditionalCheckFailedException (400)
    * Unauthorized (401)
    * Forbidden (403)
    * NotFound (404, unknown URL)
        * TableNotExistsException (404)
    * MethodNotAllowed (405)
    * RequestEntityTooLarge (413)
    * RequestHeaderFieldsTooLarge (431)
    * RequestQuotaExceeded (429)
    * InternalServerError (500)
        * BackendInteractionException (500)
    * ServiceUnavailable (503)
    * MagnetoTransportError (no status: the network failed, client side only)
"""

from __future__ import annotations

from typing import Any

#: HTTP reason phrase and webob's explanation per status, as MagnetoDB's fault wrapper writes them.
STATUS_TEXT: dict[int, tuple[str, str]] = {
    400: (
        "Bad Request",
        "The server could not comply with the request since it is either malformed "
        "or otherwise incorrect.",
    ),
    401: (
        "Unauthorized",
        "This server could not verify that you are authorized to access the document "
        "you requested. Either you supplied the wrong credentials (e.g., bad password), "
        "or your browser does not understand how to supply the credentials required.",
    ),
    403: ("Forbidden", "Access was denied to this resource."),
    404: ("Not Found", "The resource could not be found."),
    405: ("Method Not Allowed", "The method specified is not allowed for this resource."),
    413: ("Request Entity Too Large", "The body of your request was too large for this server."),
    431: (
        "Request Header Fields Too Large",
        "The server is unwilling to process the request because its header fields are too large.",
    ),
    429: ("Too Many Requests", "The client has sent too many requests in a given amount of time."),
    500: (
        "Internal Server Error",
        "The server has either erred or is incapable of performing the requested operation.",
    ),
    503: (
        "Service Unavailable",
        "The server is currently unavailable. Please try again at a later time.",
    ),
}


class MagnetoError(Exception):
    """Base of every MagnetoDB error; ``type`` is the wire ``error.type``."""

    status: int | None = 500
    default_message = "An Internal Error Occurred"

    def __init__(self, message: str | None = None, *, status: int | None = None) -> None:
        self.message = message if message is not None else self.default_message
        if status is not None:
            self.status = status
        self._type = type(self).__name__
        super().__init__(self.message)

    @property
    def type(self) -> str:
        return self._type

    def to_body(self, traceback: str | None = None) -> dict[str, Any]:
        """The error JSON of MagnetoDB's fault wrapper."""
        status = self.status or 500
        title, explanation = STATUS_TEXT.get(status, STATUS_TEXT[500])
        return {
            "code": status,
            "title": title,
            "explanation": explanation,
            "error": {"message": self.message, "type": self.type, "traceback": traceback},
        }


class ValidationError(MagnetoError):
    status = 400
    default_message = "Validation error"


class InvalidQueryParameter(MagnetoError):
    status = 400
    default_message = "Invalid query parameter"


class ResourceInUseException(MagnetoError):
    status = 400
    default_message = "Resource in use"


class TableAlreadyExistsException(MagnetoError):
    status = 400
    default_message = "Table already exists"


class ConditionalCheckFailedException(MagnetoError):
    status = 400
    default_message = "The conditional request failed"


class Unauthorized(MagnetoError):
    status = 401
    default_message = "The request you have made requires authentication."

    def to_body(self, traceback: str | None = None) -> dict[str, Any]:
        """MagnetoDB's shape plus keystonemiddleware's ``error.code``/``error.title``."""
        body = super().to_body(traceback)
        body["error"]["code"] = 401
        body["error"]["title"] = "Unauthorized"
        return body


class Forbidden(MagnetoError):
    status = 403
    default_message = "No access to project"


class NotFound(MagnetoError):
    status = 404
    default_message = "The resource could not be found."


class TableNotExistsException(NotFound):
    status = 404
    default_message = "Table does not exist"


class MethodNotAllowed(MagnetoError):
    status = 405
    default_message = "The method specified is not allowed for this resource."


class RequestEntityTooLarge(MagnetoError):
    status = 413
    default_message = "Request body is too large"


class RequestHeaderFieldsTooLarge(MagnetoError):
    status = 431
    default_message = "Request header fields are too large"


class RequestQuotaExceeded(MagnetoError):
    status = 429
    default_message = "Request quota exceeded"


class InternalServerError(MagnetoError):
    status = 500


class BackendInteractionException(InternalServerError):
    status = 500
    default_message = "Backend interaction error"


class ServiceUnavailable(MagnetoError):
    status = 503
    default_message = "Service unavailable"


class MagnetoTransportError(MagnetoError):
    """The request did not get an HTTP answer (refused, reset, timed out, bad framing)."""

    status = None
    default_message = "transport failure"
    #: Did the request reach the server? False when it certainly did not (no connection
    #: was made), None when nobody can tell (a reset or a timeout after it was sent: it
    #: may have been applied). A client that undoes its writes needs to know.
    sent: bool | None = None

    def __init__(self, message: str | None = None, *, sent: bool | None = None) -> None:
        super().__init__(message)
        if sent is not None:
            self.sent = sent


class MagnetoConnectError(MagnetoTransportError):
    """No connection to the server could be made: the request was never sent."""

    default_message = "cannot connect"
    sent = False


#: error.type -> class, for the client side
ERROR_TYPES: dict[str, type[MagnetoError]] = {
    cls.__name__: cls
    for cls in (
        ValidationError,
        InvalidQueryParameter,
        ResourceInUseException,
        TableAlreadyExistsException,
        ConditionalCheckFailedException,
        Unauthorized,
        Forbidden,
        NotFound,
        TableNotExistsException,
        MethodNotAllowed,
        RequestEntityTooLarge,
        RequestHeaderFieldsTooLarge,
        RequestQuotaExceeded,
        InternalServerError,
        BackendInteractionException,
        ServiceUnavailable,
    )
}

#: status -> class used when the body names no known type
_BY_STATUS: dict[int, type[MagnetoError]] = {
    400: ValidationError,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    413: RequestEntityTooLarge,
    431: RequestHeaderFieldsTooLarge,
    429: RequestQuotaExceeded,
    503: ServiceUnavailable,
}


def error_from_body(status: int, body: Any) -> MagnetoError:
    """Build the exception a MagnetoDB error response stands for (client side)."""
    etype, message = None, None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        etype = body["error"].get("type")
        message = body["error"].get("message")
    cls = ERROR_TYPES.get(etype) if isinstance(etype, str) else None
    if cls is None:
        cls = _BY_STATUS.get(status, InternalServerError)
    exc = cls(message if isinstance(message, str) else None, status=status)
    if isinstance(etype, str):
        exc._type = etype
    return exc
