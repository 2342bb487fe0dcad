"""How a call or an operation ended: ok, rejected (a Cinder outcome), or error (a fault).

Cinder's API answers most exceptions with a 4xx: ``VolumeNotFound``,
``OverQuota``, an ``InvalidVolume`` raised by the API's own checks. Those are
*rejections*, part of the behaviour under test. ``DBError`` (a storage failure)
and anything that is not a Cinder exception are *errors*. Results key both by
exception class name.
"""

from __future__ import annotations

from cinderdb import exception

OK, REJECTED, ERROR = "ok", "rejected", "error"


class ApiError(Exception):
    """A refusal of Cinder's API layer that has no DB-API exception class.

    Subclasses carry Cinder's names (``InvalidSnapshot``, ``VolumeAttached``...),
    so results key these refusals exactly as Cinder names them.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def classify(error: BaseException | None) -> tuple[str, str | None]:
    """``(outcome, exception class name or None)``."""
    if error is None:
        return OK, None
    name = type(error).__name__
    if isinstance(error, ApiError):
        return REJECTED, name
    if isinstance(error, exception.CinderException) and not isinstance(error, exception.DBError):
        return REJECTED, name
    return ERROR, name


def error_name(name: str | None) -> bool:
    """Whether a logged exception class name is an *error* outcome (``classify``): a
    ``DBError`` or anything that is not a Cinder exception; a Cinder refusal is not."""
    known = getattr(exception, name or "", None)
    if isinstance(known, type) and issubclass(known, exception.CinderException):
        return issubclass(known, exception.DBError)
    return True


#: Storage failures after which the store certainly holds nothing of the call: it refused
#: the transaction as a whole (a certification or deadlock victim, a duplicate key, a
#: missing parent row). Every other storage failure leaves the outcome unknown.
DEFINITE_FAILURES = frozenset({"DBDeadlock", "DBDuplicateEntry", "DBReferenceError"})


def outcome_unknown(outcome: dict | None) -> bool:
    """Whether a logged call's ``outcome`` (``{"ok": ..., "error": NAME}``) leaves its
    effect unknown: an error that is not a Cinder refusal (``DBError`` and its subclasses
    but ``DEFINITE_FAILURES``, a lost connection or answer, any other exception). A call
    that succeeded was acknowledged; one Cinder refused left no trace."""
    if not outcome or outcome.get("ok", True):
        return False
    name = outcome.get("error") or ""
    return name not in DEFINITE_FAILURES and error_name(name)
