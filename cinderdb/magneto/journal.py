"""A DB API call's write journal: how to take back each write, run newest first on failure.

MagnetoDB has no transaction, and the design writes one fact in several items
(index entries, inverted ids, the base item...). A call that raises must leave
no trace, so every write the call sends registers its compensation here (the
request helpers of ``MagnetoCore`` do it; area code never calls the journal
itself), and when the call raises, ``rollback`` runs the compensations in
reverse order. Two rules make that safe:

- *Order.* Undoing the newest write first walks the store back through the
  states the call passed through, and the design orders its writes so that
  each of those states holds only extra second copies (docs/magnetodb-design.md).
  So a rollback that stops half way (a compensation fails: the process, the
  network or the server is gone) leaves a state a crash at that point would
  have left: one the validators name and the repair path clears. It stops at
  the first compensation that fails rather than skip ahead and leave a state
  no forward order produces.
- *Conditions.* A compensation never undoes another caller's write: each one
  is conditional on the item still holding what this call wrote (or guarded
  by a read of the base item that decides a second copy). A failed condition
  means someone wrote since: the compensation is skipped and the newer write
  kept.

When the journal learns of a write: a compensation that needs nothing from the
answer (a create's delete, a read-modify-write's restore, a guarded removal of
a second copy) is registered *before* the request is sent and dropped only if
the server certainly refused the request; so a request whose outcome is unknown
(a timeout after the server applied it) is compensated too. One that needs the
old item (``ALL_OLD``) is registered when the answer arrives; if that answer is
lost, the write may stand, and the guarded compensations of the second copies
written before it keep exactly what the base item calls for.
"""

from __future__ import annotations

import contextvars
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from magnetodb.errors import (
    ConditionalCheckFailedException,
    MagnetoError,
    MagnetoTransportError,
)

LOG = logging.getLogger(__name__)

#: Outcomes of one compensation.
UNDONE = "undone"
SKIPPED = "skipped"  # a newer write of someone else stands: kept


@dataclass
class Undo:
    """One compensation: ``run()`` returns UNDONE or SKIPPED, or raises when it cannot run.
    ``what`` says what it does (a callable is asked only when a rollback reports)."""

    what: str | Callable[[], str]
    run: Callable[[], str]

    def describe(self) -> str:
        return self.what if isinstance(self.what, str) else self.what()


class RollbackFailed(Exception):
    """A compensation could not run (the rollback stopped there)."""


class Journal:
    """The compensations of one outermost DB API call on one backend."""

    def __init__(self, owner: Any) -> None:
        self.owner = owner
        self._undos: list[Undo | None] = []
        #: compensations write too: nothing they send is journaled
        self._rolling_back = False
        #: a write whose outcome is unknown and whose compensation needs its answer
        self.unknown: str | None = None

    def __len__(self) -> int:
        return sum(undo is not None for undo in self._undos)

    def add(self, undo: Undo | None) -> int:
        """Register a compensation; the returned token lets ``discard`` drop it."""
        if self._rolling_back:
            return -1
        self._undos.append(undo)
        return len(self._undos) - 1

    def discard(self, token: int) -> None:
        """The write registered under ``token`` certainly did not happen."""
        if token >= 0:
            self._undos[token] = None

    def mark(self) -> int:
        """A savepoint: ``rollback(to=mark)`` undoes only what was written after it."""
        return len(self._undos)

    def outcome_unknown(self, what: str) -> None:
        """A write may or may not have been applied, and nothing can undo it without its
        answer: the rollback must not run (undoing the writes before it could leave a state
        no crash leaves; left as it is, the store is as a crash just before or just after
        that write leaves it)."""
        self.unknown = self.unknown or what

    def keep(self) -> None:
        """Everything written so far stands even if the call raises (Liberty commits some
        writes before raising: quota_reserve's refreshed usages before OverQuota)."""
        self._undos.clear()

    def rollback(self, to: int = 0) -> list[str]:
        """Run the compensations registered after ``to``, newest first; returns what each
        did. Raises ``RollbackFailed`` at the first that cannot run (the rest stay
        registered: a later rollback does not retry them)."""
        if self.unknown is not None:
            raise RollbackFailed(f"the outcome of {self.unknown} is unknown")
        done = []
        self._rolling_back = True
        try:
            while len(self._undos) > to:
                undo = self._undos.pop()
                if undo is None:
                    continue
                try:
                    outcome = undo.run()
                except ConditionalCheckFailedException:
                    outcome = SKIPPED
                except Exception as error:
                    del self._undos[to:]
                    raise RollbackFailed(f"{undo.what}: {type(error).__name__}: {error}") from error
                done.append(f"{outcome}: {undo.what}")
        finally:
            self._rolling_back = False
        return done


_JOURNAL: contextvars.ContextVar[Journal | None] = contextvars.ContextVar(
    "cinderdb_magneto_journal", default=None
)


def current(owner: Any) -> Journal | None:
    """The journal of the call ``owner`` is running in this thread (or task), if any."""
    journal = _JOURNAL.get()
    return journal if journal is not None and journal.owner is owner else None


def ambiguous(error: BaseException) -> bool:
    """Whether a failed request may still have been applied: the server failed (5xx), or
    the transport failed after the request may have left. A 4xx is a refusal, and a
    request the transport never sent (``sent`` False) was not applied either."""
    if isinstance(error, MagnetoTransportError):
        return error.sent is not False
    if not isinstance(error, MagnetoError):
        return True
    return error.status is None or error.status >= 500


def atomic(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` (a DB API function) with a journal: if it raises, its writes are undone."""

    @functools.wraps(method)
    def journaled(self: Any, *args: Any, **kwargs: Any) -> Any:
        if current(self) is not None:  # an API function called by another: one journal
            return method(self, *args, **kwargs)
        journal = Journal(self)
        token = _JOURNAL.set(journal)
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            if len(journal):
                _roll_back(name, journal)
            raise
        finally:
            _JOURNAL.reset(token)

    journaled.__magneto_atomic__ = True  # type: ignore[attr-defined]
    return journaled


def _roll_back(name: str, journal: Journal) -> None:
    try:
        done = journal.rollback()
    except RollbackFailed as error:
        LOG.info("%s raised and its rollback stopped: %s", name, error)
        return
    LOG.debug("%s raised; rolled back: %s", name, "; ".join(done))
