"""What every DB API call's arguments must be before any backend reads or writes.

``cinderdb.base.Backend`` runs these checks for every contract function, so a
bad argument gets one answer on every backend, before the first request:

- text anywhere in the arguments (values, metadata, filters, names, keys)
  must be Unicode a UTF-8 column can hold: a lone surrogate is ``InvalidInput``
  (Liberty's driver raised a raw ``UnicodeEncodeError``, MagnetoDB's JSON a
  ``DBError``, after some writes);
- an id parameter must be text or None (an integer has been turned into text
  already): a float, a dict or a bool is ``InvalidInput``. An id that is None
  or longer than its column names no row, and each function answers as it does
  for a missing row (SQL finds nothing; the MagnetoDB design asks no request).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from collections.abc import Mapping
from typing import Any

from cinderdb import exception
from cinderdb.records import check_text

#: Values that hold no text: nothing to check inside them.
_OPAQUE = (int, float, bool, decimal.Decimal, dt.datetime, dt.date, enum.Enum, type(None))
#: The exact types of the common ones, for the per-call fast path.
_SCALARS = frozenset({int, float, bool, type(None), dt.datetime})


def check_texts(label: str, value: Any) -> None:
    """``InvalidInput`` if any string in ``value`` (nested dicts, lists, sets, tuples and
    their keys included) is not valid Unicode text. Runs on every call: ASCII text, the
    common case, costs one ``isascii`` per string."""
    kind = type(value)
    if kind is str:
        if not value.isascii():
            check_text(label, value)
    elif kind in _SCALARS or isinstance(value, _OPAQUE):
        return
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if type(key) is str:
                if not key.isascii():
                    check_text(label, key)
            else:
                check_texts(label, key)
            if type(item) is str:
                if not item.isascii():
                    check_text(f"{label}[{key!r}]", item)
            elif type(item) not in _SCALARS:
                check_texts(f"{label}[{key!r}]", item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            check_texts(label, item)
    elif isinstance(value, str):
        check_text(label, value)


def check_id(label: str, value: Any) -> None:
    """An id argument is text or None; anything else is ``InvalidInput``."""
    if value is not None and not isinstance(value, str):
        raise exception.InvalidInput(reason=f"{label} must be a string id, not {value!r}")
